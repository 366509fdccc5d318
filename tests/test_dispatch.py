"""Dispatch against the emulator: couriers' shifts, offers, the claim race between real
users of the pool, claimant-only moves, an admin's unassignment, and the courier's position
(rate-limited, shown between pickup and delivery only, pushed over real sockets)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.domain.zones import cell_of
from tests.ordering import ADDRESS, body_of, order_body, order_item, place, seed_product, seed_restaurant, table

HOME = ADDRESS  # inside the test kitchen's delivery area
NEAR = {"lat": round(HOME["lat"] + 0.0027, 7), "lng": HOME["lng"]}  # ~0.3 km from HOME
FAR = {"lat": round(HOME["lat"] + 0.072, 7), "lng": HOME["lng"]}  # ~8 km from HOME


@pytest.fixture(scope="module")
def bridge(stack: dict[str, Any]) -> Iterator[Any]:
    from chalicelib import bootstrap
    from devtools.websocket_bridge import WebSocketBridge

    running = WebSocketBridge().start()
    os.environ.update(running.env)
    bootstrap.reset()
    yield running
    running.stop()
    for name in running.env:
        os.environ.pop(name, None)
    bootstrap.reset()


@pytest.fixture(scope="module")
def pipeline(stack: dict[str, Any], bridge: Any) -> Any:
    from devtools.pipeline import Pipeline

    pipe = Pipeline(stack["env"], stream_start="LATEST", sweep_every=0)
    pipe.prepare()
    pipe.drain()
    pipe.drain_stream()
    return pipe


@pytest.fixture(scope="module")
def people(new_user: Any, token_for: Any) -> dict[str, tuple[str, str]]:
    """Fresh users per role: (user_id, ID token)."""
    made = {}
    for name, group in [
        ("customer", "customers"),
        ("owner", "restaurant_owners"),
        ("courier", "couriers"),
        ("rival", "couriers"),
        ("off_shift", "couriers"),
        ("admin", "admins"),
    ]:
        user_id, email = new_user(group)
        made[name] = (user_id, token_for(email))
    return made


_LAST_CLOCK = [0.0]


@pytest.fixture
def clock() -> Iterator[list[float]]:
    """The dispatch service's clock, moved by hand (the rate limit counts seconds)."""
    import time

    from chalicelib.bootstrap import container

    dispatch = container().dispatch
    now = [max(time.time(), _LAST_CLOCK[0])]
    original = dispatch._clock
    dispatch._clock = lambda: now[0]
    yield now
    dispatch._clock = original
    _LAST_CLOCK[0] = now[0] + 10


def auth(token: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}


def call(client: Any, method: str, path: str, token: str, body: Any = None) -> Any:
    data = json.dumps(body) if body is not None else None
    return getattr(client.http, method)(path, headers=auth(token), body=data)


def set_available(client: Any, token: str, available: bool) -> dict[str, Any]:
    response = call(client, "put", "/couriers/me", token, {"available": available})
    assert response.status_code == 200, response.body
    return body_of(response)


def ready_order(
    client: Any, aws: Any, pipeline: Any, people: dict[str, tuple[str, str]], location: dict | None = None
) -> str:
    # A restaurant away from the kitchen delivers as far as the longest radius allows.
    placed_at = {"location": location, "geo_cell": cell_of(location), "delivery_radius_km": 15} if location else {}
    restaurant = seed_restaurant(aws, people["owner"][0], **placed_at)
    dish = seed_product(aws, restaurant)
    body = {**order_body(restaurant, [(dish, 1)]), "delivery_address": HOME}
    placed = place(client, auth(people["customer"][1]), body)
    assert placed.status_code == 202, placed.body
    order_id = body_of(placed)["order_id"]
    pipeline.drain()
    for target in ("ACCEPTED", "PREPARING", "READY"):
        moved = call(client, "post", f"/orders/{order_id}/status", people["owner"][1], {"status": target})
        assert moved.status_code == 200, moved.body
    return order_id


def offers(client: Any, token: str) -> list[dict[str, Any]]:
    response = call(client, "get", "/deliveries?limit=100", token)
    assert response.status_code == 200, response.body
    return body_of(response)["items"]


def problem_type(response: Any) -> str:
    return body_of(response)["type"].rsplit("/", 1)[-1]


