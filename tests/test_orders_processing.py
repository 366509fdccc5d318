"""The order processor against the emulator: no oversell under concurrency, exactly-once
under redelivery, partial batch responses, and the conservation of stock and money over
random histories."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain import orders as domain
from chalicelib.domain.principal import Principal
from tests.ordering import (
    ADDRESS,
    ledger,
    new_customer,
    order_item,
    seed_product,
    seed_restaurant,
    stock_of,
    sub_of,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pipeline(stack):
    from devtools.pipeline import Pipeline

    pipe = Pipeline(stack["env"], stream_start="LATEST", sweep_every=0)
    pipe.prepare()
    return pipe


def service():
    from chalicelib.bootstrap import container

    return container().orders


def processor():
    from chalicelib.bootstrap import container

    return container().order_processor


def customer(n: int = 0) -> Principal:
    return new_customer(n)


def place(who: Principal, restaurant_id: str, lines, token="tok_visa"):
    cmd = domain.PlaceOrder.model_validate(
        {
            "restaurant_id": restaurant_id,
            "items": [{"product_id": p, "quantity": q} for p, q in lines],
            "delivery_address": ADDRESS,
            "payment_token": token,
        }
    )
    return service().place(who, f"key-{uuid.uuid4().hex}", cmd).order


def receive_batch(stack, aws, count: int) -> list[dict]:
    """Receives ``count`` messages off orders.fifo (without deleting them)."""
    messages = []
    deadline = time.monotonic() + 10
    while len(messages) < count and time.monotonic() < deadline:
        out = aws("sqs").receive_message(
            QueueUrl=stack["env"]["ORDERS_QUEUE_URL"],
            MaxNumberOfMessages=min(10, count - len(messages)),
            AttributeNames=["All"],
            VisibilityTimeout=60,
        )
        messages.extend(out.get("Messages", []))
    assert len(messages) == count
    return messages


def delete(stack, aws, messages):
    for message in messages:
        aws("sqs").delete_message(QueueUrl=stack["env"]["ORDERS_QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"])


def call_process_order(pipeline, messages) -> dict:
    import app
    from devtools.lambda_context import LambdaContext

    event = {"Records": [pipeline._sqs_record(m) for m in messages]}
    return app.process_order(event, LambdaContext("process_order"))


def test_no_oversell_with_concurrent_orders(stack, aws, pipeline):
    pipeline.drain()
    restaurant = seed_restaurant(aws, sub_of(stack, "owner"))
    dish = seed_product(aws, restaurant, price_cents=900, stock=10)
    runner = type(pipeline)(stack["env"], stream_start="LATEST", sweep_every=0)
    runner.start()
    try:
        placed: list = []
        lock = threading.Lock()

        def order_one(n):
            order = place(customer(n), restaurant, [(dish, 1)])
            with lock:
                placed.append(order.order_id)

        threads = [threading.Thread(target=order_one, args=(n,)) for n in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            statuses = [order_item(aws, oid)["status"] for oid in placed]
            if "PENDING" not in statuses:
                break
            time.sleep(0.2)
    finally:
        runner.stop()
    orders = [order_item(aws, oid) for oid in placed]
    confirmed = [o for o in orders if o["status"] == "CONFIRMED"]
    failed = [o for o in orders if o["status"] == "FAILED"]
    assert len(confirmed) == 10
    assert len(failed) == 20 and {o["failure_reason"] for o in failed} == {"out_of_stock"}
    assert stock_of(aws, dish) == 0
    captures = ledger().captures
    assert sum(captures.get(oid, 0) for oid in placed) == sum(o["total_cents"] for o in confirmed) == 9000
    assert all(oid not in captures or oid in ledger().authorizations for oid in placed)
    # Orders that failed after authorizing were voided, never captured.
    assert not any(o["order_id"] in captures for o in failed)


def test_same_batch_delivered_three_times_charges_and_decrements_once(stack, aws, pipeline):
    pipeline.drain()
    restaurant = seed_restaurant(aws, sub_of(stack, "owner"))
    dish = seed_product(aws, restaurant, price_cents=500, stock=100)
    other = seed_product(aws, restaurant, price_cents=250)
    ids = [place(customer(n), restaurant, [(dish, 2), (other, 1)]).order_id for n in range(4)]
    messages = receive_batch(stack, aws, 4)
    for _ in range(3):
        assert call_process_order(pipeline, messages) == {"batchItemFailures": []}
    delete(stack, aws, messages)
    assert stock_of(aws, dish) == 100 - 2 * 4
    for order_id in ids:
        assert order_item(aws, order_id)["status"] == "CONFIRMED"
        assert ledger().captures[order_id] == 1250
        assert [h["status"] for h in order_item(aws, order_id)["status_history"]] == ["PENDING", "CONFIRMED"]


def test_partial_batch_reports_only_the_poisoned_record_and_its_group(stack, aws, pipeline):
    pipeline.drain()
    restaurant = seed_restaurant(aws, sub_of(stack, "owner"))
    dish = seed_product(aws, restaurant, price_cents=700, stock=50)
    tokens = ["tok_visa"] * 4 + ["tok_error"] + ["tok_visa"] * 5
    ids = [place(customer(n), restaurant, [(dish, 1)], token=t).order_id for n, t in enumerate(tokens)]
    messages = receive_batch(stack, aws, 10)
    by_order = {json.loads(m["Body"])["order_id"]: m for m in messages}
    ordered = [by_order[oid] for oid in ids]
    result = call_process_order(pipeline, ordered)
    poisoned = ordered[4]["MessageId"]
    assert result == {"batchItemFailures": [{"itemIdentifier": poisoned}]}
    delete(stack, aws, ordered)
    statuses = [order_item(aws, oid)["status"] for oid in ids]
    assert statuses == ["CONFIRMED"] * 4 + ["PENDING"] + ["CONFIRMED"] * 5
    assert ids[4] not in ledger().authorizations

    # A later record of the poisoned record's group is held back with it; other groups go on.
    import app
    from devtools.lambda_context import LambdaContext

    records = [pipeline._sqs_record(m) for m in ordered[:3]]
    twin = dict(records[1], messageId="twin-of-1")
    records[1] = dict(records[1], body=json.dumps({"order_id": "ord_missing", "restaurant_id": restaurant}))
    bad = dict(records[0], body="not json")
    event = {"Records": [bad, records[1], dict(records[0], messageId="twin-of-0"), twin, records[2]]}
    out = app.process_order(event, LambdaContext("process_order"))
    assert out == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}, {"itemIdentifier": "twin-of-0"}]}


def test_processor_concurrency_matches_the_payment_functions_reserved_concurrency():
    import app
    from chalicelib.settings import PAYMENT_CONCURRENCY

    [source] = [s for s in app.app.event_sources if getattr(s, "name", "") == "process_order"]
    assert source.batch_size == 10
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    reserved = config["lambda_functions"]["payment"]["reserved_concurrency"]
    assert source.maximum_concurrency == reserved == PAYMENT_CONCURRENCY == 5
    # Sized once for every stage: no stage overrides the payment function's concurrency.
    assert all("lambda_functions" not in stage for stage in config["stages"].values())


def test_processing_reports_business_metrics(stack, aws, pipeline, capsys, monkeypatch):
    from chalicelib.adapters.metrics import Metrics
    from chalicelib.bootstrap import container
    from chalicelib.services.orders import OrderProcessor

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("POWERTOOLS_DEV", "false")
    pipeline.drain()
    restaurant = seed_restaurant(aws, sub_of(stack, "owner"))
    dish = seed_product(aws, restaurant, price_cents=400, stock=5)
    place(customer(1), restaurant, [(dish, 1)])
    place(customer(2), restaurant, [(dish, 1)], token="tok_declined")
    messages = receive_batch(stack, aws, 2)
    metrics = Metrics(stage="test")
    measured = OrderProcessor(container().orders_repo, container().payment_gateway, metrics)
    event = {"Records": [pipeline._sqs_record(m) for m in messages]}
    capsys.readouterr()
    assert measured.handle_batch(event) == {"batchItemFailures": []}
    metrics.flush()
    delete(stack, aws, messages)
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    values = {
        (m["Name"], r.get("reason", r.get("outcome", ""))): r[m["Name"]]
        for r in emitted
        if "_aws" in r
        for m in r["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    assert ("OrdersConfirmed", "") in values
    assert ("OrdersFailed", "payment_declined") in values
    assert {("PaymentLatency", "approved"), ("PaymentLatency", "declined")} <= set(values)


# --- conservation over random histories ------------------------------------------------------

Action = st.one_of(
    st.tuples(st.just("order"), st.integers(1, 4), st.sampled_from(["tok_visa", "tok_visa", "tok_declined"])),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("reject"), st.integers(0, 20)),
    st.tuples(st.just("accept"), st.integers(0, 20)),
    st.tuples(st.just("redeliver"), st.integers(0, 20)),
    st.tuples(st.just("process")),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(Action, min_size=3, max_size=14))
def test_stock_and_money_are_conserved(stack, aws, pipeline, actions):
    from chalicelib.domain.errors import ChowlineError

    pipeline.drain()
    owner = Principal(user_id=sub_of(stack, "owner"), roles=frozenset({"restaurant_owners"}))
    restaurant = seed_restaurant(aws, owner.user_id)
    initial = 6
    dish = seed_product(aws, restaurant, price_cents=300, stock=initial)
    orders: list[tuple[Principal, str]] = []
    for action in actions:
        kind = action[0]
        if kind == "order":
            who = customer()
            orders.append((who, place(who, restaurant, [(dish, action[1])], token=action[2]).order_id))
        elif kind == "process":
            pipeline.drain()
        elif orders:
            who, order_id = orders[action[1] % len(orders)]
            try:
                if kind == "cancel":
                    service().cancel(who, order_id)
                elif kind in ("reject", "accept"):
                    target = "REJECTED" if kind == "reject" else "ACCEPTED"
                    service().change_status(owner, order_id, domain.StatusChange(status=target))
                else:
                    processor().process({"order_id": order_id, "restaurant_id": restaurant, "product_ids": [dish]})
            except ChowlineError as error:
                assert error.status in (404, 409), error
    pipeline.drain()
    for _, order_id in orders:
        # Redelivery after everything settled changes nothing.
        processor().process({"order_id": order_id, "restaurant_id": restaurant, "product_ids": [dish]})
    final = {oid: order_item(aws, oid) for _, oid in orders}
    assert all(o["status"] != "PENDING" for o in final.values())
    holding = [o for o in final.values() if o["status"] in domain.PAID_STATUSES]
    taken = sum(line["quantity"] for o in holding for line in o["items"])
    assert stock_of(aws, dish) == initial - taken >= 0
    book = ledger()
    for order_id, order in final.items():
        kept = book.captures.get(order_id, 0) - book.refunds.get(order_id, 0)
        expected = order["total_cents"] if order["status"] in domain.PAID_STATUSES else 0
        assert kept == expected, (order_id, order["status"])
        if order_id in book.captures and order_id in book.voids:
            pytest.fail(f"{order_id} was both captured and voided")
