"""The Stripe provider (the official SDK, our adapter) against the local Stripe fake:
authorize, capture, cancel, refund, a decline, a card needing 3-D Secure, an outage then a
retry, and idempotency keys that make every step happen once however often it is asked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from chalicelib.adapters.payment_provider import (
    ACTION_REQUIRED,
    APPROVED,
    CAPTURED,
    DECLINED,
    NOTHING,
    REFUNDED,
    VOIDED,
    ProviderError,
)
from chalicelib.adapters.stripe_provider import StripeProvider
from tests.stripe_fake import DECLINED as DECLINED_CARD
from tests.stripe_fake import NEEDS_AUTHENTICATION, SECRET_KEY, VISA, FakeStripe, StripeServer


@pytest.fixture(scope="module")
def server() -> Iterator[StripeServer]:
    with StripeServer() as running:
        yield running


@pytest.fixture
def fake(server: StripeServer) -> FakeStripe:
    server.fake.outage = False
    return server.fake


def provider_for(server: StripeServer, key: str = SECRET_KEY) -> StripeProvider:
    return StripeProvider(lambda: key, api_base=server.url)


def order_id() -> str:
    return f"ord_{uuid.uuid4().hex[:24]}"


def test_authorize_then_capture_takes_the_money_once(server, fake):
    stripe = provider_for(server)
    oid = order_id()
    auth = stripe.authorize(oid, 1250, "USD", VISA)
    assert (auth.status, auth.amount_cents) == (APPROVED, 1250)
    [intent] = fake.by_order(oid)
    assert auth.authorization_id == intent["id"]
    assert (intent["status"], intent["capture_method"], intent["currency"]) == ("requires_capture", "manual", "usd")
    captured = stripe.capture(oid, 1250, "USD", auth.authorization_id)
    assert (captured.status, captured.amount_cents) == (CAPTURED, 1250)
    assert fake.captured()[oid] == 1250


def test_void_cancels_the_authorization_and_a_later_capture_takes_nothing(server, fake):
    stripe = provider_for(server)
    oid = order_id()
    auth = stripe.authorize(oid, 900, "USD", VISA)
    assert stripe.void(oid, auth.authorization_id).status == VOIDED
    assert stripe.void(oid, auth.authorization_id).status == VOIDED
    assert fake.by_order(oid)[0]["status"] == "canceled"
    assert stripe.capture(oid, 900, "USD", auth.authorization_id).status == VOIDED
    assert oid not in fake.captured()


def test_refund_gives_back_a_capture_and_voids_a_bare_authorization(server, fake):
    stripe = provider_for(server)
    paid, held = order_id(), order_id()
    paid_auth = stripe.authorize(paid, 2000, "USD", VISA)
    stripe.capture(paid, 2000, "USD", paid_auth.authorization_id)
    held_auth = stripe.authorize(held, 700, "USD", VISA)
    for _ in range(2):  # a redelivered refund refunds once
        refunded = stripe.refund(paid, 2000, "USD", paid_auth.authorization_id)
        assert (refunded.status, refunded.amount_cents) == (REFUNDED, 2000)
    assert [r["amount"] for r in fake.refunds.values() if r["payment_intent"] == paid_auth.authorization_id] == [2000]
    assert stripe.refund(held, 700, "USD", held_auth.authorization_id).status == VOIDED
    assert fake.by_order(held)[0]["status"] == "canceled"
    assert stripe.refund(order_id(), 700, "USD", None).status == NOTHING


def test_a_declined_card_is_declined_and_asking_again_replays_the_decline(server, fake):
    stripe = provider_for(server)
    oid = order_id()
    first = stripe.authorize(oid, 1500, "USD", DECLINED_CARD)
    again = stripe.authorize(oid, 1500, "USD", DECLINED_CARD)
    assert first.status == again.status == DECLINED
    assert len(fake.by_order(oid)) == 1
    assert first.authorization_id == fake.by_order(oid)[0]["id"]
    assert stripe.authorize(order_id(), 1500, "USD", "pm_not_a_card").status == DECLINED


def test_a_card_needing_3d_secure_waits_for_its_holder_then_authorizes(server, fake):
    stripe = provider_for(server)
    oid = order_id()
    auth = stripe.authorize(oid, 1100, "USD", NEEDS_AUTHENTICATION)
    assert auth.status == ACTION_REQUIRED
    [intent] = fake.by_order(oid)
    assert (intent["id"], intent["status"]) == (auth.authorization_id, "requires_action")
    assert auth.client_secret == intent["client_secret"]
    assert stripe.authorize(oid, 1100, "USD", NEEDS_AUTHENTICATION, auth.authorization_id).status == ACTION_REQUIRED
    fake.authenticate(intent["id"])
    again = stripe.authorize(oid, 1100, "USD", NEEDS_AUTHENTICATION, auth.authorization_id)
    assert (again.status, again.authorization_id) == (APPROVED, intent["id"])
    assert stripe.capture(oid, 1100, "USD", again.authorization_id).status == CAPTURED
    assert len(fake.by_order(oid)) == 1


def test_a_card_failing_3d_secure_is_declined_and_an_abandoned_one_voided(server, fake):
    stripe = provider_for(server)
    failed, abandoned = order_id(), order_id()
    first = stripe.authorize(failed, 1100, "USD", NEEDS_AUTHENTICATION)
    fake.authenticate(first.authorization_id, passed=False)
    assert stripe.authorize(failed, 1100, "USD", NEEDS_AUTHENTICATION, first.authorization_id).status == DECLINED
    waiting = stripe.authorize(abandoned, 1100, "USD", NEEDS_AUTHENTICATION)
    assert stripe.void(abandoned, waiting.authorization_id).status == VOIDED
    assert fake.by_order(abandoned)[0]["status"] == "canceled"


def test_an_outage_is_a_provider_error_and_the_retry_charges_once(server, fake):
    stripe = provider_for(server)
    oid = order_id()
    fake.outage = True
    with pytest.raises(ProviderError, match="APIError"):
        stripe.authorize(oid, 800, "USD", VISA)
    assert fake.by_order(oid) == []
    fake.outage = False
    auth = stripe.authorize(oid, 800, "USD", VISA)
    fake.outage = True
    with pytest.raises(ProviderError):
        stripe.capture(oid, 800, "USD", auth.authorization_id)
    fake.outage = False
    assert stripe.capture(oid, 800, "USD", auth.authorization_id).status == CAPTURED
    assert len(fake.by_order(oid)) == 1 and fake.captured()[oid] == 800


def test_the_same_steps_three_times_make_one_payment_intent_and_one_capture(server, fake):
    stripe = provider_for(server)
    oid = order_id()
    results = [stripe.authorize(oid, 1250, "USD", VISA) for _ in range(3)]
    assert len({r.authorization_id for r in results}) == 1
    for _ in range(3):
        assert stripe.capture(oid, 1250, "USD", results[0].authorization_id).status == CAPTURED
    [intent] = fake.by_order(oid)
    keys = [key for method, path, key, replay in fake.requests if intent["id"] in path or key == f"{oid}:authorize"]
    assert set(keys) == {f"{oid}:authorize", f"{oid}:capture"}
    executed = [
        (path, key) for method, path, key, replay in fake.requests if key and key.startswith(oid) and not replay
    ]
    assert executed == [
        ("/v1/payment_intents", f"{oid}:authorize"),
        (f"/v1/payment_intents/{intent['id']}/capture", f"{oid}:capture"),
    ]


def test_a_key_reused_with_other_parameters_is_refused_not_charged(server, fake):
    stripe = provider_for(server)
    oid = order_id()
    stripe.authorize(oid, 1000, "USD", VISA)
    with pytest.raises(ProviderError, match="IdempotencyError"):
        stripe.authorize(oid, 1200, "USD", VISA)
    assert [pi["amount"] for pi in fake.by_order(oid)] == [1000]


def test_a_wrong_secret_key_is_a_provider_error(server, fake):
    with pytest.raises(ProviderError, match="AuthenticationError"):
        provider_for(server, "sk_test_wrong").authorize(order_id(), 1000, "USD", VISA)


def test_a_free_order_charges_nothing_and_never_reaches_stripe(server, fake):
    from chalicelib.services.payments import PaymentsService

    payments = PaymentsService(provider_for(server))
    oid = order_id()
    authorized = payments.handle({"op": "authorize", "order_id": oid, "amount_cents": 0, "payment_token": VISA})
    assert authorized["status"] == APPROVED
    for op in ("capture", "void", "refund"):
        assert payments.handle({"op": op, "order_id": oid, "amount_cents": 0})["status"] == NOTHING
    assert fake.by_order(oid) == []
