"""POST /payments/webhook over HTTP against the emulator: Stripe-signed events (signed as
Stripe signs them, checked by the SDK) are applied to their order once; a replay is a
no-op; a missing, wrong or stale signature is 400 and changes nothing."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid

import pytest

from chalicelib.domain import orders as domain
from tests.ordering import ADDRESS, new_customer, order_item, seed_product, seed_restaurant
from tests.stripe_fake import WEBHOOK_SECRET, FakeStripe, signed

# Stripe's events, numbered as one account's are.
EVENTS = FakeStripe()


@pytest.fixture(scope="module")
def pipeline(stack):
    from devtools.pipeline import Pipeline

    pipe = Pipeline(stack["env"], stream_start="LATEST", sweep_every=0)
    pipe.prepare()
    return pipe


@pytest.fixture(scope="module")
def webhook_secret(stack, aws) -> str:
    """The endpoint's signing secret in Secrets Manager, named as the stage names it."""
    name = f"chowline-local-stripe-webhook-{uuid.uuid4().hex[:6]}"
    aws("secretsmanager").create_secret(Name=name, SecretString=WEBHOOK_SECRET)
    return name


@pytest.fixture
def configured(webhook_secret, monkeypatch):
    """The API's container with the webhook secret configured (the composition root wires it)."""
    from chalicelib.bootstrap import Container, container

    current = container()
    wired = Container(dataclasses.replace(current.settings, stripe_webhook_secret=webhook_secret))
    monkeypatch.setitem(current.__dict__, "payment_events", wired.payment_events)
    return wired


def post(client, payload: bytes, signature: str | None):
    headers = {"Content-Type": "application/json; charset=utf-8"}  # as Stripe sends it
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.http.post("/payments/webhook", body=payload, headers=headers)


def placed(aws, token: str = "tok_visa") -> str:
    from chalicelib.bootstrap import container

    restaurant = seed_restaurant(aws, "owner-webhook")
    dish = seed_product(aws, restaurant, price_cents=1500, stock=5)
    cmd = domain.PlaceOrder.model_validate(
        {
            "restaurant_id": restaurant,
            "items": [{"product_id": dish, "quantity": 1}],
            "delivery_address": ADDRESS,
            "payment_token": token,
        }
    )
    return container().orders.place(new_customer(), f"key-{uuid.uuid4().hex}", cmd).order.order_id


def dispute_for(order: dict) -> dict:
    return EVENTS.event(
        "charge.dispute.created",
        {
            "id": f"dp_{uuid.uuid4().hex[:14]}",
            "object": "dispute",
            "amount": 1500,
            "charge": "ch_1",
            "payment_intent": order["authorization_id"],
            "reason": "fraudulent",
            "status": "needs_response",
        },
    )


def test_a_signed_event_applies_once_and_a_replay_changes_nothing(client, aws, pipeline, configured):
    pipeline.drain()
    order_id = placed(aws)
    pipeline.drain()
    order = order_item(aws, order_id)
    assert order["status"] == "CONFIRMED"
    payload, signature = signed(dispute_for(order))
    first = post(client, payload, signature)
    assert (first.status_code, json.loads(first.body)) == (200, {"received": True, "applied": True})
    after = order_item(aws, order_id)
    assert after["dispute"]["reason"] == "fraudulent" and after["dispute"]["amount_cents"] == 1500
    again = post(client, payload, signature)
    assert (again.status_code, json.loads(again.body)) == (200, {"received": True, "applied": False})
    assert order_item(aws, order_id) == after
    refund = EVENTS.event(
        "charge.refunded",
        {
            "id": "ch_1",
            "object": "charge",
            "amount": 1500,
            "amount_refunded": 500,
            "payment_intent": order["authorization_id"],
            "metadata": {"order_id": order_id},
        },
    )
    assert json.loads(post(client, *signed(refund)).body)["applied"] is True
    assert order_item(aws, order_id)["refunded_cents"] == 500
    assert order_item(aws, order_id)["status"] == "CONFIRMED"


def test_bad_missing_or_stale_signatures_are_400_and_change_nothing(client, aws, pipeline, configured):
    pipeline.drain()
    order_id = placed(aws)
    pipeline.drain()
    before = order_item(aws, order_id)
    event = dispute_for(before)
    payload, signature = signed(event)
    forged = signed(event, secret="whsec_someone_else")[1]
    stale = signed(event, at=int(time.time()) - 3600)[1]
    tampered = payload.replace(b"fraudulent", b"duplicate")
    for body, header in (
        (payload, forged),
        (payload, None),
        (payload, stale),
        (tampered, signature),
        (b"{", signature),
    ):
        response = post(client, body, header)
        assert response.status_code == 400, header
        problem = json.loads(response.body)
        assert problem["errors"][0]["field"] == "Stripe-Signature"
    assert order_item(aws, order_id) == before


def test_a_late_failure_fails_a_pending_order(client, aws, pipeline, configured):
    pipeline.drain()
    order_id = placed(aws)
    event = EVENTS.event(
        "payment_intent.payment_failed",
        {
            "id": "pi_late",
            "object": "payment_intent",
            "status": "requires_payment_method",
            "metadata": {"order_id": order_id},
        },
    )
    assert json.loads(post(client, *signed(event)).body)["applied"] is True
    pipeline.drain()  # the processor then finds it settled
    item = order_item(aws, order_id)
    assert (item["status"], item["failure_reason"]) == ("FAILED", "payment_declined")


def test_an_unconfigured_stage_verifies_no_event(client, aws):
    payload, signature = signed(EVENTS.event("charge.refunded", {"object": "charge"}))
    response = post(client, payload, signature)
    assert response.status_code == 400 and "no webhook signing secret" in json.loads(response.body)["detail"]
