"""Placing an order where and when the restaurant delivers (against the emulator): the
address's distance against the restaurant's radius, its hours at the placement instant
(clock injected), and the processor's own check at the instant it confirms."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from chalicelib.adapters.dynamo import to_item
from chalicelib.domain import orders as domain
from chalicelib.domain.zones import OutOfDeliveryArea, RestaurantClosed
from tests.catalog_support import offset
from tests.ordering import (
    ADDRESS,
    KITCHEN,
    body_of,
    new_customer,
    order_body,
    order_item,
    place,
    seed_product,
    seed_restaurant,
    sub_of,
    table,
)

ELEVEN_TO_TEN = {day: ["11:00-22:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture(scope="module")
def pipeline(stack):
    from devtools.pipeline import Pipeline

    pipe = Pipeline(stack["env"], stream_start="LATEST")
    pipe.prepare()
    yield pipe
    pipe.drain()  # nothing this module queued is left for another


@pytest.fixture(scope="module")
def kitchen(stack, aws):
    restaurant_id = seed_restaurant(aws, sub_of(stack, "owner"))
    return restaurant_id, seed_product(aws, restaurant_id, price_cents=800)


def address_at(km_from_kitchen_south: float) -> dict[str, Any]:
    lat, lng = offset(KITCHEN["lat"], KITCHEN["lng"], -km_from_kitchen_south, 0)
    return {**ADDRESS, "lat": lat, "lng": lng}


def customer_id(client, headers_for) -> str:
    return body_of(client.http.get("/users/me", headers=headers_for("customer")))["user_id"]


def test_an_address_1_km_away_is_accepted_with_its_distance(client, headers_for, aws, kitchen, pipeline):
    restaurant_id, dish = kitchen
    response = place(
        client, headers_for("customer"), order_body(restaurant_id, [(dish, 1)], delivery_address=address_at(1))
    )
    assert response.status_code == 202, response.body
    order_id = body_of(response)["order_id"]
    assert order_item(aws, order_id)["distance_km"] == pytest.approx(1.0, abs=0.01)
    shown = body_of(client.http.get(f"/orders/{order_id}", headers=headers_for("customer")))
    assert shown["distance_km"] == pytest.approx(1.0, abs=0.01)


def test_an_address_50_km_away_is_422_and_writes_nothing(client, headers_for, aws, kitchen):
    restaurant_id, dish = kitchen
    key = f"far-{uuid.uuid4().hex}"
    body = order_body(restaurant_id, [(dish, 1)], delivery_address=address_at(50))
    response = place(client, headers_for("customer"), body, key=key)
    assert response.status_code == 422, response.body
    problem = body_of(response)
    assert problem["type"].endswith("out_of_delivery_area")
    assert "50.0 km" in problem["detail"] and [e["field"] for e in problem["errors"]] == ["delivery_address"]
    assert order_item(aws, domain.order_id_for(customer_id(client, headers_for), key)) is None


def test_an_address_without_coordinates_is_400(client, headers_for, kitchen):
    restaurant_id, dish = kitchen
    for missing in ("lat", "lng"):
        address = {k: v for k, v in ADDRESS.items() if k != missing}
        response = place(
            client, headers_for("customer"), order_body(restaurant_id, [(dish, 1)], delivery_address=address)
        )
        assert response.status_code == 400, response.body
        assert [e["field"] for e in body_of(response)["errors"]] == [f"delivery_address.{missing}"]


def test_a_restaurant_without_a_location_delivers_nowhere(client, headers_for, aws, stack):
    restaurant_id = seed_restaurant(aws, sub_of(stack, "owner"))
    aws("dynamodb").update_item(
        TableName=table("restaurants"),
        Key={"restaurant_id": {"S": restaurant_id}},
        UpdateExpression="REMOVE #l, geo_cell",
        ExpressionAttributeNames={"#l": "location"},
    )
    dish = seed_product(aws, restaurant_id)
    response = place(client, headers_for("customer"), order_body(restaurant_id, [(dish, 1)]))
    assert response.status_code == 422 and body_of(response)["type"].endswith("out_of_delivery_area")


# --- hours at placement and at processing (clock injected) ----------------------------------


@pytest.fixture(scope="module")
def new_york(stack, aws):
    """A restaurant in Manhattan open 11:00-22:00 New York time, closed on 2026-03-10."""
    restaurant_id = seed_restaurant(aws, sub_of(stack, "owner"))
    location = {"lat": 40.7359, "lng": -73.9911}
    from chalicelib.domain.zones import cell_of

    aws("dynamodb").update_item(
        TableName=table("restaurants"),
        Key={"restaurant_id": {"S": restaurant_id}},
        UpdateExpression="SET #l = :l, geo_cell = :g, #z = :z, opening_hours = :h, holiday_closures = :c",
        ExpressionAttributeNames={"#l": "location", "#z": "timezone"},
        ExpressionAttributeValues={
            ":l": to_item({"v": location})["v"],
            ":g": {"S": cell_of(location)},
            ":z": {"S": "America/New_York"},
            ":h": to_item({"v": ELEVEN_TO_TEN})["v"],
            ":c": to_item({"v": ["2026-03-10"]})["v"],
        },
    )
    address = {"label": "office", "line1": "350 5th Ave", "city": "New York", "postcode": "10118"}
    return restaurant_id, seed_product(aws, restaurant_id), {**address, "lat": 40.7484, "lng": -73.9857}


def orders_at(instant: str) -> Any:
    from chalicelib.bootstrap import container
    from chalicelib.services.orders import OrdersService

    c = container()
    return OrdersService(c.orders_repo, c.orders_queue, c.payment_gateway, c.metrics, clock=lambda: instant)


def processor_at(instant: str) -> Any:
    from chalicelib.bootstrap import container
    from chalicelib.services.orders import OrderProcessor

    c = container()
    return OrderProcessor(c.orders_repo, c.payment_gateway, c.metrics, clock=lambda: instant)


@pytest.fixture(scope="module")
def customer(stack):
    return new_customer()


def place_at(instant: str, new_york: tuple[str, str, dict[str, Any]], who: Any, key: str = "") -> domain.PlacedOrder:
    restaurant_id, dish, address = new_york
    cmd = domain.PlaceOrder.model_validate(order_body(restaurant_id, [(dish, 1)], delivery_address=address))
    return orders_at(instant).place(who, key or f"hours-{uuid.uuid4().hex}", cmd).order


@pytest.mark.parametrize(
    "instant",
    [
        "2026-03-08T14:59:00.000Z",  # 10:59 EDT, the first morning of daylight saving time
        "2026-03-09T02:00:00.000Z",  # 22:00 EDT on Sunday: closing time
        "2026-03-10T16:00:00.000Z",  # noon on the holiday closure
    ],
)
def test_placement_outside_the_hours_is_refused_and_writes_nothing(aws, new_york, customer, instant):
    key = f"closed-{uuid.uuid4().hex}"
    with pytest.raises(RestaurantClosed) as refused:
        place_at(instant, new_york, customer, key)
    assert refused.value.status == 422 and refused.value.type == "restaurant_closed"
    assert order_item(aws, domain.order_id_for(customer.user_id, key)) is None


def test_placement_inside_the_hours_is_accepted_then_the_processor_judges_its_own_instant(
    aws, new_york, customer, pipeline
):
    # 11:00 EDT on 2026-03-08 is 15:00 UTC; the day before (EST) it was 16:00 UTC.
    placed = place_at("2026-03-08T15:00:00.000Z", new_york, customer)
    assert placed.status == "PENDING" and order_item(aws, placed.order_id)["distance_km"] == pytest.approx(
        1.46, abs=0.02
    )
    with pytest.raises(RestaurantClosed):
        place_at("2026-03-07T15:30:00.000Z", new_york, customer)  # 10:30 EST
    message = {"order_id": placed.order_id, "restaurant_id": new_york[0], "product_ids": [new_york[1]]}
    # It reaches the processor after closing time: it fails, and nothing is charged.
    assert processor_at("2026-03-09T02:30:00.000Z").process(message) == "FAILED"
    assert order_item(aws, placed.order_id)["failure_reason"] == "restaurant_closed"
    # One processed within the hours is confirmed.
    second = place_at("2026-03-08T20:00:00.000Z", new_york, customer)
    second_message = {**message, "order_id": second.order_id}
    assert processor_at("2026-03-08T20:00:05.000Z").process(second_message) == "CONFIRMED"


def test_a_restaurant_switched_off_is_closed_whatever_the_hours(client, headers_for, aws, stack):
    restaurant_id = seed_restaurant(aws, sub_of(stack, "owner"), is_open=False)
    dish = seed_product(aws, restaurant_id)
    response = place(client, headers_for("customer"), order_body(restaurant_id, [(dish, 1)]))
    assert response.status_code == 422 and body_of(response)["type"].endswith("restaurant_closed")


def test_out_of_area_is_told_before_closed():
    restaurant = {"is_open": False, "location": KITCHEN, "delivery_radius_km": 2}
    cmd = domain.PlaceOrder.model_validate(order_body("r", [("p", 1)], delivery_address=address_at(3)))
    from chalicelib.domain.clock import parse_rfc3339

    with pytest.raises(OutOfDeliveryArea):
        domain.delivery_distance(cmd, restaurant, parse_rfc3339("2026-01-01T00:00:00Z"))
