"""Payments: what an asynchronous outcome at the provider (a Stripe event) does to an order,
and how long a payment the provider cannot take is retried. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain import orders as domain
from chalicelib.domain.base import ResponseModel

DISPUTE_EVENTS = frozenset({"charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed"})
LATE_FAILURE = "payment_intent.payment_failed"
REFUNDED = "charge.refunded"
# An authorization Stripe holds (requires_capture): for an order that failed or was
# cancelled meanwhile (the answer to its authorization was lost), it must be released.
AUTHORIZED = "payment_intent.amount_capturable_updated"
HANDLED = DISPUTE_EVENTS | {LATE_FAILURE, REFUNDED, AUTHORIZED}


@dataclass(frozen=True)
class PaymentEvent:
    event_id: str
    kind: str
    order_id: str | None
    intent_id: str | None
    data: Mapping[str, Any]


def payment_event(event: Mapping[str, Any]) -> PaymentEvent | None:
    """The event if Chowline acts on its type (else None): which order and PaymentIntent it
    is about. PaymentIntents carry the order id in their metadata, and so do the charges
    they create; a dispute names only its PaymentIntent."""
    kind = str(event.get("type", ""))
    data = (event.get("data") or {}).get("object") or {}
    if kind not in HANDLED or not isinstance(data, Mapping):
        return None
    metadata = data.get("metadata") or {}
    if data.get("object") == "payment_intent":
        intent = data.get("id")
    else:
        intent = data.get("payment_intent")
    order_id = metadata.get("order_id") if kind not in DISPUTE_EVENTS else None
    return PaymentEvent(str(event["id"]), kind, order_id or None, str(intent) if intent else None, data)


def apply_event(event: PaymentEvent, order: domain.Order, at: str) -> tuple[domain.Order, bool]:
    """The order once ``event`` is applied, and whether its money needs settling again (the
    processor voids an authorization it did not know of)."""
    data = event.data
    if event.kind in DISPUTE_EVENTS:
        dispute = {
            "dispute_id": str(data.get("id", "")),
            "status": str(data.get("status", "")),
            "reason": str(data.get("reason", "")),
            "amount_cents": int(data.get("amount", 0)),
            "at": at,
        }
        return order.model_copy(update={"dispute": dispute}), False
    if event.kind == REFUNDED:
        refunded = max(int(data.get("amount_refunded", 0)), int(getattr(order, "refunded_cents", None) or 0))
        return order.model_copy(update={"refunded_cents": refunded}), False
    if event.kind == LATE_FAILURE:
        if order.status == domain.PENDING:
            return order.move(domain.FAILED, None, at=at, failure_reason=domain.PAYMENT_DECLINED), False
        return order, False
    # AUTHORIZED: the customer authenticated (the order waits for it: process it again), or
    # money is held for an order that will never be paid for (release it).
    if order.status == domain.PENDING and order.payment_action and order.authorization_id == event.intent_id:
        return order, True
    unpaid = order.status in domain.RELEASED_STATUSES or order.status == domain.FAILED
    if unpaid and not order.authorization_id and event.intent_id:
        return order.model_copy(update={"authorization_id": event.intent_id}), True
    return order, False


class WebhookReceipt(ResponseModel):
    """What Stripe gets back: 200 means "received, do not resend"; `applied` says whether
    the event changed an order (false for a replay, another type, or an unknown order)."""

    received: bool
    applied: bool


# --- retrying a payment the provider cannot take -------------------------------------------


@dataclass(frozen=True)
class PaymentRetry:
    """Backoff for provider errors: ``base`` seconds after the first failed receive,
    doubling, at most ``cap``; until ``bound`` after placement. And the wait for a
    customer's authentication."""

    base: timedelta = timedelta(seconds=15)
    cap: timedelta = timedelta(seconds=180)
    bound: timedelta = timedelta(minutes=15)
    # How long after placement a card needing 3-D Secure waits for its holder.
    action_window: timedelta = timedelta(minutes=15)

    def delay(self, receives: int) -> int:
        """Seconds to wait before the next receive, after ``receives`` receives."""
        seconds = self.base.total_seconds() * 2 ** max(receives - 1, 0)
        return int(min(seconds, self.cap.total_seconds()))

    def exhausted(self, placed_at: datetime, now: datetime) -> bool:
        return now - placed_at >= self.bound

    def receives_within_bound(self) -> int:
        """How many receives a message gets before the bound passes (the queue's
        maxReceiveCount must exceed it, or SQS gives up first)."""
        elapsed, receives = 0.0, 1
        while elapsed < self.bound.total_seconds():
            elapsed += max(self.delay(receives), 1)
            receives += 1
        return receives
