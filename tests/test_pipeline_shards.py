"""The local pipeline spreads each stream read over concurrent notify calls by order id, as
a busy table's shards are on AWS: an order's records stay together and in sequence, and a
failed call re-reads from its first record without sending anything twice."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ordering import body_of, order_body, place, seed_product, seed_restaurant, sub_of

ORDERS = 12


@pytest.fixture(scope="module")
def pipeline(stack):
    from devtools.pipeline import Pipeline

    pipe = Pipeline(stack["env"], stream_start="LATEST", sweep_every=0)
    pipe.prepare()
    return pipe


@pytest.fixture
def notify_calls(monkeypatch) -> list[dict[str, Any]]:
    """Every event handed to app.notify (which runs as it is)."""
    import app

    calls: list[dict[str, Any]] = []
    handler = app.notify

    def recorded(event: dict[str, Any], context: Any) -> Any:
        calls.append(event)
        return handler(event, context)

    monkeypatch.setattr(app, "notify", recorded)
    return calls


def confirmed_orders(stack, aws, client, headers_for, pipeline, new_user) -> tuple[str, list[str]]:
    """ORDERS orders of a new customer, confirmed, their stream records not yet notified."""
    pipeline.drain()
    pipeline.drain_stream()
    _, email = new_user("customers")
    restaurant = seed_restaurant(aws, sub_of(stack, "owner"))
    dish = seed_product(aws, restaurant, stock=100)
    ids = [
        body_of(place(client, headers_for(email), order_body(restaurant, [(dish, 1)])))["order_id"]
        for _ in range(ORDERS)
    ]
    pipeline.drain()
    return email, ids


def order_of(record: dict[str, Any]) -> str:
    return record["dynamodb"]["Keys"]["order_id"]["S"]


def test_an_orders_records_reach_one_notify_call_in_sequence(
    stack, aws, client, headers_for, pipeline, new_user, notify_calls
):
    _, ids = confirmed_orders(stack, aws, client, headers_for, pipeline, new_user)

    assert pipeline.pump_stream() == 2 * ORDERS  # one read: placed and confirmed, for each order

    assert len(notify_calls) > 1  # spread over concurrent calls
    seen: dict[str, int] = {}
    for index, event in enumerate(notify_calls):
        records = event["Records"]
        for order_id in {order_of(r) for r in records}:
            assert order_id not in seen, "an order's records went to two calls"
            seen[order_id] = index
            mine = [r for r in records if order_of(r) == order_id]
            assert [r["eventName"] for r in mine] == ["INSERT", "MODIFY"]
            sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in mine]
            assert sequence == sorted(sequence)
    assert set(seen) == set(ids)


def test_a_failed_call_rereads_from_its_first_record_and_sends_nothing_twice(
    stack, aws, client, headers_for, pipeline, new_user, monkeypatch
):
    import app

    email, ids = confirmed_orders(stack, aws, client, headers_for, pipeline, new_user)
    failing = ids[ORDERS // 2]
    handler, calls = app.notify, []

    def fails_once(event: dict[str, Any], context: Any) -> Any:
        orders = {order_of(r) for r in event["Records"]}
        calls.append(orders)
        if failing in orders and sum(failing in c for c in calls) == 1:
            raise RuntimeError("the invocation timed out")
        return handler(event, context)

    monkeypatch.setattr(app, "notify", fails_once)
    pipeline.pump_stream()
    pipeline.drain_stream()

    assert sum(failing in c for c in calls) == 2  # delivered again after the failure
    inbox = body_of(client.http.get("/users/me/notifications?limit=100", headers=headers_for(email)))["items"]
    sent = sorted((n["order_id"], n["status"]) for n in inbox)
    assert sent == sorted((o, s) for o in ids for s in ("PENDING", "CONFIRMED"))


def test_a_read_is_split_into_calls_of_even_size_each_order_whole():
    """A read waits for its slowest call: 100 records of 50 orders make four calls of 24 to
    26 records, each order's two in one call, in sequence."""
    from devtools.pipeline import STREAM_SHARDS, Pipeline

    pipe = Pipeline({"ORDERS_QUEUE_URL": ""}, sweep_every=0)
    orders = [f"ord_{index:04d}" for index in range(50)]
    records = [
        {"eventName": name, "dynamodb": {"Keys": {"order_id": {"S": order}}, "SequenceNumber": f"{2 * i + j:021d}"}}
        for i, order in enumerate(orders)
        for j, name in enumerate(("INSERT", "MODIFY"))
    ]
    records.sort(key=lambda r: (r["eventName"], r["dynamodb"]["SequenceNumber"]))  # placed, then confirmed

    groups = pipe._shards(records)

    assert len(groups) == STREAM_SHARDS
    assert all(24 <= len(group) <= 26 for group in groups), [len(g) for g in groups]
    for group in groups:
        assert [records.index(r) for r in group] == sorted(records.index(r) for r in group)
        mine = {order_of(r) for r in group}
        assert all(sum(order_of(r) in mine for r in other) == 0 for other in groups if other is not group)
