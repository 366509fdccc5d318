"""Where and when a restaurant takes orders, read from its catalog item (the attributes
``location {lat, lng}``, ``delivery_radius_km``, ``timezone``, ``opening_hours``,
``holiday_closures`` and the owner's ``is_open`` switch). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from chalicelib.domain import geo, hours
from chalicelib.domain.errors import Unprocessable

DEFAULT_TIMEZONE = "UTC"
DEFAULT_RADIUS_KM = 5.0
# Distances shown and stored: to 10 m.
DISTANCE_DECIMALS = 2


class OutOfDeliveryArea(Unprocessable):
    """422: the delivery address is outside the restaurant's radius (problem types narrow the
    vocabulary's 422 here, as the contract names them)."""

    type = "out_of_delivery_area"
    title = "Outside the delivery area"


class RestaurantClosed(Unprocessable):
    """422: the restaurant is not taking orders at this instant."""

    type = "restaurant_closed"
    title = "The restaurant is closed"


def open_at(restaurant: Mapping[str, Any], moment: datetime) -> bool:
    """Open for orders at ``moment``: switched on by its owner, within its weekly hours (none
    set: at every hour) and not on a holiday closure, in its own time zone."""
    if restaurant.get("is_open") is not True:
        return False
    return hours.is_open_at(
        moment,
        str(restaurant.get("timezone") or DEFAULT_TIMEZONE),
        restaurant.get("opening_hours"),
        frozenset(restaurant.get("holiday_closures") or ()),
    )


def distance_to(restaurant: Mapping[str, Any], lat: float, lng: float) -> float | None:
    """Kilometres from the restaurant to the point; ``None`` for a restaurant with no location
    (it delivers nowhere)."""
    location = restaurant.get("location")
    if not isinstance(location, Mapping) or "lat" not in location or "lng" not in location:
        return None
    return geo.distance_km(float(location["lat"]), float(location["lng"]), lat, lng)


def delivers(restaurant: Mapping[str, Any], distance: float | None) -> bool:
    return distance is not None and distance <= float(restaurant.get("delivery_radius_km") or 0)


def shown_distance(distance: float) -> float:
    return round(distance, DISTANCE_DECIMALS)


def with_open_now(restaurant: Mapping[str, Any], moment: datetime) -> dict[str, Any]:
    """The item as the API shows it: ``is_open_now`` computed at ``moment``."""
    return {**restaurant, "is_open_now": open_at(restaurant, moment)}


def nearby(
    restaurants: Iterable[Mapping[str, Any]],
    lat: float,
    lng: float,
    moment: datetime,
    limit: int,
    cuisine: str | None = None,
    city: str | None = None,
) -> list[dict[str, Any]]:
    """The restaurants whose own radius covers the point, nearest first (ties by id), at
    most ``limit``, each with ``distance_km`` and ``is_open_now``."""
    found: list[tuple[float, str, Mapping[str, Any]]] = []
    for restaurant in restaurants:
        if cuisine is not None and restaurant.get("cuisine") != cuisine:
            continue
        if city is not None and restaurant.get("city") != city:
            continue
        distance = distance_to(restaurant, lat, lng)
        if delivers(restaurant, distance):
            found.append((distance or 0.0, str(restaurant["restaurant_id"]), restaurant))
    found.sort(key=lambda entry: entry[:2])
    return [
        {**with_open_now(restaurant, moment), "distance_km": shown_distance(distance)}
        for distance, _, restaurant in found[:limit]
    ]


def cells_around(lat: float, lng: float) -> list[str]:
    """The index cells a lookup at the point reads."""
    return geo.cells_covering(lat, lng, geo.MAX_DELIVERY_RADIUS_KM)


def cell_of(location: Mapping[str, Any]) -> str:
    return geo.geohash(float(location["lat"]), float(location["lng"]))
