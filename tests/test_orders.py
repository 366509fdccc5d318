"""Orders over HTTP (chalice.test.Client) against the emulator: placement, idempotency,
validation, the state machine with its role rules, and the lists."""

from __future__ import annotations

import json
import os
import threading

import pytest

from chalicelib.adapters.dynamo import to_value
from chalicelib.domain import orders as domain
from chalicelib.domain.errors import Conflict
from tests.ordering import (
    body_of,
    hook,
    ledger,
    order_body,
    order_item,
    place,
    seed_product,
    seed_restaurant,
    set_open,
    stock_of,
    sub_of,
    throttle,
)


@pytest.fixture(scope="module")
def pipeline(stack):
    from devtools.pipeline import Pipeline

    pipe = Pipeline(stack["env"], stream_start="LATEST")
    pipe.prepare()
    return pipe


@pytest.fixture
def menu(stack, aws):
    owner = sub_of(stack, "owner")
    restaurant_id = seed_restaurant(aws, owner)
    return {
        "restaurant_id": restaurant_id,
        "burger": seed_product(aws, restaurant_id, price_cents=1250, stock=20),
        "fries": seed_product(aws, restaurant_id, price_cents=399),
    }


def status(client, headers_for, who, order_id, target, **extra):
    return client.http.post(
        f"/orders/{order_id}/status", headers=headers_for(who), body=json.dumps({"status": target, **extra})
    )


def on_shift(client, headers_for, who):
    response = client.http.put("/couriers/me", headers=headers_for(who), body=json.dumps({"available": True}))
    assert response.status_code == 200, response.body


def confirmed_order(client, headers_for, pipeline, menu, quantity=2):
    response = place(client, headers_for("customer"), order_body(menu["restaurant_id"], [(menu["burger"], quantity)]))
    assert response.status_code == 202, response.body
    pipeline.drain()
    order_id = body_of(response)["order_id"]
    got = body_of(client.http.get(f"/orders/{order_id}", headers=headers_for("customer")))
    assert got["status"] == "CONFIRMED", got
    return order_id


# --- placement ------------------------------------------------------------------------------


def test_place_prices_from_the_catalog_and_confirms(client, headers_for, aws, menu, pipeline):
    terms = {"delivery_fee_cents": 299, "service_fee_rate": "0.05", "tax_rate": "0.0825", "min_order_cents": 1000}
    aws("dynamodb").update_item(
        TableName=os.environ["RESTAURANTS_TABLE"],
        Key={"restaurant_id": {"S": menu["restaurant_id"]}},
        UpdateExpression="SET " + ", ".join(f"{k} = :{k}" for k in terms),
        ExpressionAttributeValues={f":{k}": to_value(v) for k, v in terms.items()},
    )
    body = order_body(
        menu["restaurant_id"], [(menu["burger"], 2), (menu["fries"], 3)], notes="no onions", tip_cents=400
    )
    response = place(client, headers_for("customer"), body)
    assert response.status_code == 202, response.body
    placed = body_of(response)
    assert response.headers["Location"] == f"/orders/{placed['order_id']}"
    assert placed["status"] == "PENDING"
    # 3697 of items, 185 (5 %, 184.85) of service; 8.25 % of 3697 + 299 + 185 = 344.93 tax.
    assert {k: v for k, v in placed.items() if k.endswith("_cents")} == {
        "subtotal_cents": 2 * 1250 + 3 * 399,
        "delivery_fee_cents": 299,
        "service_fee_cents": 185,
        "tax_cents": 345,
        "tip_cents": 400,
        "discount_cents": 0,
        "total_cents": 3697 + 299 + 185 + 345 + 400,
    }
    assert placed["currency"] == "USD"
    assert [(i["product_id"], i["unit_price_cents"]) for i in placed["items"]] == [
        (menu["burger"], 1250),
        (menu["fries"], 399),
    ]
    stored = order_item(aws, placed["order_id"])
    assert stored["status"] == "PENDING" and stored["status_history"][0]["status"] == "PENDING"
    assert stored["request_hash"] and stored["created_at"] == placed["created_at"]

    pipeline.drain()
    got = body_of(client.http.get(f"/orders/{placed['order_id']}", headers=headers_for("customer")))
    assert got["status"] == "CONFIRMED"
    assert [h["status"] for h in got["status_history"]] == ["PENDING", "CONFIRMED"]
    assert "payment_token" not in got
    assert stock_of(aws, menu["burger"]) == 18
    assert stock_of(aws, menu["fries"]) is None, "unlimited stock stays unlimited"
    assert ledger().captures[placed["order_id"]] == placed["total_cents"]