def test_ten_couriers_race_for_one_order_and_one_wins(client, aws, pipeline, people, new_user, token_for):
    from chalicelib.bootstrap import container
    from chalicelib.domain.errors import ChowlineError
    from chalicelib.domain.principal import Principal

    order_id = ready_order(client, aws, pipeline, people)
    couriers = []
    for _ in range(10):
        user_id, email = new_user("couriers")
        set_available(client, token_for(email), True)
        couriers.append(Principal(user_id=user_id, roles=frozenset({"couriers"})))
    barrier = threading.Barrier(len(couriers))
    outcomes: dict[str, int] = {}

    def claim(courier: Principal) -> None:
        barrier.wait()
        try:
            container().dispatch.claim(courier, order_id)
            outcomes[courier.user_id] = 200
        except ChowlineError as refused:
            outcomes[courier.user_id] = refused.status

    threads = [threading.Thread(target=claim, args=(c,)) for c in couriers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == [200] + [409] * 9, outcomes
    winner = next(user_id for user_id, status in outcomes.items() if status == 200)
    assert order_item(aws, order_id)["courier_id"] == winner

    # Over HTTP: the claimant asking again gets the same 200; anyone else a 409 problem.
    set_available(client, people["rival"][1], True)
    lost = call(client, "post", f"/deliveries/{order_id}/claim", people["rival"][1])
    assert lost.status_code == 409 and problem_type(lost) == "delivery-taken"
    assert call(client, "post", "/deliveries/ord_nope/claim", people["rival"][1]).status_code == 404
    assert order_id not in [o["order_id"] for o in offers(client, people["rival"][1])], "claimed: no longer offered"


def test_an_unavailable_courier_is_offered_nothing(client, aws, pipeline, people):
    token = people["off_shift"][1]
    assert body_of(call(client, "get", "/couriers/me", token))["available"] is False
    set_available(client, token, False)
    order_id = ready_order(client, aws, pipeline, people)
    listed = call(client, "get", "/deliveries", token)
    assert listed.status_code == 409 and problem_type(listed) == "courier-unavailable"
    claimed = call(client, "post", f"/deliveries/{order_id}/claim", token)
    assert claimed.status_code == 409 and problem_type(claimed) == "courier-unavailable"
    assert "courier_id" not in order_item(aws, order_id)
    on = set_available(client, token, True)
    assert on["available"] is True and on["updated_at"]
    assert order_id in [o["order_id"] for o in offers(client, token)]
    set_available(client, token, False)
    assert call(client, "get", "/deliveries", token).status_code == 409


def test_only_the_claimant_picks_up_and_delivers_and_an_admin_can_unassign(client, aws, pipeline, people):
    courier, rival, admin = people["courier"][1], people["rival"][1], people["admin"][1]
    set_available(client, courier, True)
    set_available(client, rival, True)
    order_id = ready_order(client, aws, pipeline, people)

    def move(token: str, target: str) -> Any:
        return call(client, "post", f"/orders/{order_id}/status", token, {"status": target})

    unclaimed = move(courier, "PICKED_UP")
    assert unclaimed.status_code == 409 and "claim" in body_of(unclaimed)["detail"].lower()
    claimed = call(client, "post", f"/deliveries/{order_id}/claim", courier)
    assert claimed.status_code == 200, claimed.body
    assert body_of(claimed)["courier_id"] == people["courier"][0] and body_of(claimed)["claimed_at"]
    assert call(client, "get", f"/orders/{order_id}", courier).status_code == 200, "its courier sees it"
    assert call(client, "get", f"/orders/{order_id}", rival).status_code == 404
    assert move(rival, "PICKED_UP").status_code == 404

    # An admin puts it back on offer; the rival claims it now, the first courier has lost it.
    assert call(client, "delete", f"/deliveries/{order_id}/claim", courier).status_code == 403
    unassigned = call(client, "delete", f"/deliveries/{order_id}/claim", admin)
    assert unassigned.status_code == 200 and body_of(unassigned).get("courier_id") is None
    assert call(client, "delete", f"/deliveries/{order_id}/claim", admin).status_code == 409
    assert order_id in [o["order_id"] for o in offers(client, courier)]
    assert call(client, "post", f"/deliveries/{order_id}/claim", rival).status_code == 200
    assert move(courier, "PICKED_UP").status_code == 404
    assert move(rival, "PICKED_UP").status_code == 200
    assert move(courier, "DELIVERED").status_code == 404
    assert call(client, "delete", f"/deliveries/{order_id}/claim", admin).status_code == 409, "picked up: too late"
    delivered = move(rival, "DELIVERED")
    assert delivered.status_code == 200 and body_of(delivered)["courier_id"] == people["rival"][0]


def test_offers_are_nearest_first_once_the_courier_has_a_position(client, aws, pipeline, people, clock):
    token = people["courier"][1]
    set_available(client, token, True)
    far = ready_order(client, aws, pipeline, people, location=FAR)
    near = ready_order(client, aws, pipeline, people, location=NEAR)
    listed = [o["order_id"] for o in offers(client, token)]
    assert listed.index(far) < listed.index(near), "no position yet: oldest first"
    clock[0] += 60
    assert (
        call(client, "put", "/couriers/me/location", token, {"lat": HOME["lat"], "lng": HOME["lng"]}).status_code == 200
    )
    ranked = offers(client, token)
    ids = [o["order_id"] for o in ranked]
    assert ids.index(near) < ids.index(far)
    distances = {o["order_id"]: o["pickup_distance_km"] for o in ranked if o["order_id"] in (near, far)}
    assert 0.2 < distances[near] < 0.5 and 7 < distances[far] < 10
    me = body_of(call(client, "get", "/couriers/me", token))
    assert me["location"]["lat"] == HOME["lat"]


def test_offers_are_one_round_trip_and_each_pickup_is_located_once(client, aws, pipeline, people, clock):
    """The courier's records and the READY queue are read at the same time (each Query waits
    here until the other has been sent: read one after the other, the first would wait
    alone and the request fail); the restaurants' locations are read once, then cached."""
    from chalicelib.bootstrap import container
    from tests.catalog_support import dynamodb_calls

    token = people["courier"][1]
    set_available(client, token, True)
    clock[0] += 60
    assert (
        call(client, "put", "/couriers/me/location", token, {"lat": HOME["lat"], "lng": HOME["lng"]}).status_code == 200
    )
    near, far = (ready_order(client, aws, pipeline, people, location=place) for place in (NEAR, FAR))

    others = set(threading.enumerate()) - {threading.current_thread()}
    both_sent = threading.Barrier(2, timeout=5)

    def meet(**_: Any) -> None:
        if threading.current_thread() not in others:
            both_sent.wait()

    events = container().clients.get("dynamodb").meta.events
    events.register("before-call.dynamodb.Query", meet, unique_id="offers-meet")
    try:
        with dynamodb_calls() as first_calls:
            first = offers(client, token)
        with dynamodb_calls() as second_calls:
            second = offers(client, token)
    finally:
        events.unregister("before-call.dynamodb.Query", unique_id="offers-meet")

    assert sorted(first_calls) == ["BatchGetItem", "Query", "Query"]
    assert second_calls == ["Query", "Query"]  # the pickups' locations come from the cache
    for ranked in (first, second):
        ids = [o["order_id"] for o in ranked]
        assert ids.index(near) < ids.index(far)


def test_the_position_is_shown_between_pickup_and_delivery_only_and_pushed(
    client, aws, bridge, pipeline, people, clock
):
    from websockets.sync.client import connect

    courier, customer, owner = people["courier"][1], people["customer"][1], people["owner"][1]
    set_available(client, courier, True)
    order_id = ready_order(client, aws, pipeline, people)
    assert call(client, "post", f"/deliveries/{order_id}/claim", courier).status_code == 200

    def report(lat: float, lng: float) -> Any:
        clock[0] += 6
        return call(client, "put", "/couriers/me/location", courier, {"lat": lat, "lng": lng})

    def view(token: str) -> dict[str, Any]:
        return body_of(call(client, "get", f"/orders/{order_id}", token))

    before = report(NEAR["lat"], NEAR["lng"])
    assert before.status_code == 200 and body_of(before)["orders"] == [], "not carried yet: written nowhere"
    assert "courier_location" not in view(customer) and "eta" not in view(customer)

    moved = call(client, "post", f"/orders/{order_id}/status", courier, {"status": "PICKED_UP"})
    assert moved.status_code == 200
    pipeline.drain_stream()
    sockets = {
        name: connect(f"{bridge.url}/?token={people[name][1]}", open_timeout=10)
        for name in ("customer", "owner", "rival")
    }
    try:
        carried = report(NEAR["lat"], NEAR["lng"])
        assert body_of(carried)["orders"] == [order_id]
        too_soon = call(client, "put", "/couriers/me/location", courier, {"lat": 1.0, "lng": 1.0})
        assert too_soon.status_code == 429 and int(too_soon.headers["Retry-After"]) >= 1
        pipeline.drain_stream()
        got = {name: frames(ws) for name, ws in sockets.items()}
    finally:
        for ws in sockets.values():
            ws.close()
    for who in (customer, owner, courier, people["admin"][1]):
        shown = view(who)
        assert shown["courier_location"]["lat"] == NEAR["lat"] and shown["courier_location"]["at"]
        assert shown["eta"] > shown["courier_location"]["at"]
    for name in ("customer", "owner"):
        pushed = [f for f in got[name] if f["type"] == "courier.location"]
        assert len(pushed) == 1, got[name]
        assert pushed[0]["courier_location"]["lng"] == NEAR["lng"] and pushed[0]["eta"]
    assert got["rival"] == []
    inbox = body_of(call(client, "get", "/users/me/notifications?limit=50", customer))["items"]
    assert "courier.location" not in {n["kind"] for n in inbox}, "positions make no inbox entries"

    assert call(client, "post", f"/orders/{order_id}/status", courier, {"status": "DELIVERED"}).status_code == 200
    after = view(customer)
    assert "courier_location" not in after and "eta" not in after
    assert "courier_location" not in order_item(aws, order_id), "dropped from the item, not only hidden"
    assert body_of(report(FAR["lat"], FAR["lng"]))["orders"] == []


def test_position_reports_are_validated_and_for_couriers_only(client, people):
    courier = people["courier"][1]
    for bad in ({"lat": 91, "lng": 0}, {"lat": 0}, {"lat": "1", "lng": 2}, {"lat": 0, "lng": 0, "x": 1}):
        assert call(client, "put", "/couriers/me/location", courier, bad).status_code == 400, bad
    assert call(client, "put", "/couriers/me", courier, {"available": "yes"}).status_code == 400
    assert call(client, "put", "/couriers/me", people["customer"][1], {"available": True}).status_code == 403
    assert call(client, "put", "/couriers/me/location", people["owner"][1], {"lat": 0, "lng": 0}).status_code == 403


def frames(ws: Any, wait: float = 0.5) -> list[dict[str, Any]]:
    got = []
    while True:
        try:
            got.append(json.loads(ws.recv(timeout=wait)))
        except TimeoutError:
            return got


def test_the_live_channel_offers_to_couriers_on_shift_only(client, aws, bridge, pipeline, people):
    from websockets.sync.client import connect

    set_available(client, people["courier"][1], True)
    set_available(client, people["rival"][1], True)
    set_available(client, people["off_shift"][1], False)
    names = ("courier", "rival", "off_shift")
    pipeline.drain_stream()
    sockets = {name: connect(f"{bridge.url}/?token={people[name][1]}", open_timeout=10) for name in names}
    try:
        order_id = ready_order(client, aws, pipeline, people)
        pipeline.drain_stream()
        assert call(client, "post", f"/deliveries/{order_id}/claim", people["rival"][1]).status_code == 200
        pipeline.drain_stream()
        got = {name: [(f["type"], f["order_id"]) for f in frames(ws)] for name, ws in sockets.items()}
    finally:
        for ws in sockets.values():
            ws.close()
    assert got["courier"] == [("delivery.available", order_id), ("delivery.taken", order_id)]
    assert got["rival"] == [("delivery.available", order_id)]
    assert got["off_shift"] == [], "off shift: no offer, no pickup alert"
    inbox = body_of(call(client, "get", "/users/me/notifications", people["off_shift"][1]))["items"]
    assert order_id not in {n["order_id"] for n in inbox}


# Who may call the dispatch routes: (method, path, body, statuses for ROLE_CALLERS in order).
# The courier here is a fresh one, off shift; the order id is unknown.
ROLE_CALLERS = ("anonymous", "customer", "owner", "courier", "admin")
ROLE_MATRIX = [
    ("GET", "/couriers/me", None, (401, 403, 403, 200, 403)),
    ("PUT", "/couriers/me", {"available": False}, (401, 403, 403, 200, 403)),
    ("PUT", "/couriers/me/location", {"lat": 40.7, "lng": -74.0}, (401, 403, 403, 200, 403)),
    ("GET", "/deliveries", None, (401, 403, 403, 409, 403)),
    ("POST", "/deliveries/ord_unknown/claim", None, (401, 403, 403, 409, 403)),
    ("DELETE", "/deliveries/ord_unknown/claim", None, (401, 403, 403, 403, 404)),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "who", "expected"),
    [
        pytest.param(method, path, body, who, expected, id=f"{method} {path}-{who}")
        for method, path, body, statuses in ROLE_MATRIX
        for who, expected in zip(ROLE_CALLERS, statuses, strict=True)
    ],
)
def test_dispatch_role_matrix(client, people, method, path, body, who, expected):
    headers = {"Content-Type": "application/json"}
    if who != "anonymous":
        headers = auth(people["off_shift" if who == "courier" else who][1])
    data = json.dumps(body) if body is not None else None
    response = client.http.request(method, path, headers=headers, body=data)
    assert response.status_code == expected, response.body[:300]
    if expected >= 400:
        assert response.headers["Content-Type"] == "application/problem+json"


