"""Faults: throttled DynamoDB is retried, lands in the DLQ after maxReceiveCount receives,
comes back with the redrive command and completes; a failing payment provider is retried
until the payment bound, then the order fails payment_unavailable; nothing is lost or
charged twice. The sweeper re-enqueues orders whose message never left."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from chalicelib.domain import orders as domain
from chalicelib.domain.clock import now, rfc3339
from chalicelib.services.orders import MAX_RECEIVES
from tests.ordering import (
    ADDRESS,
    ledger,
    new_customer,
    order_item,
    provider,
    seed_product,
    seed_restaurant,
    stock_of,
    throttle,
)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    """Payment retries come back at once here (tests/test_payments_outage.py runs the backoff)."""
    from chalicelib.bootstrap import container
    from chalicelib.domain.payments import PaymentRetry

    monkeypatch.setattr(container().order_processor, "_retry", PaymentRetry(timedelta(0), timedelta(0)))


@pytest.fixture(scope="module")
def pipeline(stack):
    from devtools.pipeline import Pipeline

    pipe = Pipeline(stack["env"], stream_start="LATEST", sweep_every=0)
    pipe.prepare()
    return pipe


def place(restaurant_id, dish, token="tok_visa", quantity=1):
    from chalicelib.bootstrap import container

    cmd = domain.PlaceOrder.model_validate(
        {
            "restaurant_id": restaurant_id,
            "items": [{"product_id": dish, "quantity": quantity}],
            "delivery_address": ADDRESS,
            "payment_token": token,
        }
    )
    who = new_customer()
    return container().orders.place(who, f"key-{uuid.uuid4().hex}", cmd).order.order_id


def dlq_messages(stack, aws):
    attributes = aws("sqs").get_queue_attributes(
        QueueUrl=stack["env"]["ORDERS_DLQ_URL"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def redrive(stack):
    from devtools.redrive import main

    return main([])  # the environment names the queues, as on AWS


def test_throttled_transactions_go_to_the_dlq_then_redrive_completes(stack, aws, pipeline):
    pipeline.drain()
    assert dlq_messages(stack, aws) == 0
    restaurant = seed_restaurant(aws, "owner-x")
    dish = seed_product(aws, restaurant, price_cents=450, stock=5)
    ids = [place(restaurant, dish) for _ in range(2)]
    undo, calls = throttle("TransactWriteItems")
    try:
        pipeline.drain()
    finally:
        undo()
    assert calls["n"] == 2 * MAX_RECEIVES, "each order tried once per receive, maxReceiveCount receives"
    assert dlq_messages(stack, aws) == 2
    assert all(order_item(aws, oid)["status"] == "PENDING" for oid in ids)
    assert stock_of(aws, dish) == 5
    assert all(oid not in ledger().captures for oid in ids)

    assert redrive(stack) == 2
    assert dlq_messages(stack, aws) == 0
    pipeline.drain()
    assert [order_item(aws, oid)["status"] for oid in ids] == ["CONFIRMED", "CONFIRMED"]
    assert stock_of(aws, dish) == 3
    assert [ledger().captures[oid] for oid in ids] == [450, 450]


def test_throttled_reads_are_retried_too(stack, aws, pipeline):
    pipeline.drain()
    restaurant = seed_restaurant(aws, "owner-x")
    dish = seed_product(aws, restaurant, stock=5)
    order_id = place(restaurant, dish)
    undo, calls = throttle("BatchGetItem")
    try:
        assert pipeline.pump_queue() == 1
        assert pipeline.pump_queue() == 1, "the failed record is visible again at once"
    finally:
        undo()
    pipeline.drain()
    assert calls["n"] == 2
    assert order_item(aws, order_id)["status"] == "CONFIRMED"


def test_payment_errors_are_retried_a_healed_provider_completes_and_a_dead_one_fails_unpaid(
    stack, aws, pipeline, monkeypatch
):
    from chalicelib.bootstrap import container

    pipeline.drain()
    # Each look at the clock is two minutes on: the 15-minute bound passes after 8 failures.
    moments = iter(now() + timedelta(minutes=2 * n) for n in range(10_000))
    monkeypatch.setattr(container().order_processor, "_clock", lambda: rfc3339(next(moments)))
    restaurant = seed_restaurant(aws, "owner-x")
    dish = seed_product(aws, restaurant, price_cents=800, stock=4)
    broken = place(restaurant, dish, token="tok_error")
    outage = place(restaurant, dish)
    provider().outage = True
    try:
        for _ in range(3):
            assert pipeline.pump_queue() == 2, "both are retried, the provider still down"
    finally:
        provider().outage = False
    pipeline.drain()
    assert order_item(aws, outage)["status"] == "CONFIRMED"
    assert ledger().captures[outage] == 800 and ledger().authorizations[outage] == 800
    # tok_error always fails: past the bound its order fails, nothing taken, no DLQ.
    failed = order_item(aws, broken)
    assert (failed["status"], failed["failure_reason"]) == ("FAILED", "payment_unavailable")
    assert broken not in ledger().authorizations and broken not in ledger().captures
    assert dlq_messages(stack, aws) == 0
    assert stock_of(aws, dish) == 3


def test_capture_failure_after_confirming_is_retried_and_charges_once(stack, aws, pipeline):
    from chalicelib.bootstrap import container

    pipeline.drain()
    restaurant = seed_restaurant(aws, "owner-x")
    dish = seed_product(aws, restaurant, price_cents=600, stock=3)
    order_id = place(restaurant, dish)
    fake = provider()
    original = fake.capture
    failures = {"n": 0}

    def flaky_capture(*args, **kwargs):
        if failures["n"] < 2:
            failures["n"] += 1
            from chalicelib.adapters.payment_provider import ProviderError

            raise ProviderError("timeout")
        return original(*args, **kwargs)

    fake.capture = flaky_capture
    try:
        pipeline.drain()
    finally:
        fake.capture = original
    assert container().payment_provider is fake
    assert order_item(aws, order_id)["status"] == "CONFIRMED"
    assert ledger().captures[order_id] == 600
    assert stock_of(aws, dish) == 2, "the retries did not take stock again"


def test_sweeper_requeues_orders_whose_message_was_lost(stack, aws, pipeline):
    from chalicelib.bootstrap import container

    pipeline.drain()
    # The sweep re-queues every stale PENDING order of the table: those earlier tests left
    # (a card waiting for its holder, an order of a lost message) would be swept with this
    # one, and their messages would stay in the queue for the next test.
    for left in container().orders_repo.pending_between("2000", "9999", 1000):
        aws("dynamodb").delete_item(TableName=container().settings.orders_table, Key={"order_id": {"S": left.order_id}})
    restaurant = seed_restaurant(aws, "owner-x")
    dish = seed_product(aws, restaurant, stock=2)
    undo, _ = throttle("SendMessage", service="sqs", code="InternalError")
    try:
        with pytest.raises(Exception, match="could not be queued"):
            place(restaurant, dish)
    finally:
        undo()
    [order] = [
        o for o in container().orders_repo.pending_between("2000", "9999", 1000) if o.restaurant_id == restaurant
    ]
    assert container().orders.sweep(now() + timedelta(seconds=30)) == 0, "too young to sweep"
    calls = []
    from tests.ordering import hook

    undo = hook("dynamodb", "before-call.dynamodb", lambda event_name, **_: calls.append(event_name))
    try:
        assert container().orders.sweep(now() + timedelta(minutes=3)) >= 1
    finally:
        undo()
    assert calls == ["before-call.dynamodb.Query"], "one Query on by_status, never a Scan"
    pipeline.drain()
    assert order_item(aws, order.order_id)["status"] == "CONFIRMED"
    assert stock_of(aws, dish) == 1


def test_redrive_keeps_group_and_dedup_ids(stack, aws):
    sqs = aws("sqs")
    env = stack["env"]
    sqs.purge_queue(QueueUrl=env["ORDERS_DLQ_URL"])
    bodies = []
    for n in range(3):
        body = json.dumps({"order_id": f"ord_redrive_{n}", "restaurant_id": "r", "product_ids": []})
        bodies.append(body)
        sqs.send_message(
            QueueUrl=env["ORDERS_DLQ_URL"], MessageBody=body, MessageGroupId=f"g{n}", MessageDeduplicationId=f"d{n}"
        )
    assert redrive(stack) == 3
    out = sqs.receive_message(QueueUrl=env["ORDERS_QUEUE_URL"], MaxNumberOfMessages=10, AttributeNames=["All"])
    moved = {m["Body"]: m["Attributes"] for m in out["Messages"]}
    assert set(moved) == set(bodies)
    assert {(a["MessageGroupId"], a["MessageDeduplicationId"]) for a in moved.values()} == {
        ("g0", "d0"),
        ("g1", "d1"),
        ("g2", "d2"),
    }
    assert dlq_messages(stack, aws) == 0
    for message in out["Messages"]:
        sqs.delete_message(QueueUrl=env["ORDERS_QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"])
