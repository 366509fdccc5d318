"""Promo codes against the emulator: admins create, list and withdraw them; placement
refuses a code that does not apply (writing nothing); the confirming transaction counts
each use, so a race never redeems more than allowed; a released order gives its use back."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from chalicelib.domain import orders as domain
from chalicelib.domain import promos
from tests.ordering import (
    ADDRESS,
    body_of,
    hook,
    ledger,
    new_customer,
    order_body,
    order_item,
    place,
    seed_product,
    seed_restaurant,
    sub_of,
    table,
)


@pytest.fixture(scope="module")
def pipeline(stack):
    from devtools.pipeline import Pipeline

    pipe = Pipeline(stack["env"], stream_start="LATEST", sweep_every=0)
    pipe.prepare()
    return pipe


@pytest.fixture
def menu(stack, aws):
    restaurant_id = seed_restaurant(aws, sub_of(stack, "owner"), delivery_fee_cents=200, tax_rate="0.1")
    return {"restaurant_id": restaurant_id, "dish": seed_product(aws, restaurant_id, price_cents=1000)}


def new_code(client, headers_for, **fields):
    body = {"code": f"T{uuid.uuid4().hex[:10]}", "percent_off": 10, **fields}
    response = client.http.post("/promo-codes", headers=headers_for("admin"), body=json.dumps(body))
    assert response.status_code == 201, response.body
    return body_of(response)


def code_item(aws, code, scope=promos.DEFINITION):
    out = aws("dynamodb").get_item(
        TableName=table("promo_codes"), Key={"code": {"S": code}, "scope": {"S": scope}}, ConsistentRead=True
    )
    return out.get("Item")


def uses(aws, code, scope=promos.DEFINITION) -> int:
    item = code_item(aws, code, scope)
    return int(item["uses"]["N"]) if item else 0


def orders_of(aws, customer_id):
    out = aws("dynamodb").query(
        TableName=table("orders"),
        IndexName="by_customer",
        KeyConditionExpression="customer_id = :c",
        ExpressionAttributeValues={":c": {"S": customer_id}},
    )
    return out["Items"]


def service():
    from chalicelib.bootstrap import container

    return container().orders


def place_as(who, restaurant_id, dish, code, quantity=2):
    cmd = domain.PlaceOrder.model_validate(
        {
            "restaurant_id": restaurant_id,
            "items": [{"product_id": dish, "quantity": quantity}],
            "delivery_address": ADDRESS,
            "payment_token": "tok_visa",
            "promo_code": code,
        }
    )
    return service().place(who, f"key-{uuid.uuid4().hex}", cmd).order


def settle(aws, order_ids, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        orders = [order_item(aws, oid) for oid in order_ids]
        if all(o["status"] != "PENDING" for o in orders):
            return orders
        time.sleep(0.2)
    raise AssertionError("orders still PENDING")


# --- administration ------------------------------------------------------------------------


def test_admins_create_list_and_withdraw_codes(client, headers_for, aws):
    older = new_code(client, headers_for)["code"]
    created = new_code(
        client,
        headers_for,
        code="spring-" + uuid.uuid4().hex[:6],
        percent_off=None,
        amount_off_cents=500,
        min_subtotal_cents=2000,
        max_uses=100,
        max_uses_per_customer=2,
        ends_at="2030-01-01T00:00:00+02:00",
    )
    code = created["code"]
    assert code == code.upper() and created["uses"] == 0 and created["ends_at"] == "2029-12-31T22:00:00.000Z"
    again = client.http.post(
        "/promo-codes", headers=headers_for("admin"), body=json.dumps({"code": code.lower(), "percent_off": 5})
    )
    assert again.status_code == 409

    first = body_of(client.http.get("/promo-codes?limit=1", headers=headers_for("admin")))
    assert [c["code"] for c in first["items"]] == [code] and first["next_cursor"]  # newest first
    rest = body_of(
        client.http.get(f"/promo-codes?limit=100&cursor={first['next_cursor']}", headers=headers_for("admin"))
    )
    assert code not in [c["code"] for c in rest["items"]] and older in [c["code"] for c in rest["items"]]

    for who in ("customer", "owner", "courier"):
        assert client.http.get("/promo-codes", headers=headers_for(who)).status_code == 403
        denied = client.http.post("/promo-codes", headers=headers_for(who), body=json.dumps({"code": "X" + code}))
        assert denied.status_code == 403
        assert client.http.delete(f"/promo-codes/{code}", headers=headers_for(who)).status_code == 403
    bad = client.http.post("/promo-codes", headers=headers_for("admin"), body=json.dumps({"code": "NOPE1"}))
    assert bad.status_code == 400

    assert client.http.delete(f"/promo-codes/{code.lower()}", headers=headers_for("admin")).status_code == 204
    assert client.http.delete(f"/promo-codes/{code}", headers=headers_for("admin")).status_code == 404
    listed = body_of(client.http.get("/promo-codes?limit=100", headers=headers_for("admin")))
    assert code not in [c["code"] for c in listed["items"]]
    # The name stays taken: a new code would inherit the old one's per-customer counts.
    reuse = client.http.post(
        "/promo-codes", headers=headers_for("admin"), body=json.dumps({"code": code, "percent_off": 5})
    )
    assert reuse.status_code == 409


# --- placement -----------------------------------------------------------------------------


def test_the_discount_is_shown_and_charged(client, headers_for, aws, menu, pipeline):
    code = new_code(client, headers_for, percent_off=15)["code"]
    body = order_body(menu["restaurant_id"], [(menu["dish"], 3)], promo_code=code.lower(), tip_cents=100)
    response = place(client, headers_for("customer"), body)
    assert response.status_code == 202, response.body
    placed = body_of(response)
    # 3000 - 450 + 200 = 2750 taxable at 10 %.
    assert (placed["subtotal_cents"], placed["discount_cents"], placed["tax_cents"]) == (3000, 450, 275)
    assert placed["total_cents"] == 3000 + 200 + 275 + 100 - 450 and placed["promo_code"] == code
    pipeline.drain()
    got = body_of(client.http.get(f"/orders/{placed['order_id']}", headers=headers_for("customer")))
    assert got["status"] == "CONFIRMED" and got["discount_cents"] == 450
    assert ledger().captures[placed["order_id"]] == placed["total_cents"]
    assert uses(aws, code) == 1


@pytest.mark.parametrize(
    ("fields", "slug"),
    [
        (None, "promo_code_unknown"),
        ({"starts_at": "2099-01-01T00:00:00Z"}, "promo_code_not_yet_valid"),
        ({"ends_at": "2020-01-01T00:00:00Z"}, "promo_code_expired"),
        ({"restaurant_ids": ["rst_elsewhere"]}, "promo_code_wrong_restaurant"),
        ({"min_subtotal_cents": 5000}, "promo_code_below_minimum"),
        ("withdrawn", "promo_code_unknown"),
    ],
)
def test_a_code_that_does_not_apply_is_refused_and_nothing_is_written(
    client, headers_for, aws, menu, stack, fields, slug
):
    if fields is None:
        code = "NOSUCHCODE"
    elif fields == "withdrawn":
        code = new_code(client, headers_for)["code"]
        assert client.http.delete(f"/promo-codes/{code}", headers=headers_for("admin")).status_code == 204
    else:
        code = new_code(client, headers_for, **fields)["code"]
    before = len(orders_of(aws, sub_of(stack, "customer")))
    body = order_body(menu["restaurant_id"], [(menu["dish"], 2)], promo_code=code)
    response = place(client, headers_for("customer"), body)
    assert response.status_code == 422, response.body
    problem = body_of(response)
    assert problem["type"].endswith(f"/{slug}") and problem["errors"][0]["field"] == "promo_code"
    assert len(orders_of(aws, sub_of(stack, "customer"))) == before


def test_below_the_restaurants_minimum_is_refused(client, headers_for, aws, stack):
    restaurant_id = seed_restaurant(aws, sub_of(stack, "owner"), min_order_cents=1500)
    dish = seed_product(aws, restaurant_id, price_cents=700)
    before = len(orders_of(aws, sub_of(stack, "customer")))
    response = place(client, headers_for("customer"), order_body(restaurant_id, [(dish, 2)]))
    assert response.status_code == 422 and body_of(response)["type"].endswith("/below_minimum_order")
    assert len(orders_of(aws, sub_of(stack, "customer"))) == before
    assert place(client, headers_for("customer"), order_body(restaurant_id, [(dish, 3)])).status_code == 202


# --- redemption in the confirming transaction ----------------------------------------------


def test_a_race_for_five_uses_confirms_exactly_five(client, headers_for, aws, menu, pipeline, stack):
    pipeline.drain()
    code = new_code(client, headers_for, max_uses=5, percent_off=20)["code"]
    runner = type(pipeline)(stack["env"], stream_start="LATEST", sweep_every=0)
    placed: list[str] = []
    lock = threading.Lock()

    def order_one(n):
        order = place_as(new_customer(n), menu["restaurant_id"], menu["dish"], code)
        with lock:
            placed.append(order.order_id)

    threads = [threading.Thread(target=order_one, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(placed) == 30  # every placement saw uses left: the transaction decides
    runner.start()
    try:
        orders = settle(aws, placed)
    finally:
        runner.stop()
    confirmed = [o for o in orders if o["status"] == "CONFIRMED"]
    failed = [o for o in orders if o["status"] == "FAILED"]
    assert len(confirmed) == 5 and all(o["discount_cents"] == 400 for o in confirmed)
    assert len(failed) == 25 and {o["failure_reason"] for o in failed} == {"promo_code_exhausted"}
    assert uses(aws, code) == 5
    book = ledger()
    assert sum(book.captures.get(o["order_id"], 0) for o in confirmed) == 5 * (2000 + 200 + 180 - 400)
    assert not any(o["order_id"] in book.captures for o in failed)
    # What was authorized for them was released.
    assert all(o["order_id"] in book.voids for o in failed if o["order_id"] in book.authorizations)

    # Cancelling a confirmed order gives its use back: one more order can have it.
    winner = next(o for o in confirmed)
    who = domain.Order.from_item(winner).customer_id
    from chalicelib.domain.principal import Principal

    cancelled = service().cancel(Principal(user_id=who, roles=frozenset({"customers"})), winner["order_id"])
    assert cancelled.status == "CANCELLED" and uses(aws, code) == 4
    late = place_as(new_customer(99), menu["restaurant_id"], menu["dish"], code)
    pipeline.drain()
    assert order_item(aws, late.order_id)["status"] == "CONFIRMED" and uses(aws, code) == 5
    refused = place(
        client, headers_for("customer"), order_body(menu["restaurant_id"], [(menu["dish"], 2)], promo_code=code)
    )
    assert refused.status_code == 422 and body_of(refused)["type"].endswith("/promo_code_exhausted")


def test_the_per_customer_limit_holds_at_placement_and_in_a_race(client, headers_for, aws, menu, pipeline):
    pipeline.drain()
    code = new_code(client, headers_for, max_uses_per_customer=1)["code"]
    who = new_customer()
    first, second = (place_as(who, menu["restaurant_id"], menu["dish"], code) for _ in range(2))
    pipeline.drain()
    statuses = sorted(
        (order_item(aws, o.order_id)["status"], order_item(aws, o.order_id).get("failure_reason"))
        for o in (first, second)
    )
    assert statuses == [("CONFIRMED", None), ("FAILED", "promo_code_exhausted")]
    assert uses(aws, code) == 1 and uses(aws, code, promos.customer_scope(who.user_id)) == 1
    with pytest.raises(Exception) as refused:
        place_as(who, menu["restaurant_id"], menu["dish"], code)
    assert getattr(refused.value, "type", None) == "promo_code_exhausted"
    # Another customer still has theirs.
    other = place_as(new_customer(), menu["restaurant_id"], menu["dish"], code)
    pipeline.drain()
    assert order_item(aws, other.order_id)["status"] == "CONFIRMED" and uses(aws, code) == 2


def test_a_rejected_order_gives_its_use_back_to_the_customer(client, headers_for, aws, menu, pipeline, stack):
    from chalicelib.domain.principal import Principal

    pipeline.drain()
    code = new_code(client, headers_for, max_uses=10, max_uses_per_customer=1)["code"]
    who = new_customer()
    order = place_as(who, menu["restaurant_id"], menu["dish"], code)
    pipeline.drain()
    assert uses(aws, code, promos.customer_scope(who.user_id)) == 1
    owner = Principal(user_id=sub_of(stack, "owner"), roles=frozenset({"restaurant_owners"}))
    service().change_status(owner, order.order_id, domain.StatusChange(status="REJECTED"))
    assert uses(aws, code) == 0 and uses(aws, code, promos.customer_scope(who.user_id)) == 0
    assert ledger().refunds.get(order.order_id) or ledger().voids.get(order.order_id) is not None
    again = place_as(who, menu["restaurant_id"], menu["dish"], code)
    pipeline.drain()
    assert order_item(aws, again.order_id)["status"] == "CONFIRMED"


def test_a_quote_prices_as_placement_does_and_writes_nothing(client, headers_for, aws, menu, stack):
    code = new_code(client, headers_for, amount_off_cents=300, percent_off=None, max_uses=1)["code"]
    draft = {"restaurant_id": menu["restaurant_id"], "items": [{"product_id": menu["dish"], "quantity": 2}]}
    before = len(orders_of(aws, sub_of(stack, "customer")))
    quoted = client.http.post(
        "/orders/quote",
        headers=headers_for("customer"),
        body=json.dumps({**draft, "tip_cents": 250, "promo_code": code}),
    )
    assert quoted.status_code == 200, quoted.body
    quote = body_of(quoted)
    # 2000 - 300 + 200 = 1900 taxable at 10 %.
    assert {k: v for k, v in quote.items() if k.endswith("_cents")} == {
        "subtotal_cents": 2000,
        "delivery_fee_cents": 200,
        "service_fee_cents": 0,
        "tax_cents": 190,
        "tip_cents": 250,
        "discount_cents": 300,
        "total_cents": 2340,
    }
    assert len(orders_of(aws, sub_of(stack, "customer"))) == before and uses(aws, code) == 0
    placed = place(
        client,
        headers_for("customer"),
        order_body(menu["restaurant_id"], [(menu["dish"], 2)], tip_cents=250, promo_code=code),
    )
    assert placed.status_code == 202 and body_of(placed)["total_cents"] == quote["total_cents"]
    unknown = client.http.post(
        "/orders/quote", headers=headers_for("customer"), body=json.dumps({**draft, "promo_code": "NOPE-NOPE"})
    )
    assert unknown.status_code == 422 and body_of(unknown)["type"].endswith("/promo_code_unknown")
    assert client.http.post("/orders/quote", headers=headers_for(), body=json.dumps(draft)).status_code == 401


def test_restaurants_take_and_show_their_terms(client, headers_for, stack):
    body = {
        "name": "Terms Diner",
        "city": "Austin",
        "cuisine": "diner",
        "address": "1 Congress Ave",
        "owner_id": sub_of(stack, "owner"),
        "delivery_fee_cents": 249,
        "delivery_fee_per_km_cents": 30,
        "service_fee_rate": 0.05,
        "min_order_cents": 1200,
        "tax_rate": "0.0825",
    }
    created = client.http.post("/restaurants", headers=headers_for("admin"), body=json.dumps(body))
    assert created.status_code == 201, created.body
    restaurant = body_of(created)
    terms = {k: restaurant[k] for k in ("delivery_fee_cents", "delivery_fee_per_km_cents", "min_order_cents")}
    assert terms == {"delivery_fee_cents": 249, "delivery_fee_per_km_cents": 30, "min_order_cents": 1200}
    assert (restaurant["tax_rate"], restaurant["service_fee_rate"]) == ("0.0825", "0.05")
    path = f"/restaurants/{restaurant['restaurant_id']}"
    bad = client.http.patch(path, headers=headers_for("owner"), body=json.dumps({"tax_rate": "0.26"}))
    assert bad.status_code == 400 and body_of(bad)["errors"][0]["field"] == "tax_rate"
    changed = client.http.patch(
        path, headers=headers_for("owner"), body=json.dumps({"tax_rate": 0, "min_order_cents": 0})
    )
    assert changed.status_code == 200 and (body_of(changed)["tax_rate"], body_of(changed)["min_order_cents"]) == (
        "0",
        0,
    )
    shown = body_of(client.http.get(path))
    assert shown["tax_rate"] == "0" and shown["delivery_fee_cents"] == 249


def test_a_code_costs_no_extra_round_trip(client, headers_for, menu):
    code = new_code(client, headers_for, max_uses_per_customer=3)["code"]
    calls: list[str] = []

    def record(event_name, **_):
        calls.append(event_name.split(".")[-1])

    undo_db, undo_sqs = hook("dynamodb", "before-call", record), hook("sqs", "before-call", record)
    try:
        body = order_body(menu["restaurant_id"], [(menu["dish"], 2)], promo_code=code)
        placed = place(client, headers_for("customer"), body)
    finally:
        undo_db()
        undo_sqs()
    assert placed.status_code == 202 and body_of(placed)["discount_cents"] == 200
    assert calls == ["BatchGetItem", "PutItem", "SendMessage"]
    calls.clear()
    draft = {k: body[k] for k in ("restaurant_id", "items", "promo_code")}
    undo_db = hook("dynamodb", "before-call", record)
    try:
        assert (
            client.http.post("/orders/quote", headers=headers_for("customer"), body=json.dumps(draft)).status_code
            == 200
        )
    finally:
        undo_db()
    assert calls == ["BatchGetItem"]


def test_a_code_withdrawn_before_confirmation_fails_the_order_uncharged(client, headers_for, aws, menu, pipeline):
    pipeline.drain()
    code = new_code(client, headers_for)["code"]
    order = place_as(new_customer(), menu["restaurant_id"], menu["dish"], code)
    assert client.http.delete(f"/promo-codes/{code}", headers=headers_for("admin")).status_code == 204
    pipeline.drain()
    stored = order_item(aws, order.order_id)
    assert (stored["status"], stored["failure_reason"]) == ("FAILED", "promo_code_exhausted")
    assert order.order_id not in ledger().captures and uses(aws, code) == 0
