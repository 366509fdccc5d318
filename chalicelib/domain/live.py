"""Live updates: who hears of an order's status change, what they are sent, and the devices
that mobile push reaches. Pure: no I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from chalicelib.domain import orders as domain
from chalicelib.domain.base import RequestModel, ResponseModel
from chalicelib.settings import PUSH_PLATFORMS

ORDER_STATUS = "order.status"
DELIVERY_AVAILABLE = "delivery.available"
DELIVERY_TAKEN = "delivery.taken"
# The carrying courier's position, to the customer and the owner while PICKED_UP: sockets
# only (no inbox entry, no mobile push for every position).
COURIER_LOCATION = "courier.location"

# Our platform names -> SNS's (an SNS platform application exists per platform and stage).
SNS_PLATFORMS = dict(zip(PUSH_PLATFORMS, ("APNS", "APNS_SANDBOX", "GCM"), strict=True))
# API Gateway closes a WebSocket after 2 hours; a row outlives it a little, then TTL removes it.
CONNECTION_TTL_SECONDS = 2 * 3600 + 600

_STATUS_TEXT = {
    domain.PENDING: "We received your order.",
    domain.CONFIRMED: "Your order is paid and confirmed.",
    domain.FAILED: "Your order could not be placed.",
    domain.ACCEPTED: "The restaurant accepted your order.",
    domain.REJECTED: "The restaurant could not take your order; you have been refunded.",
    domain.PREPARING: "Your order is being prepared.",
    domain.READY: "Your order is ready for pickup by a courier.",
    domain.PICKED_UP: "A courier picked up your order.",
    domain.DELIVERED: "Your order was delivered. Enjoy!",
    domain.CANCELLED: "Your order was cancelled.",
}
_OWNER_TEXT = {domain.CONFIRMED: "A new order is waiting for you to accept it."}
_KIND_TEXT = {
    DELIVERY_AVAILABLE: "A delivery is ready for pickup.",
    DELIVERY_TAKEN: "That delivery was taken by another courier.",
}


@dataclass(frozen=True)
class Recipient:
    user_id: str
    kind: str
    role: str  # customer | owner | courier: picks the wording


@dataclass(frozen=True)
class StatusChange:
    order_id: str
    restaurant_id: str
    customer_id: str
    status: domain.OrderStatus
    at: str
    courier_id: str | None = None
    failure_reason: domain.FailureReason | None = None
    # Offer rounds after the first (an admin unassigned the courier): their delivery events
    # are new events, with ids of their own.
    offer_round: int = 0

    @classmethod
    def of(cls, order: domain.Order, at: str | None = None) -> StatusChange:
        return cls(
            order_id=order.order_id,
            restaurant_id=order.restaurant_id,
            customer_id=order.customer_id,
            status=order.status,
            at=at or order.last_change_at,
            courier_id=order.courier_id or None,
            failure_reason=order.failure_reason,
            offer_round=order.offer_round,
        )


def recipients(change: StatusChange, owner_id: str | None, connected_couriers: Iterable[str]) -> list[Recipient]:
    """The customer and the restaurant's owner hear of every change; couriers on shift hear
    that a delivery is available (READY; that it is taken comes with the claim, see
    ``dispatch_recipients``); the carrying courier hears of every change from pickup on.
    One entry per (user, kind)."""
    out = [Recipient(change.customer_id, ORDER_STATUS, "customer")]
    if owner_id:
        out.append(Recipient(owner_id, ORDER_STATUS, "owner"))
    if change.courier_id and change.status in (domain.PICKED_UP, domain.DELIVERED):
        out.append(Recipient(change.courier_id, ORDER_STATUS, "courier"))
    if change.status == domain.READY:
        out += [Recipient(c, DELIVERY_AVAILABLE, "courier") for c in connected_couriers]
    seen: set[tuple[str, str]] = set()
    unique = []
    for recipient in out:
        if (recipient.user_id, recipient.kind) not in seen:
            seen.add((recipient.user_id, recipient.kind))
            unique.append(recipient)
    return unique


def needs_couriers(status: str) -> bool:
    return status == domain.READY


def dispatch_kind(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """What a write that kept the status means for the live channel: a READY order claimed
    (delivery.taken), unassigned (delivery.available again), or a new position of its
    carrying courier (courier.location); None for anything else."""
    if new.get("status") != old.get("status"):
        return None
    if new.get("status") == domain.READY:
        if new.get("courier_id") and not old.get("courier_id"):
            return DELIVERY_TAKEN
        if old.get("courier_id") and not new.get("courier_id"):
            return DELIVERY_AVAILABLE
    if new.get("status") == domain.PICKED_UP and new.get("courier_location") != old.get("courier_location"):
        return COURIER_LOCATION if new.get("courier_location") else None
    return None


def dispatch_recipients(change: StatusChange, kind: str, couriers_on_shift: Iterable[str]) -> list[Recipient]:
    """A claimed delivery is taken for every other courier on shift; an unassigned one is
    available to all of them."""
    return [Recipient(c, kind, "courier") for c in couriers_on_shift if c != change.courier_id]


def location_message(order: domain.Order) -> dict[str, Any]:
    """The ``courier.location`` frame: the order view's ``courier_location`` and ``eta``."""
    location = order.courier_location or {}
    return {
        "type": COURIER_LOCATION,
        "event_id": f"{order.order_id}:{COURIER_LOCATION}:{location.get('at', '')}",
        "order_id": order.order_id,
        "restaurant_id": order.restaurant_id,
        "status": order.status,
        "at": location.get("at", ""),
        "courier_location": location,
        "eta": order.eta,
    }


