"""Delivery zones and opening hours through the app against the emulator: the restaurant
fields, ``is_open_now``, and ``GET /restaurants?lat=&lng=`` on the geohash index, whose
number of Queries does not grow with the catalog (1K and 50K restaurants)."""

from __future__ import annotations

import math
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.adapters.dynamo import to_item
from chalicelib.domain import geo, hours, zones
from tests.catalog_support import CatalogApi, body, dynamodb_calls, offset, unique


@pytest.fixture(scope="module")
def api(client, headers_for):
    return CatalogApi(client, headers_for)


@pytest.fixture(scope="module")
def owner(new_user):
    return new_user("customers", "restaurant_owners")


def lonely_point(rng: random.Random) -> tuple[float, float]:
    """A point in the Sahara no other test puts a restaurant near."""
    return round(rng.uniform(20, 28), 5), round(rng.uniform(0, 20), 5)


# --- restaurant fields ----------------------------------------------------------------------


def test_a_restaurant_takes_location_radius_zone_hours_and_closures(api, aws, stack, owner):
    fields = {
        "location": {"lat": 40.7128, "lng": -74.006},
        "delivery_radius_km": 4.5,
        "timezone": "America/New_York",
        "opening_hours": {"fri": ["18:00-02:00"], "sat": ["00:00-24:00"]},
        "holiday_closures": ["2026-12-25", "2026-07-04", "2026-12-25"],
    }
    created = api.restaurant(owner[0], **fields)
    assert created["location"] == fields["location"] and created["delivery_radius_km"] == 4.5
    assert created["timezone"] == "America/New_York"
    assert created["holiday_closures"] == ["2026-07-04", "2026-12-25"]  # sorted, once each
    assert isinstance(created["is_open_now"], bool)
    item = aws("dynamodb").get_item(
        TableName=stack["env"]["RESTAURANTS_TABLE"], Key={"restaurant_id": {"S": created["restaurant_id"]}}
    )["Item"]
    assert item["geo_cell"] == {"S": geo.geohash(40.7128, -74.006)} == {"S": "dr5r"}

    path = f"/restaurants/{created['restaurant_id']}"
    moved = api.call(
        "PATCH", path, owner[1], {"location": {"lat": 51.5074, "lng": -0.1278}, "timezone": "Europe/London"}
    )
    assert moved.status_code == 200, moved.body
    item = aws("dynamodb").get_item(
        TableName=stack["env"]["RESTAURANTS_TABLE"], Key={"restaurant_id": {"S": created["restaurant_id"]}}
    )["Item"]
    assert item["geo_cell"] == {"S": geo.geohash(51.5074, -0.1278)}
    assert body(api.call("GET", path))["timezone"] == "Europe/London"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"location": {"lat": 95, "lng": 0}}, "location.lat"),
        ({"location": {"lat": 10}}, "location.lng"),
        ({"location": {"lat": "10", "lng": 0}}, "location.lat"),
        ({"location": {"lat": 10, "lng": 0, "alt": 3}}, "location.alt"),
        ({"delivery_radius_km": 0}, "delivery_radius_km"),
        ({"delivery_radius_km": geo.MAX_DELIVERY_RADIUS_KM + 1}, "delivery_radius_km"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../etc/passwd"}, "timezone"),
        ({"opening_hours": {"mon": ["10:00-10:00"]}}, "opening_hours.mon[0]"),
        ({"opening_hours": {"mon": ["25:00-26:00"]}}, "opening_hours.mon[0]"),
        ({"holiday_closures": ["2026-02-30"]}, "holiday_closures[0]"),
        ({"holiday_closures": "2026-12-25"}, "holiday_closures"),
        ({"holiday_closures": [f"2026-01-{d:02d}" for d in range(1, 32)] * 4}, "holiday_closures"),
    ],
)
def test_bad_zone_fields_are_400_with_the_field_named_and_write_nothing(api, owner, change, field):
    city = unique("Nowhere")
    valid = {"name": "N", "city": city, "cuisine": "c", "address": "a", "owner_id": owner[0]}
    response = api.call("POST", "/restaurants", "admin", {**valid, **change})
    assert response.status_code == 400, response.body
    assert field in [e["field"] for e in body(response)["errors"]]
    assert body(api.call("GET", f"/restaurants?city={city}"))["items"] == []
    restaurant = api.restaurant(owner[0])
    patched = api.call("PATCH", f"/restaurants/{restaurant['restaurant_id']}", owner[1], change)
    assert patched.status_code == 400 and field in [e["field"] for e in body(patched)["errors"]]