def test_client_prices_are_refused(client, headers_for, menu):
    body = order_body(menu["restaurant_id"], [(menu["burger"], 1)])
    body["items"][0]["price_cents"] = 1
    response = place(client, headers_for("customer"), body)
    assert response.status_code == 400
    assert body_of(response)["errors"][0]["field"] == "items[0].price_cents"


def test_first_request_makes_three_aws_calls(client, headers_for, menu):
    calls = []

    def record(event_name, **_):
        calls.append(event_name.split(".")[-1])

    undo_db = hook("dynamodb", "before-call", record)
    undo_sqs = hook("sqs", "before-call", record)
    try:
        response = place(client, headers_for("customer"), order_body(menu["restaurant_id"], [(menu["burger"], 1)]))
    finally:
        undo_db()
        undo_sqs()
    assert response.status_code == 202
    assert calls == ["BatchGetItem", "PutItem", "SendMessage"]


def test_idempotency_key_is_required_and_validated(client, headers_for, aws, menu):
    body = order_body(menu["restaurant_id"], [(menu["burger"], 1)])
    missing = place(client, headers_for("customer"), body, key=False)
    assert missing.status_code == 400
    assert body_of(missing)["errors"][0]["field"] == "Idempotency-Key"
    for bad in ("short", "has spaces in it", "x" * 129, "semi;colon-key"):
        response = place(client, headers_for("customer"), body, key=bad)
        assert response.status_code == 400, bad


def test_same_key_same_body_replays_other_body_is_422(client, headers_for, aws, menu, pipeline):
    body = order_body(menu["restaurant_id"], [(menu["burger"], 1)])
    first = place(client, headers_for("customer"), body, key="replay-key-0001")
    assert first.status_code == 202
    again = place(client, headers_for("customer"), body, key="replay-key-0001")
    assert again.status_code == 200
    assert again.headers["Idempotent-Replay"] == "true"
    assert body_of(again)["order_id"] == body_of(first)["order_id"]
    other = place(
        client, headers_for("customer"), order_body(menu["restaurant_id"], [(menu["burger"], 2)]), key="replay-key-0001"
    )
    assert other.status_code == 422
    # Another customer with the same key gets their own order.
    theirs = place(client, headers_for("admin"), body, key="replay-key-0001")
    assert theirs.status_code == 202
    assert body_of(theirs)["order_id"] != body_of(first)["order_id"]
    pipeline.drain()
    assert len([k for k in ledger().captures if k == body_of(first)["order_id"]]) == 1


def test_enqueue_failure_is_503_and_the_retry_sends_it(client, headers_for, aws, menu, pipeline):
    pipeline.drain()
    body = order_body(menu["restaurant_id"], [(menu["burger"], 1)])
    undo, calls = throttle("SendMessage", service="sqs", code="ServiceUnavailable")
    try:
        failed = place(client, headers_for("customer"), body, key="enqueue-fails-01")
    finally:
        undo()
    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == "1"
    assert calls["n"] == 1
    order_id = domain.order_id_for(sub_of_client(client, headers_for), "enqueue-fails-01")
    assert order_item(aws, order_id)["status"] == "PENDING", "the order is saved"
    retried = place(client, headers_for("customer"), body, key="enqueue-fails-01")
    assert retried.status_code == 200 and retried.headers["Idempotent-Replay"] == "true"
    pipeline.drain()
    assert order_item(aws, order_id)["status"] == "CONFIRMED"


def sub_of_client(client, headers_for):
    return body_of(client.http.get("/users/me", headers=headers_for("customer")))["user_id"]


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([{"product_id": "p", "quantity": 0}], "items[0].quantity"),
        ([{"product_id": "p", "quantity": 51}], "items[0].quantity"),
        ([], "items"),
        ([{"product_id": f"p{i}", "quantity": 1} for i in range(31)], "items"),
        ([{"product_id": "p", "quantity": "1"}], "items[0].quantity"),
    ],
)
def test_bad_lines_are_400_with_fields(client, headers_for, menu, items, field):
    body = order_body(menu["restaurant_id"], [])
    body["items"] = items
    response = place(client, headers_for("customer"), body)
    assert response.status_code == 400
    assert field in [e["field"] for e in body_of(response)["errors"]]


