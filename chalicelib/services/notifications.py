"""Order notifications: every status change of an order, once, to the order-events topic
and to its customer's inbox.

Exactly-once per (order, status) without an extra store: the inbox record has a key
derived from the order and the status, and is written first with a condition, as a claim
(a lease). Only the claimant publishes, then marks the record sent. A redelivered stream
record finds it sent and does nothing; a crashed attempt leaves a claim that expires after
the lease, and the retry publishes then. The one window for a duplicate is a crash between
publishing and marking sent: at-least-once there, never lost.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.adapters.dynamo import from_item
from chalicelib.adapters.notifications_repo import SENT, NotificationsRepository
from chalicelib.adapters.topic import OrderEventsTopic
from chalicelib.domain import orders as domain
from chalicelib.domain.paging import ListQuery, page_of
from chalicelib.domain.principal import Principal

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
INBOX_DAYS = 90

_TEXT = {
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


class NotificationInProgress(Exception):
    """Another live attempt holds the claim: retry this record later."""


class NotificationsService:
    def __init__(
        self,
        repo: NotificationsRepository,
        topic: OrderEventsTopic,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repo = repo
        self._topic = topic
        self._clock = clock

    def handle_batch(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Failed records come back as ``batchItemFailures`` (their SequenceNumber)."""
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
        processor.raise_on_entire_batch_failure = False
        return dict(process_partial_response(event, self._record, processor, context))

    def _record(self, record: Any) -> bool:
        try:
            return self.notify(record.raw_event)
        except Exception:
            log.warning("notification of stream record %s failed", record.dynamodb.sequence_number, exc_info=True)
            raise

    def notify(self, record: Mapping[str, Any]) -> bool:
        """Returns whether this call published (False: no status change, or done before)."""
        if record.get("eventName") == "REMOVE":
            return False
        images = record["dynamodb"]
        new = from_item(images.get("NewImage") or {})
        old = from_item(images.get("OldImage") or {})
        status = new.get("status")
        if not status or old.get("status") == status:
            return False
        at = domain.Order.from_item(new).last_change_at
        entry = {
            "user_id": str(new["customer_id"]),
            "sent_at": f"{at}#{new['order_id']}#{status}",
            "at": at,
            "event": f"order.{str(status).lower()}",
            "order_id": str(new["order_id"]),
            "restaurant_id": str(new["restaurant_id"]),
            "status": status,
            "failure_reason": new.get("failure_reason"),
            "message": _TEXT.get(str(status), f"Your order is {status}."),
            "expires_at": int(self._clock()) + INBOX_DAYS * 86400,
        }
        existing = self._repo.claim(entry, int(self._clock()), LEASE_SECONDS, uuid.uuid4().hex)
        if existing is not None:
            if existing.get("state") == SENT:
                return False
            raise NotificationInProgress(f"{entry['sent_at']} is being sent by another attempt")
        message = {
            "event": entry["event"],
            "order_id": entry["order_id"],
            "status": status,
            "customer_id": entry["user_id"],
            "restaurant_id": entry["restaurant_id"],
            "total_cents": new.get("total_cents"),
            "currency": new.get("currency"),
            "failure_reason": new.get("failure_reason"),
            "courier_id": new.get("courier_id"),
            "at": at,
        }
        attributes = {"event": entry["event"], "customer_id": entry["user_id"], "restaurant_id": entry["restaurant_id"]}
        try:
            message_id = self._topic.publish(message, attributes)
        except Exception:
            # Nothing went out: give the claim up so that the retry need not wait the lease.
            self._repo.release(entry["user_id"], entry["sent_at"])
            raise
        self._repo.mark_sent(entry["user_id"], entry["sent_at"], message_id)
        return True

    def inbox(self, principal: Principal, query: ListQuery) -> dict[str, Any]:
        items, cursor = self._repo.inbox(principal.user_id, query.limit, query.cursor)
        return page_of([_out(item) for item in items], cursor)


def _out(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "notification_id": item["sent_at"],
        "event": item.get("event"),
        "order_id": item.get("order_id"),
        "restaurant_id": item.get("restaurant_id"),
        "status": item.get("status"),
        "failure_reason": item.get("failure_reason"),
        "message": item.get("message"),
        "sent_at": item.get("at"),
    }