def test_is_open_now_follows_the_hours_closures_and_switch_in_the_restaurants_zone(api, owner):
    zone = "Pacific/Auckland"
    today_there = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    # And tomorrow: the test may run across midnight there.
    closures = [today_there.isoformat(), (today_there + timedelta(days=1)).isoformat()]
    city = unique("Openville")
    always = api.restaurant(owner[0], city=city, timezone=zone, opening_hours={d: ["00:00-24:00"] for d in hours.DAYS})
    holiday = api.restaurant(owner[0], city=city, timezone=zone, holiday_closures=closures)
    never = api.restaurant(owner[0], city=city, timezone=zone, opening_hours={})
    switched_off = api.restaurant(owner[0], city=city, is_open=False)
    expected = {always["restaurant_id"]: True, holiday["restaurant_id"]: False, never["restaurant_id"]: False}
    expected[switched_off["restaurant_id"]] = False
    listed = body(api.call("GET", f"/restaurants?city={city}"))["items"]
    assert {r["restaurant_id"]: r["is_open_now"] for r in listed} == expected
    for restaurant_id, is_open_now in expected.items():
        assert body(api.call("GET", f"/restaurants/{restaurant_id}"))["is_open_now"] is is_open_now
    reopened = api.call("PATCH", f"/restaurants/{holiday['restaurant_id']}", owner[1], {"holiday_closures": []})
    assert body(reopened)["is_open_now"] is True


# --- the listing by location over HTTP -------------------------------------------------------


def test_the_listing_by_location_is_nearest_first_within_each_restaurants_own_radius(api, owner):
    lat, lng = lonely_point(random.Random(uuid.uuid4().int))
    cuisine = unique("geo")
    near = api.restaurant(owner[0], cuisine=cuisine, location=at(offset(lat, lng, 1, 0)), delivery_radius_km=3)
    wide = api.restaurant(owner[0], cuisine=cuisine, location=at(offset(lat, lng, 0, 12)), delivery_radius_km=14)
    api.restaurant(owner[0], cuisine=cuisine, location=at(offset(lat, lng, -6, 0)), delivery_radius_km=5)
    api.restaurant(owner[0], cuisine=cuisine, location=at(offset(lat, lng, 40, 0)), delivery_radius_km=15)
    api.restaurant(owner[0], cuisine=cuisine)  # no location: delivers nowhere

    response = api.call("GET", f"/restaurants?lat={lat}&lng={lng}&cuisine={cuisine}")
    assert response.status_code == 200, response.body
    page = body(response)
    assert [r["restaurant_id"] for r in page["items"]] == [near["restaurant_id"], wide["restaurant_id"]]
    assert [r["distance_km"] for r in page["items"]] == pytest.approx([1.0, 12.0], abs=0.02)
    assert page["next_cursor"] is None
    assert all(isinstance(r["is_open_now"], bool) for r in page["items"])
    one = body(api.call("GET", f"/restaurants?lat={lat}&lng={lng}&cuisine={cuisine}&limit=1"))
    assert [r["restaurant_id"] for r in one["items"]] == [near["restaurant_id"]]