def test_duplicate_product_lines_are_400(client, headers_for, menu):
    body = order_body(menu["restaurant_id"], [(menu["burger"], 1), (menu["fries"], 1), (menu["burger"], 2)])
    response = place(client, headers_for("customer"), body)
    assert response.status_code == 400
    assert [e["field"] for e in body_of(response)["errors"]] == ["items[2].product_id"]


def test_catalog_problems_write_nothing(client, headers_for, aws, stack, menu):
    other_restaurant = seed_restaurant(aws, sub_of(stack, "owner"))
    foreign = seed_product(aws, other_restaurant)
    off_menu = seed_product(aws, menu["restaurant_id"], available=False)
    closed = seed_restaurant(aws, sub_of(stack, "owner"), is_open=False)
    closed_dish = seed_product(aws, closed)
    cases = [
        (order_body(menu["restaurant_id"], [(menu["burger"], 1), ("prd_nope", 1)]), 404, "items[1].product_id"),
        (order_body(menu["restaurant_id"], [(foreign, 1)]), 404, "items[0].product_id"),
        (order_body(menu["restaurant_id"], [(menu["fries"], 1), (off_menu, 1)]), 409, "items[1].product_id"),
        (order_body(closed, [(closed_dish, 1)]), 422, "restaurant_id"),
        (order_body("rst_unknown", [(menu["burger"], 1)]), 404, "restaurant_id"),
    ]
    customer = sub_of_client(client, headers_for)
    for index, (body, code, field) in enumerate(cases):
        key = f"catalog-problem-{index}-{menu['restaurant_id']}"
        response = place(client, headers_for("customer"), body, key=key)
        assert response.status_code == code, (index, response.body)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert [e["field"] for e in body_of(response)["errors"]] == [field], index
        assert order_item(aws, domain.order_id_for(customer, key)) is None


def test_only_customers_order(client, headers_for, menu):
    response = client.http.post("/orders", headers=headers_for(), body="{}")
    assert response.status_code == 401


# --- processing outcomes ---------------------------------------------------------------------


def test_declined_and_closed_orders_fail_with_a_reason(client, headers_for, aws, menu, pipeline):
    declined = place(
        client, headers_for("customer"), order_body(menu["restaurant_id"], [(menu["burger"], 1)], token="tok_declined")
    )
    pipeline.drain()
    got = order_item(aws, body_of(declined)["order_id"])
    assert (got["status"], got["failure_reason"]) == ("FAILED", "payment_declined")
    assert body_of(declined)["order_id"] not in ledger().captures

    restaurant = seed_restaurant(aws, "someone")
    dish = seed_product(aws, restaurant, stock=3)
    closing = place(client, headers_for("customer"), order_body(restaurant, [(dish, 1)]))
    set_open(aws, restaurant, False)
    pipeline.drain()
    got = order_item(aws, body_of(closing)["order_id"])
    assert (got["status"], got["failure_reason"]) == ("FAILED", "restaurant_closed")
    assert stock_of(aws, dish) == 3

    sold_out = seed_product(aws, menu["restaurant_id"], stock=1)
    too_many = place(client, headers_for("customer"), order_body(menu["restaurant_id"], [(sold_out, 2)]))
    pipeline.drain()
    got = order_item(aws, body_of(too_many)["order_id"])
    assert (got["status"], got["failure_reason"]) == ("FAILED", "out_of_stock")
    assert stock_of(aws, sold_out) == 1


# --- moving an order -------------------------------------------------------------------------


