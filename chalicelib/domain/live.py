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

    @classmethod
    def of(cls, order: domain.Order) -> StatusChange:
        return cls(
            order_id=order.order_id,
            restaurant_id=order.restaurant_id,
            customer_id=order.customer_id,
            status=order.status,
            at=order.last_change_at,
            courier_id=order.courier_id or None,
            failure_reason=order.failure_reason,
        )


def recipients(change: StatusChange, owner_id: str | None, connected_couriers: Iterable[str]) -> list[Recipient]:
    """The customer and the restaurant's owner hear of every change; couriers hear that a
    delivery is available (READY) or taken (PICKED_UP, all but its courier); the carrying
    courier hears of every change from pickup on. One entry per (user, kind)."""
    out = [Recipient(change.customer_id, ORDER_STATUS, "customer")]
    if owner_id:
        out.append(Recipient(owner_id, ORDER_STATUS, "owner"))
    if change.courier_id and change.status in (domain.PICKED_UP, domain.DELIVERED):
        out.append(Recipient(change.courier_id, ORDER_STATUS, "courier"))
    if change.status == domain.READY:
        out += [Recipient(c, DELIVERY_AVAILABLE, "courier") for c in connected_couriers]
    elif change.status == domain.PICKED_UP:
        out += [Recipient(c, DELIVERY_TAKEN, "courier") for c in connected_couriers if c != change.courier_id]
    seen: set[tuple[str, str]] = set()
    unique = []
    for recipient in out:
        if (recipient.user_id, recipient.kind) not in seen:
            seen.add((recipient.user_id, recipient.kind))
            unique.append(recipient)
    return unique


def needs_couriers(status: str) -> bool:
    return status in (domain.READY, domain.PICKED_UP)


def event_id(change: StatusChange, kind: str) -> str:
    """Stable per (order, status, kind): the same event redelivered has the same id."""
    return f"{change.order_id}:{change.status}:{kind}"


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
    return base if kind == ORDER_STATUS else f"{base}#{kind}"


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