def test_a_couriers_records_go_with_their_account(client, aws, pipeline, people, new_user, token_for):
    user_id, email = new_user("couriers")
    token = token_for(email)
    set_available(client, token, True)
    order_id = ready_order(client, aws, pipeline, people)
    assert call(client, "post", f"/deliveries/{order_id}/claim", token).status_code == 200
    busy = call(client, "delete", "/users/me", token)
    assert busy.status_code == 409 and order_id in body_of(busy)["detail"], "a claimed delivery is in flight"
    assert call(client, "delete", f"/deliveries/{order_id}/claim", people["admin"][1]).status_code == 200
    assert call(client, "put", "/couriers/me/location", token, {"lat": 1.5, "lng": 2.5}).status_code == 200

    def records() -> list[Any]:
        out = aws("dynamodb").query(
            TableName=table("couriers"),
            KeyConditionExpression="courier_id = :c",
            ExpressionAttributeValues={":c": {"S": user_id}},
            ConsistentRead=True,
        )
        return out["Items"]

    assert len(records()) == 2
    assert call(client, "delete", "/users/me", token).status_code == 204
    assert records() == []


def test_every_dispatch_route_is_in_the_openapi_document_with_typed_bodies():
    import app as app_module
    from chalicelib.entry import openapi

    document = openapi.generate(app_module.api)
    paths = document["paths"]
    routes = {
        ("/couriers/me", "get"): "CourierView",
        ("/couriers/me", "put"): "CourierState",
        ("/couriers/me/location", "put"): "PositionAccepted",
        ("/deliveries/{order_id}/claim", "post"): "OrderOut",
        ("/deliveries/{order_id}/claim", "delete"): "OrderOut",
    }
    for (path, method), model in routes.items():
        op = paths[path][method]
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith(f"/{model}"), (path, method)
    for path, model in (("/couriers/me", "Availability"), ("/couriers/me/location", "PositionReport")):
        body = paths[path]["put"]["requestBody"]["content"]["application/json"]["schema"]
        assert body["$ref"].endswith(f"/{model}")
    location = paths["/couriers/me/location"]["put"]
    assert location["responses"]["429"] == {"$ref": "#/components/responses/Problem429"}
    assert "Retry-After" in document["components"]["responses"]["Problem429"]["headers"]
    assert "courier.location" in location["description"]
    assert paths["/deliveries/{order_id}/claim"]["delete"]["x-roles"] == ["admins"]