def test_full_flow_with_role_rules(client, headers_for, aws, menu, pipeline, new_user):
    order_id = confirmed_order(client, headers_for, pipeline, menu)
    # Customers cannot move orders; other owners do not see it; couriers cannot accept.
    assert status(client, headers_for, "customer", order_id, "ACCEPTED").status_code == 403
    _, other_owner = new_user("customers", "restaurant_owners")
    assert status(client, headers_for, other_owner, order_id, "ACCEPTED").status_code == 404
    assert status(client, headers_for, "courier", order_id, "ACCEPTED").status_code == 404, "not theirs: 404 first"
    assert status(client, headers_for, "owner", order_id, "READY").status_code == 409
    assert status(client, headers_for, "admin", order_id, "CONFIRMED").status_code == 409

    for target in ("ACCEPTED", "PREPARING", "READY"):
        response = status(client, headers_for, "owner", order_id, target)
        assert response.status_code == 200, response.body
        assert body_of(response)["status"] == target

    on_shift(client, headers_for, "courier")
    ready = body_of(client.http.get("/deliveries?limit=100", headers=headers_for("courier")))["items"]
    assert order_id in [o["order_id"] for o in ready]
    _, other_courier = new_user("customers", "couriers")
    assert status(client, headers_for, "courier", order_id, "PICKED_UP").status_code == 409, "claim first"
    claimed = client.http.post(f"/deliveries/{order_id}/claim", headers=headers_for("courier"))
    assert claimed.status_code == 200, claimed.body
    picked = status(client, headers_for, "courier", order_id, "PICKED_UP")
    assert picked.status_code == 200
    assert (
        body_of(picked)["courier_id"]
        == body_of(client.http.get("/users/me", headers=headers_for("courier")))["user_id"]
    )
    assert status(client, headers_for, other_courier, order_id, "PICKED_UP").status_code == 404
    assert status(client, headers_for, other_courier, order_id, "DELIVERED").status_code == 404
    delivered = status(client, headers_for, "courier", order_id, "DELIVERED")
    assert delivered.status_code == 200
    history = [h["status"] for h in body_of(delivered)["status_history"]]
    assert history == ["PENDING", "CONFIRMED", "ACCEPTED", "PREPARING", "READY", "PICKED_UP", "DELIVERED"]
    # Everyone involved can read it; a stranger cannot.
    for who in ("customer", "owner", "courier", "admin"):
        assert client.http.get(f"/orders/{order_id}", headers=headers_for(who)).status_code == 200, who
    assert client.http.get(f"/orders/{order_id}", headers=headers_for(other_courier)).status_code == 404
    assert client.http.get(f"/orders/{order_id}", headers=headers_for(other_owner)).status_code == 404
    assert client.http.get("/orders/ord_missing", headers=headers_for("admin")).status_code == 404


