"""Delivery zones and opening hours, pure: distances, geohash cells, weekly hours across
midnight and daylight-saving changes, holiday closures."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import geo, hours, zones

ELEVEN_TO_TEN = {day: ["11:00-22:00"] for day in hours.DAYS}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- distances and cells ------------------------------------------------------------------


def test_distances_match_known_city_pairs():
    # Austin to Portland, and London to Paris (great-circle, mean Earth radius).
    assert geo.distance_km(30.2672, -97.7431, 45.5152, -122.6784) == pytest.approx(2748, abs=3)
    assert geo.distance_km(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343.5, abs=1)
    assert geo.distance_km(10, 20, 10, 20) == 0


def test_geohash_matches_the_reference_encoding():
    assert geo.geohash(57.64911, 10.40744, 11) == "u4pruydqqvj"
    assert geo.geohash(-25.382708, -49.265506, 7) == "6gkzwgj"
    assert geo.geohash(30.2672, -97.7431) == "9v6k"


def test_the_cells_around_a_point_hold_every_place_within_the_maximum_radius():
    rng = random.Random(14)
    for _ in range(3000):
        lat = rng.uniform(-geo.MAX_LATITUDE, geo.MAX_LATITUDE)
        lng = rng.uniform(-180, 180)
        cells = set(zones.cells_around(lat, lng))
        assert len(cells) <= (9 if abs(lat) <= 60 else 18)
        # A place at the maximum radius in a random direction is in one of the cells.
        bearing = rng.uniform(0, 2 * math.pi)
        reach = geo.MAX_DELIVERY_RADIUS_KM * 0.999 / geo.EARTH_RADIUS_KM
        phi, lam = math.radians(lat), math.radians(lng)
        phi2 = math.asin(math.sin(phi) * math.cos(reach) + math.cos(phi) * math.sin(reach) * math.cos(bearing))
        lam2 = lam + math.atan2(
            math.sin(bearing) * math.sin(reach) * math.cos(phi), math.cos(reach) - math.sin(phi) * math.sin(phi2)
        )
        lat2, lng2 = math.degrees(phi2), (math.degrees(lam2) + 540) % 360 - 180
        assert geo.distance_km(lat, lng, lat2, lng2) <= geo.MAX_DELIVERY_RADIUS_KM
        assert geo.geohash(lat2, lng2) in cells, (lat, lng, lat2, lng2)


def test_cells_wrap_at_the_antimeridian():
    cells = zones.cells_around(-17.7, 179.99)  # Fiji
    assert geo.geohash(-17.7, -179.95) in cells and geo.geohash(-17.7, 179.9) in cells


def test_nearby_keeps_only_restaurants_whose_radius_covers_the_point_nearest_first():
    at = utc("2026-06-01T12:00:00")
    point = (30.0, -97.0)
    items = [
        {"restaurant_id": "far-but-wide", "location": {"lat": 30.1, "lng": -97.0}, "delivery_radius_km": 12},
        {"restaurant_id": "near", "location": {"lat": 30.01, "lng": -97.0}, "delivery_radius_km": 2, "is_open": True},
        {"restaurant_id": "too-small", "location": {"lat": 30.05, "lng": -97.0}, "delivery_radius_km": 5},
        {"restaurant_id": "nowhere", "delivery_radius_km": 15},
    ]
    found = zones.nearby(items, *point, at, limit=10)
    assert [(r["restaurant_id"], r["distance_km"]) for r in found] == [("near", 1.11), ("far-but-wide", 11.12)]
    assert [r["is_open_now"] for r in found] == [True, False]  # the second has no is_open switch on
    assert zones.nearby(items, *point, at, limit=1)[0]["restaurant_id"] == "near"


# --- hours ---------------------------------------------------------------------------------


def test_new_york_opens_at_eleven_local_on_both_sides_of_the_spring_change():
    # 2026-03-08 02:00 EST becomes 03:00 EDT: 11:00 is 16:00 UTC the day before, 15:00 UTC that day.
    def open_at(text: str) -> bool:
        return hours.is_open_at(utc(text), "America/New_York", ELEVEN_TO_TEN)

    assert not open_at("2026-03-07T15:59:00") and open_at("2026-03-07T16:00:00")
    assert not open_at("2026-03-08T14:59:00") and open_at("2026-03-08T15:00:00")
    # Closing at 22:00 local: 03:00 UTC before the change, 02:00 UTC after it.
    assert open_at("2026-03-08T02:59:00") and not open_at("2026-03-08T03:00:00")  # Saturday evening, EST
    assert open_at("2026-03-09T01:59:00") and not open_at("2026-03-09T02:00:00")  # Sunday evening, EDT


def test_london_opens_an_hour_earlier_in_utc_from_the_last_sunday_of_march():
    def open_at(text: str) -> bool:
        return hours.is_open_at(utc(text), "Europe/London", ELEVEN_TO_TEN)

    assert not open_at("2026-03-28T10:30:00") and open_at("2026-03-28T11:00:00")  # GMT
    assert open_at("2026-03-29T10:30:00") and not open_at("2026-03-29T09:59:00")  # BST
    # And back in October: 11:00 BST is 10:00 UTC, 11:00 GMT is 11:00 UTC.
    assert open_at("2026-10-24T10:00:00") and not open_at("2026-10-25T10:30:00")


def test_the_same_instant_is_open_in_one_zone_and_closed_in_another():
    instant = utc("2026-07-01T17:00:00")  # 13:00 in New York, 02:00 in Tokyo
    assert hours.is_open_at(instant, "America/New_York", ELEVEN_TO_TEN)
    assert not hours.is_open_at(instant, "Asia/Tokyo", ELEVEN_TO_TEN)
    assert hours.is_open_at(instant, "UTC", ELEVEN_TO_TEN)


def test_overnight_ranges_run_into_the_next_day():
    late = {"fri": ["18:00-02:00"], "sat": ["18:00-02:00"]}  # 2026-07-03 is a Friday

    def open_at(text: str) -> bool:
        return hours.is_open_at(utc(text), "UTC", late)

    assert not open_at("2026-07-03T17:59:00") and open_at("2026-07-03T18:00:00")
    assert open_at("2026-07-04T01:59:00") and open_at("2026-07-04T12:00:00") is False
    assert open_at("2026-07-05T01:00:00")  # Saturday's range, on Sunday morning
    assert not open_at("2026-07-05T02:00:00") and not open_at("2026-07-06T01:00:00")  # nothing from Sunday
    whole_day = {"mon": ["00:00-24:00"]}
    assert hours.is_open_at(utc("2026-07-06T23:59:00"), "UTC", whole_day)
    assert not hours.is_open_at(utc("2026-07-07T00:00:00"), "UTC", whole_day)


def test_holiday_closures_close_the_whole_local_day():
    closures = frozenset({"2026-12-25"})
    every_hour = None
    assert not hours.is_open_at(utc("2026-12-25T12:00:00"), "UTC", every_hour, closures)
    assert hours.is_open_at(utc("2026-12-26T00:00:00"), "UTC", every_hour, closures)
    # 2026-12-25 04:00 UTC is still Christmas Eve in Los Angeles: open there.
    assert hours.is_open_at(utc("2026-12-25T04:00:00"), "America/Los_Angeles", every_hour, closures)
    assert not hours.is_open_at(utc("2026-12-25T09:00:00"), "America/Los_Angeles", every_hour, closures)
    # The evening before a closure, an overnight range stops at midnight.
    late = {"thu": ["20:00-03:00"]}  # 2026-12-24 is a Thursday
    assert hours.is_open_at(utc("2026-12-24T23:30:00"), "UTC", late, closures)
    assert not hours.is_open_at(utc("2026-12-25T00:30:00"), "UTC", late, closures)


def test_no_hours_means_every_hour_and_empty_hours_mean_never():
    start = utc("2026-03-01T00:00:00")
    moments = [start + timedelta(minutes=37 * i) for i in range(400)]
    assert all(hours.is_open_at(m, "Europe/Berlin", None) for m in moments)
    assert not any(hours.is_open_at(m, "Europe/Berlin", {}) for m in moments)


def test_the_owner_switch_and_the_hours_both_count():
    item = {"is_open": True, "timezone": "Asia/Kolkata", "opening_hours": ELEVEN_TO_TEN}
    noon_in_india = utc("2026-05-04T06:30:00")
    assert zones.open_at(item, noon_in_india)
    assert not zones.open_at({**item, "is_open": False}, noon_in_india)
    assert not zones.open_at({**item, "holiday_closures": ["2026-05-04"]}, noon_in_india)
    assert not zones.open_at(item, utc("2026-05-04T18:00:00"))  # 23:30 in India


def test_ranges_and_zones_are_checked():
    assert hours.range_problem("10:00-10:00")
    assert hours.range_problem("18:00-02:00") is None
    with pytest.raises(ValueError):
        hours.zone("Mars/Olympus_Mons")
    assert hours.valid_date("2028-02-29") and not hours.valid_date("2026-02-29")