def test_a_warm_lookup_reads_nothing_and_a_new_restaurant_shows_at_once(api, owner):
    from chalicelib.bootstrap import container

    if not container().catalog_cache.enabled:
        pytest.fail("the local stage caches catalog reads (CATALOG_CACHE_SECONDS)")
    lat, lng, near_by = point_and_neighbour_in_the_same_cells(random.Random(uuid.uuid4().int))
    cuisine = unique("cached")
    first = api.restaurant(owner[0], cuisine=cuisine, location=at(offset(lat, lng, 2, 0)), delivery_radius_km=5)
    with dynamodb_calls() as cold:
        api.call("GET", f"/restaurants?lat={lat}&lng={lng}&cuisine={cuisine}")
    with dynamodb_calls() as warm:
        page = body(api.call("GET", f"/restaurants?lat={near_by[0]}&lng={near_by[1]}&cuisine={cuisine}"))
    assert cold == ["Query"] * len(zones.cells_around(lat, lng)) and warm == []
    assert [r["restaurant_id"] for r in page["items"]] == [first["restaurant_id"]]
    second = api.restaurant(owner[0], cuisine=cuisine, location=at(offset(lat, lng, 1, 0)), delivery_radius_km=5)
    page = body(api.call("GET", f"/restaurants?lat={lat}&lng={lng}&cuisine={cuisine}"))
    assert [r["restaurant_id"] for r in page["items"]] == [second["restaurant_id"], first["restaurant_id"]]


def point_and_neighbour_in_the_same_cells(rng: random.Random) -> tuple[float, float, tuple[float, float]]:
    """A lonely point and another 700 m away whose lookups read the same cells (a random
    point near a cell edge would give its neighbour other cells, and the cache other keys)."""
    while True:
        lat, lng = lonely_point(rng)
        near_by = offset(lat, lng, 0.5, 0.5)
        if zones.cells_around(*near_by) == zones.cells_around(lat, lng):
            return lat, lng, near_by


def at(point: tuple[float, float]) -> dict[str, float]:
    return {"lat": point[0], "lng": point[1]}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lat=30", "lng"),
        ("lng=-97", "lat"),
        ("lat=91&lng=0", "lat"),
        ("lat=nan&lng=0", "lat"),
        ("lat=10&lng=181", "lng"),
        ("lat=ten&lng=1", "lat"),
        ("lat=10&lng=1&cursor=abc", "cursor"),
    ],
)
def test_bad_location_queries_are_400(api, query, field):
    response = api.call("GET", f"/restaurants?{query}")
    assert response.status_code == 400, response.body
    assert field in [e["field"] for e in body(response)["errors"]]


# --- the index at scale ----------------------------------------------------------------------

AUSTIN = (30.2672, -97.7431)


def restaurant_item(rng: random.Random, lat: float, lng: float) -> dict[str, Any]:
    restaurant_id = f"geo-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}"
    location = {"lat": round(lat, 6), "lng": round(lng, 6)}
    # What a listing reads (the emulator's cost per item grows with its attributes).
    return {
        "restaurant_id": restaurant_id,
        "name": f"Kitchen {restaurant_id[-6:]}",
        "city": "Austin",
        "cuisine": "test",
        "is_open": True,
        "location": location,
        "geo_cell": zones.cell_of(location),
        "delivery_radius_km": round(rng.uniform(1, geo.MAX_DELIVERY_RADIUS_KM), 2),
    }


def around(rng: random.Random, centre: tuple[float, float], within_km: float, count: int) -> list[dict[str, Any]]:
    items = []
    for _ in range(count):
        reach = within_km * math.sqrt(rng.random())  # uniform over the disc
        bearing = rng.uniform(0, 2 * math.pi)
        items.append(restaurant_item(rng, *offset(*centre, reach * math.cos(bearing), reach * math.sin(bearing))))
    return items


def across_the_country(rng: random.Random, count: int) -> list[dict[str, Any]]:
    return [restaurant_item(rng, rng.uniform(25, 49), rng.uniform(-124, -67)) for _ in range(count)]