def test_a_pickup_read_before_an_unassignment_does_not_land(client, aws, pipeline, people):
    """The courier's move is conditioned on the courier it read: if an admin unassigns and
    another courier claims in between, the first courier's PICKED_UP is refused."""
    from chalicelib.bootstrap import container

    courier, rival, admin = people["courier"][1], people["rival"][1], people["admin"][1]
    set_available(client, courier, True)
    set_available(client, rival, True)
    order_id = ready_order(client, aws, pipeline, people)
    assert call(client, "post", f"/deliveries/{order_id}/claim", courier).status_code == 200
    repo = container().orders_repo
    real_move = repo.move

    def meanwhile(order: Any, moved: Any) -> Any:
        repo.move = real_move
        assert call(client, "delete", f"/deliveries/{order_id}/claim", admin).status_code == 200
        assert call(client, "post", f"/deliveries/{order_id}/claim", rival).status_code == 200
        return real_move(order, moved)

    repo.move = meanwhile
    try:
        late = call(client, "post", f"/orders/{order_id}/status", courier, {"status": "PICKED_UP"})
    finally:
        repo.move = real_move
    assert late.status_code == 404, late.body
    stored = order_item(aws, order_id)
    assert stored["status"] == "READY" and stored["courier_id"] == people["rival"][0]