def test_racing_owners_cannot_both_win(client, headers_for, aws, stack, menu, pipeline):
    from chalicelib.bootstrap import container
    from chalicelib.domain.principal import Principal

    order_id = confirmed_order(client, headers_for, pipeline, menu)
    owner = Principal(user_id=sub_of(stack, "owner"), roles=frozenset({"restaurant_owners"}))
    results = []
    barrier = threading.Barrier(2)

    def move(target):
        barrier.wait()
        try:
            container().orders.change_status(owner, order_id, domain.StatusChange(status=target))
            results.append(target)
        except Conflict:
            results.append("409")

    threads = [threading.Thread(target=move, args=(t,)) for t in ("ACCEPTED", "REJECTED")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("409") == 1, results
    winner = next(r for r in results if r != "409")
    assert order_item(aws, order_id)["status"] == winner


def test_cancel_and_reject_refund_and_restock(client, headers_for, aws, menu, pipeline):
    before = stock_of(aws, menu["burger"])
    cancelled = confirmed_order(client, headers_for, pipeline, menu, quantity=3)
    assert stock_of(aws, menu["burger"]) == before - 3
    response = client.http.post(f"/orders/{cancelled}/cancel", headers=headers_for("customer"))
    assert response.status_code == 200
    assert body_of(response)["status"] == "CANCELLED"
    assert stock_of(aws, menu["burger"]) == before
    assert ledger().refunds[cancelled] == ledger().captures[cancelled]
    assert client.http.post(f"/orders/{cancelled}/cancel", headers=headers_for("customer")).status_code == 409

    rejected = confirmed_order(client, headers_for, pipeline, menu, quantity=2)
    response = status(client, headers_for, "owner", rejected, "REJECTED", reason="out of buns")
    assert response.status_code == 200
    assert body_of(response)["reason"] == "out of buns"
    assert stock_of(aws, menu["burger"]) == before
    assert ledger().refunds[rejected] == ledger().captures[rejected]

    # Redelivered messages of released orders change nothing.
    pipeline_message = {"order_id": rejected, "restaurant_id": menu["restaurant_id"], "product_ids": [menu["burger"]]}
    from chalicelib.bootstrap import container

    assert container().order_processor.process(pipeline_message) == "REJECTED"
    assert stock_of(aws, menu["burger"]) == before

    accepted = confirmed_order(client, headers_for, pipeline, menu)
    assert status(client, headers_for, "owner", accepted, "ACCEPTED").status_code == 200
    assert client.http.post(f"/orders/{accepted}/cancel", headers=headers_for("customer")).status_code == 409
    assert client.http.post(f"/orders/{accepted}/cancel", headers=headers_for("courier")).status_code in (403, 404)


def test_cancel_while_pending_voids_nothing_and_is_final(client, headers_for, aws, menu, pipeline):
    pipeline.drain()
    response = place(client, headers_for("customer"), order_body(menu["restaurant_id"], [(menu["burger"], 1)]))
    order_id = body_of(response)["order_id"]
    before = stock_of(aws, menu["burger"])
    assert client.http.post(f"/orders/{order_id}/cancel", headers=headers_for("customer")).status_code == 200
    pipeline.drain()
    assert order_item(aws, order_id)["status"] == "CANCELLED"
    assert stock_of(aws, menu["burger"]) == before
    assert order_id not in ledger().captures


# --- lists -----------------------------------------------------------------------------------


def test_lists_are_scoped_and_ordered(client, headers_for, aws, stack, menu, pipeline, new_user):
    _, customer = new_user("customers")
    ids = []
    for quantity in (1, 2, 3):
        response = place(client, headers_for(customer), order_body(menu["restaurant_id"], [(menu["fries"], quantity)]))
        ids.append(body_of(response)["order_id"])
    pipeline.drain()
    status(client, headers_for, "owner", ids[0], "REJECTED")

    mine = body_of(client.http.get("/orders?limit=2", headers=headers_for(customer)))
    assert [o["order_id"] for o in mine["items"]] == [ids[2], ids[1]]
    rest = body_of(client.http.get(f"/orders?limit=2&cursor={mine['next_cursor']}", headers=headers_for(customer)))
    assert [o["order_id"] for o in rest["items"]] == [ids[0]]
    rejected = body_of(client.http.get("/orders?status=REJECTED", headers=headers_for(customer)))
    assert [o["order_id"] for o in rejected["items"]] == [ids[0]]
    assert client.http.get("/orders?status=NOPE", headers=headers_for(customer)).status_code == 400
    assert client.http.get("/orders?cursor=forged.cursor", headers=headers_for(customer)).status_code == 400

    path = f"/restaurants/{menu['restaurant_id']}/orders?limit=100&status=CONFIRMED"
    listed = body_of(client.http.get(path, headers=headers_for("owner")))["items"]
    assert {ids[1], ids[2]} <= {o["order_id"] for o in listed}
    assert all(o["status"] == "CONFIRMED" for o in listed)
    stamps = [o["created_at"] for o in listed]
    assert stamps == sorted(stamps, reverse=True)
    assert client.http.get(path, headers=headers_for("admin")).status_code == 200
    _, stranger = new_user("customers", "restaurant_owners")
    assert client.http.get(path, headers=headers_for(stranger)).status_code == 404
    assert client.http.get(path, headers=headers_for("courier")).status_code == 403
    unknown = "/restaurants/no-such-restaurant/orders"
    assert client.http.get(unknown, headers=headers_for("admin")).status_code == 404
    assert client.http.get("/deliveries", headers=headers_for("customer")).status_code == 403


def test_deliveries_are_oldest_first(client, headers_for, menu, pipeline):
    ids = [confirmed_order(client, headers_for, pipeline, menu, quantity=1) for _ in range(2)]
    for order_id in ids:
        for target in ("ACCEPTED", "PREPARING", "READY"):
            assert status(client, headers_for, "owner", order_id, target).status_code == 200
    on_shift(client, headers_for, "courier")
    ready = body_of(client.http.get("/deliveries?limit=100", headers=headers_for("courier")))["items"]
    positions = [o["order_id"] for o in ready]
    assert positions.index(ids[0]) < positions.index(ids[1])
    stamps = [o["created_at"] for o in ready]
    assert stamps == sorted(stamps)
    assert all(o["status"] == "READY" for o in ready)