@pytest.fixture(scope="module")
def geo_table(aws, stack):
    """A Restaurants table of its own (the template's key and geohash index; the emulator
    maintains no other index for it), so 50K restaurants stay out of every other test's
    listings; dropped afterwards."""
    import json

    from tests.conftest import ROOT

    template = json.loads((ROOT / "infra" / "template.json").read_text())
    spec = template["Resources"]["RestaurantsTable"]["Properties"]
    from chalicelib.adapters.catalog_repo import GEO_INDEX

    keys = {"restaurant_id", "geo_cell"}
    name = f"chowline-geo-test-{uuid.uuid4().hex[:8]}"
    db = aws("dynamodb")
    db.create_table(
        TableName=name,
        BillingMode=spec["BillingMode"],
        AttributeDefinitions=[a for a in spec["AttributeDefinitions"] if a["AttributeName"] in keys],
        KeySchema=spec["KeySchema"],
        GlobalSecondaryIndexes=[i for i in spec["GlobalSecondaryIndexes"] if i["IndexName"] == GEO_INDEX],
    )
    yield name
    db.delete_table(TableName=name)


def put_all(stack: dict[str, Any], table: str, items: list[dict[str, Any]]) -> None:
    """BatchWriteItem, 25 items a request, from a few threads (each with its own client)."""
    from botocore.config import Config

    batches = [items[i : i + 25] for i in range(0, len(items), 25)]
    chunks = [batches[i::6] for i in range(6)]

    def write(chunk: list[list[dict[str, Any]]]) -> None:
        db = stack["session"].client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 10}))
        for batch in chunk:
            requests: dict[str, Any] = {table: [{"PutRequest": {"Item": to_item(item)}} for item in batch]}
            while requests:
                requests = db.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        list(pool.map(write, chunks))


def brute_force(items: list[dict[str, Any]], point: tuple[float, float]) -> list[tuple[str, float]]:
    covering = []
    for item in items:
        distance = geo.distance_km(item["location"]["lat"], item["location"]["lng"], *point)
        if distance <= item["delivery_radius_km"]:
            covering.append((distance, item["restaurant_id"]))
    return [(restaurant_id, round(distance, 2)) for distance, restaurant_id in sorted(covering)]


def test_the_listing_reads_the_same_few_cells_at_1k_and_50k_restaurants(stack, geo_table):
    from chalicelib.adapters.aws import AwsClients, CallLimits
    from chalicelib.adapters.cache import TtlCache
    from chalicelib.adapters.catalog_repo import ProductsRepository, RestaurantsRepository
    from chalicelib.bootstrap import container
    from chalicelib.domain.catalog import RestaurantQuery
    from chalicelib.services.catalog import CatalogService

    c = container()
    s = c.settings
    # The emulator reads an index by walking the whole table: allow it more than AWS needs.
    clients = AwsClients(s.region, limits=CallLimits(connect_timeout=1, read_timeout=60, max_attempts=1))
    catalog = CatalogService(
        RestaurantsRepository(clients, c.cursors, geo_table, s.users_table),
        ProductsRepository(clients, c.cursors, s.products_table, s.users_table),
        lambda: c.identity,
        TtlCache(0),  # no read cache: every lookup reads its cells
    )
    rng = random.Random(1450)
    first = around(rng, AUSTIN, 40, 1000)
    put_all(stack, geo_table, first)

    def lookup(point: tuple[float, float]) -> tuple[list[tuple[str, float]], list[str]]:
        with dynamodb_calls(clients) as calls:
            page = catalog.list_restaurants(RestaurantQuery(lat=point[0], lng=point[1], limit=100))
        return [(r.restaurant_id, r.distance_km) for r in page.items], calls

    # A second point, in other cells: the lookup reads the cells of the point, whatever they are.
    elsewhere = offset(*AUSTIN, 9, -11)
    for point in (AUSTIN, elsewhere):
        found, calls = lookup(point)
        assert calls == ["Query"] * len(zones.cells_around(*point)) and len(calls) <= 9
        assert found == brute_force(first, point)
        assert 0 < len(found) < 100
    _, small_calls = lookup(AUSTIN)

    rest = around(rng, AUSTIN, 60, 9000) + across_the_country(rng, 40000)
    put_all(stack, geo_table, rest)
    everything = first + rest
    assert len(everything) == 50_000
    large_found, large_calls = lookup(AUSTIN)

    assert large_calls == small_calls  # the same Queries, 50 times the catalog
    expected = brute_force(everything, AUSTIN)
    assert len(expected) > 100  # the page is the nearest 100 of them
    assert large_found == expected[:100]
