"""The order processor paying through Stripe (the real adapter, the local Stripe fake) on the
emulator: one PaymentIntent and one capture however often a message comes; a decline and a
card needing 3-D Secure fail the order with nothing held; an outage backs off through the
message's visibility and recovers by itself, or, past the bound, fails every order
payment_unavailable with a notification and nothing charged; the sweeper leaves
dead-lettered orders to the redrive."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain import orders as domain
from chalicelib.domain.clock import now, rfc3339
from chalicelib.domain.payments import PaymentRetry
from tests.ordering import ADDRESS, hook, new_customer, order_item, seed_product, seed_restaurant, table, throttle
from tests.stripe_fake import (
    DECLINED,
    NEEDS_AUTHENTICATION,
    SECRET_KEY,
    VISA,
    WEBHOOK_SECRET,
    FakeStripe,
    StripeServer,
    signed,
)


@pytest.fixture(scope="module")
def pipeline(stack):
    from devtools.pipeline import Pipeline

    pipe = Pipeline(stack["env"], stream_start="LATEST", sweep_every=0)
    pipe.prepare()
    return pipe


@pytest.fixture(scope="module")
def server() -> Iterator[StripeServer]:
    with StripeServer() as running:
        yield running


@pytest.fixture
def stripe(server, pipeline) -> Iterator[FakeStripe]:
    """The payment function pays through Stripe (the fake) for the test."""
    from chalicelib.adapters.stripe_provider import StripeProvider
    from chalicelib.bootstrap import container

    pipeline.drain()
    payments = container().payments
    fake_provider = payments.provider
    payments.provider = StripeProvider(lambda: SECRET_KEY, api_base=server.url)
    server.fake.outage, server.fake.failing_requests = False, 0
    try:
        yield server.fake
    finally:
        payments.provider = fake_provider
        server.fake.outage, server.fake.failing_requests = False, 0


@pytest.fixture
def processor(monkeypatch):
    from chalicelib.bootstrap import container

    return container().order_processor


def place(restaurant_id: str, dish: str, token: str = VISA) -> tuple[str, str]:
    from chalicelib.bootstrap import container

    cmd = domain.PlaceOrder.model_validate(
        {
            "restaurant_id": restaurant_id,
            "items": [{"product_id": dish, "quantity": 1}],
            "delivery_address": ADDRESS,
            "payment_token": token,
        }
    )
    who = new_customer()
    return container().orders.place(who, f"key-{uuid.uuid4().hex}", cmd).order.order_id, who.user_id


def delays_requested() -> tuple[list[int], Any]:
    seen: list[int] = []
    undo = hook(
        "sqs",
        "before-parameter-build.sqs.ChangeMessageVisibility",
        lambda params, **_: seen.append(int(params["VisibilityTimeout"])),
    )
    return seen, undo


def executed(fake: FakeStripe, order_id: str, step: str) -> int:
    return sum(1 for _, _, key, replay in fake.requests if key == f"{order_id}:{step}" and not replay)


def test_three_deliveries_make_one_payment_intent_and_one_capture(stack, aws, pipeline, stripe):
    from tests.test_orders_processing import call_process_order, delete, receive_batch

    restaurant = seed_restaurant(aws, "owner-stripe")
    dish = seed_product(aws, restaurant, price_cents=1250, stock=10)
    paid, _ = place(restaurant, dish, VISA)
    declined, _ = place(restaurant, dish, DECLINED)
    needs_3ds, _ = place(restaurant, dish, NEEDS_AUTHENTICATION)
    messages = receive_batch(stack, aws, 3)
    for _ in range(3):
        assert call_process_order(pipeline, messages) == {"batchItemFailures": []}
    delete(stack, aws, messages)
    assert order_item(aws, paid)["status"] == "CONFIRMED"
    assert [executed(stripe, paid, step) for step in ("authorize", "capture")] == [1, 1]
    [intent] = stripe.by_order(paid)
    assert (intent["status"], intent["amount_received"]) == ("succeeded", 1250)
    assert order_item(aws, paid)["authorization_id"] == intent["id"]
    item = order_item(aws, declined)
    assert (item["status"], item["failure_reason"]) == ("FAILED", "payment_declined")
    assert [pi["status"] for pi in stripe.by_order(declined)] == ["requires_payment_method"]
    # 3-D Secure: the order waits for its customer, one PaymentIntent, nothing captured.
    waiting = order_item(aws, needs_3ds)
    [intent] = stripe.by_order(needs_3ds)
    assert (waiting["status"], intent["status"]) == ("PENDING", "requires_action")
    assert waiting["payment_action"]["client_secret"] == intent["client_secret"]
    assert executed(stripe, needs_3ds, "authorize") == 1 and executed(stripe, needs_3ds, "capture") == 0


def webhook(server: StripeServer):
    """The webhook's service as the composition root wires it, with the fake's signing secret."""
    from chalicelib.adapters.stripe_webhooks import verified_event
    from chalicelib.bootstrap import container
    from chalicelib.services.payment_events import PaymentEventsService

    app = container()
    return PaymentEventsService(verified_event, lambda: WEBHOOK_SECRET, app.orders_repo, app.orders_queue)


def test_3d_secure_shows_its_customer_the_action_and_the_webhook_resumes_the_order(
    stack, aws, pipeline, stripe, server
):
    from chalicelib.bootstrap import container
    from chalicelib.domain.principal import Principal

    restaurant = seed_restaurant(aws, "owner-stripe")
    dish = seed_product(aws, restaurant, price_cents=1100, stock=10)
    order_id, customer_id = place(restaurant, dish, NEEDS_AUTHENTICATION)
    pipeline.drain()
    [intent] = stripe.by_order(order_id)
    mine = container().orders.get(Principal(user_id=customer_id, roles=frozenset({"customers"})), order_id)
    assert mine.status == "PENDING" and mine.payment_action is not None
    assert mine.payment_action.client_secret == intent["client_secret"]
    admin = container().orders.get(Principal(user_id="someone-else", roles=frozenset({"admins"})), order_id)
    assert admin.payment_action is None, "the client secret is its customer's only"
    authorized = stripe.authenticate(intent["id"])  # the customer passes the challenge
    event = stripe.event("payment_intent.amount_capturable_updated", authorized)
    assert webhook(server).handle(*signed(event)).applied is True
    assert webhook(server).handle(*signed(event)).applied is False, "a replay queues nothing more"
    pipeline.drain()
    item = order_item(aws, order_id)
    assert item["status"] == "CONFIRMED"
    assert [executed(stripe, order_id, step) for step in ("authorize", "capture")] == [1, 1]
    assert stripe.by_order(order_id)[0]["amount_received"] == 1100


def test_3d_secure_nobody_answers_fails_the_order_and_releases_it(aws, pipeline, stripe, processor, monkeypatch):
    from chalicelib.bootstrap import container

    restaurant = seed_restaurant(aws, "owner-stripe")
    dish = seed_product(aws, restaurant, price_cents=1100, stock=10)
    order_id, _ = place(restaurant, dish, NEEDS_AUTHENTICATION)
    pipeline.drain()
    assert order_item(aws, order_id)["status"] == "PENDING"
    later = now() + timedelta(minutes=16)
    monkeypatch.setattr(processor, "_clock", lambda: rfc3339(later))
    assert container().orders.sweep(later) >= 1, "the sweeper looks at waiting orders"
    pipeline.drain()
    item = order_item(aws, order_id)
    assert (item["status"], item["failure_reason"]) == ("FAILED", "payment_action_required")
    assert [pi["status"] for pi in stripe.by_order(order_id)] == ["canceled"]


def test_an_outage_backs_off_then_every_order_confirms_once(aws, pipeline, stripe, processor, monkeypatch):
    monkeypatch.setattr(processor, "_retry", PaymentRetry(timedelta(seconds=1), timedelta(seconds=2)))
    restaurant = seed_restaurant(aws, "owner-stripe")
    dish = seed_product(aws, restaurant, price_cents=900, stock=10)
    ids = [place(restaurant, dish)[0] for _ in range(3)]
    # Each order's first two attempts (the SDK tries each call twice before giving up).
    stripe.failing_requests = 3 * 2 * 2
    seen, undo = delays_requested()
    try:
        pipeline.drain(timeout=60)
    finally:
        undo()
    assert sorted(seen) == [1, 1, 1, 2, 2, 2], "1 s after the first failure, then doubled (capped at 2 s)"
    for order_id in ids:
        assert order_item(aws, order_id)["status"] == "CONFIRMED"
        [intent] = stripe.by_order(order_id)
        assert (intent["status"], intent["amount_received"]) == ("succeeded", 900)
        assert executed(stripe, order_id, "capture") == 1


def test_an_outage_past_the_bound_fails_every_order_unpaid_and_told(aws, pipeline, stripe, processor, monkeypatch):
    moments = iter(now() + timedelta(minutes=4 * n) for n in range(1000))
    monkeypatch.setattr(processor, "_clock", lambda: rfc3339(next(moments)))
    monkeypatch.setattr(processor, "_retry", PaymentRetry(timedelta(0), timedelta(0), timedelta(minutes=15)))
    restaurant = seed_restaurant(aws, "owner-stripe")
    dish = seed_product(aws, restaurant, price_cents=700, stock=10)
    placed = [place(restaurant, dish) for _ in range(2)]
    stripe.outage = True
    pipeline.drain(timeout=60)
    pipeline.drain_stream()
    for order_id, customer_id in placed:
        item = order_item(aws, order_id)
        assert (item["status"], item["failure_reason"]) == ("FAILED", "payment_unavailable")
        assert stripe.by_order(order_id) == []
        inbox = aws("dynamodb").query(
            TableName=table("notifications"),
            KeyConditionExpression="user_id = :u",
            ExpressionAttributeValues={":u": {"S": customer_id}},
        )["Items"]
        told = {
            (i["status"]["S"], i.get("failure_reason", {}).get("S")) for i in inbox if i["order_id"]["S"] == order_id
        }
        assert ("FAILED", "payment_unavailable") in told
    assert pipeline.stats["dead_lettered"] == 0


def test_the_sweeper_never_requeues_a_dead_lettered_order(stack, aws, pipeline):
    from chalicelib.bootstrap import container
    from devtools.redrive import main as redrive

    pipeline.drain()
    restaurant = seed_restaurant(aws, "owner-stripe")
    dish = seed_product(aws, restaurant, stock=3)
    order_id, _ = place(restaurant, dish, "tok_visa")
    undo, _ = throttle("TransactWriteItems")
    try:
        pipeline.drain()
    finally:
        undo()
    assert order_item(aws, order_id)["status"] == "PENDING" and "dead_lettered_at" in order_item(aws, order_id)
    sent: list[str] = []
    undo = hook(
        "sqs",
        "before-parameter-build.sqs.SendMessageBatch",
        lambda params, **_: sent.extend(e["MessageGroupId"] for e in params["Entries"]),
    )
    try:
        for minutes in (3, 10, 60):
            container().orders.sweep(now() + timedelta(minutes=minutes))
    finally:
        undo()
    assert order_id not in sent
    assert redrive([]) >= 1
    pipeline.drain()
    assert order_item(aws, order_id)["status"] == "CONFIRMED"


def test_the_queue_gives_up_after_the_payment_retries_do():
    import json
    from pathlib import Path

    from chalicelib.services.orders import MAX_RECEIVES
    from chalicelib.settings import Settings

    template = json.loads((Path(__file__).resolve().parent.parent / "infra" / "template.json").read_text())
    redrive = template["Resources"]["OrdersQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == MAX_RECEIVES
    s = Settings.from_env({})
    retry = PaymentRetry(
        timedelta(seconds=s.payment_retry_base_seconds),
        timedelta(seconds=s.payment_retry_cap_seconds),
        timedelta(seconds=s.payment_retry_bound_seconds),
    )
    assert retry.receives_within_bound() < MAX_RECEIVES
    assert [retry.delay(n) for n in range(1, 7)] == [15, 30, 60, 120, 180, 180]
    # A 10-minute outage at lunch is retried within the cap of its end: well inside the bound.
    elapsed, receives = 0, 1
    while elapsed < 600:
        elapsed += retry.delay(receives)
        receives += 1
    assert elapsed - 600 <= s.payment_retry_cap_seconds and elapsed < s.payment_retry_bound_seconds
