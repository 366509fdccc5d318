"""Dispatch: a courier's shift (available or not), their last position, and what the order
view and the offers list derive from it (distances, the ETA). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from chalicelib.domain import geo
from chalicelib.domain.accounts import Latitude, Longitude
from chalicelib.domain.base import RequestModel, ResponseModel
from chalicelib.domain.clock import rfc3339
from chalicelib.domain.errors import Conflict


class Availability(RequestModel):
    available: bool = Field(description="true: on shift, offered READY orders; false: offered nothing")


class PositionReport(RequestModel):
    lat: Latitude
    lng: Longitude


class Position(ResponseModel):
    lat: float
    lng: float
    at: str = Field(description="When the courier's device reported it (RFC 3339, UTC)")


class CourierState(ResponseModel):
    courier_id: str
    available: bool
    updated_at: str | None = Field(None, description="When availability last changed (null: never set)")


class CourierView(CourierState):
    location: Position | None = Field(None, description="The last position reported, while it is fresh (TTL)")


class PositionAccepted(ResponseModel):
    courier_id: str
    location: Position
    orders: list[str] = Field(description="The orders being carried (PICKED_UP) whose view now shows this position")


def point(place: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """``(lat, lng)`` of anything carrying them (``{lat, lng}``, an address, a location);
    None when either is missing."""
    if not place:
        return None
    lat, lng = place.get("lat"), place.get("lng")
    if isinstance(lat, (int, float)) and isinstance(lng, (int, float)):
        return float(lat), float(lng)
    return None


def eta(position: Mapping[str, Any], address: Mapping[str, Any], at: datetime, speed_kmh: float) -> str | None:
    """When the courier at ``position`` (reported at ``at``) reaches ``address`` at
    ``speed_kmh`` in a straight line: an RFC 3339 instant; None without the address's coordinates."""
    here, there = point(position), point(address)
    if here is None or there is None or speed_kmh <= 0:
        return None
    return rfc3339(at + timedelta(hours=geo.distance_km(*here, *there) / speed_kmh))


def nearest_first(
    offers: list[dict[str, Any]], courier: tuple[float, float] | None, pickups: Mapping[str, tuple[float, float]]
) -> list[dict[str, Any]]:
    """Offers (order views) nearest pickup first, each with ``pickup_distance_km``, when the
    courier's position is known; offers whose restaurant has no coordinates follow, oldest
    first. Without a position the list stays oldest first."""
    if courier is None:
        return offers
    placed, unplaced = [], []
    for offer in offers:
        pickup = pickups.get(str(offer.get("restaurant_id")))
        if pickup is None:
            unplaced.append(offer)
        else:
            placed.append({**offer, "pickup_distance_km": round(geo.distance_km(*courier, *pickup), 2)})
    placed.sort(key=lambda offer: offer["pickup_distance_km"])
    return placed + unplaced


class CourierUnavailable(Conflict):
    type = "courier-unavailable"
    title = "You are not available for deliveries"


class DeliveryTaken(Conflict):
    type = "delivery-taken"
    title = "Another courier claimed this delivery"