def event_id(change: StatusChange, kind: str) -> str:
    """Stable per (order, status, kind): the same event redelivered has the same id (a
    re-offered delivery's events carry their offer round)."""
    base = f"{change.order_id}:{change.status}:{kind}"
    return f"{base}:{change.offer_round}" if change.offer_round and kind != ORDER_STATUS else base


def text(change: StatusChange, recipient: Recipient) -> str:
    if recipient.kind in _KIND_TEXT:
        return _KIND_TEXT[recipient.kind]
    if recipient.role == "customer":
        return _STATUS_TEXT.get(change.status, f"Your order is {change.status}.")
    if recipient.role == "owner" and change.status in _OWNER_TEXT:
        return _OWNER_TEXT[change.status]
    return f"Order {change.order_id} is {change.status}."


def socket_message(change: StatusChange, kind: str) -> dict[str, Any]:
    """The WebSocket frame (API.md, "Live updates and devices")."""
    message: dict[str, Any] = {
        "type": kind,
        "event_id": event_id(change, kind),
        "order_id": change.order_id,
        "restaurant_id": change.restaurant_id,
        "status": change.status,
        "at": change.at,
    }
    if change.failure_reason:
        message["failure_reason"] = change.failure_reason
    return message


def inbox_event(change: StatusChange, kind: str) -> str:
    return f"order.{change.status.lower()}" if kind == ORDER_STATUS else kind


def inbox_key(change: StatusChange, kind: str) -> str:
    """The inbox record's sort key, which is also the claim of (order, status, recipient, kind)."""
    base = f"{change.at}#{change.order_id}#{change.status}"
    if kind == ORDER_STATUS:
        return base
    return f"{base}#{kind}#{change.offer_round}" if change.offer_round else f"{base}#{kind}"


# --- devices ---------------------------------------------------------------------------

Platform = Literal["apns", "apns_sandbox", "fcm"]
DeviceToken = Annotated[str, StringConstraints(min_length=8, max_length=4096, pattern=r"^[A-Za-z0-9_:.\-]+$")]


class RegisterDevice(RequestModel):
    platform: Platform
    token: DeviceToken = Field(description="The APNs device token (hex) or the FCM registration token.")


class Device(ResponseModel):
    device_id: str
    platform: str
    created_at: str


class DeviceList(ResponseModel):
    items: list[Device]
    next_cursor: str | None = None


def device_id(platform: str, token: str) -> str:
    """The same token on the same platform is the same device."""
    return hashlib.sha256(f"{platform}:{token}".encode()).hexdigest()[:24]


def push_payloads(title: str, body: str, data: Mapping[str, str]) -> dict[str, str]:
    """SNS ``MessageStructure=json``: one platform-formatted message per protocol."""
    apns = json.dumps({"aps": {"alert": {"title": title, "body": body}, "sound": "default"}, **data})
    fcm = json.dumps({"notification": {"title": title, "body": body}, "data": dict(data)})
    return {"default": body, "APNS": apns, "APNS_SANDBOX": apns, "GCM": fcm}


class ClientConfig(ResponseModel):
    api_url: str
    ws_url: str
    region: str
    user_pool_id: str
    user_pool_client_id: str
    stage: str
    version: str
    push_platforms: list[str]
    # The web app's API key, sent as X-Api-Key on every API call (not a secret: every browser
    # holds it; usage plans throttle it).
    web_api_key: str
