"""Order notifications: every status change of an order, once per recipient, over every
channel: the order-events topic (once, with the customer's), each WebSocket connection and
each push device of the recipient, and the recipient's inbox.

Recipients (chalicelib/domain/live.py): the customer, the restaurant's owner, connected
couriers on shift (READY: delivery.available; claimed: delivery.taken to the others;
unassigned: delivery.available again) and the carrying courier from pickup on. A new
position of the carrying courier goes to the customer's and the owner's sockets only.

Exactly-once per (order, status, recipient) without an extra store: the recipient's inbox
record has a key derived from the order, the status and the kind, and is written first
with a condition, as a claim (a lease). Only the claimant sends, then marks the record
sent. A redelivered stream record finds it sent and does nothing; a crashed attempt leaves
a claim that expires after the lease, and the retry sends then. One recipient's failure
fails the record (it is retried) after every other recipient has been served, and the retry
skips those. The one window for a duplicate is a crash between sending and marking sent:
at-least-once there, never lost, and each frame carries a stable ``event_id``.

Each recipient's connections and devices are read once per batch of records (``Reach``): a
busy restaurant's owner is in most records of a batch, and a customer's order often moves
twice within one. A socket opened meanwhile misses the rest of that batch's frames; the web
app reads its orders again whenever its socket opens.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamo import from_item
from chalicelib.adapters.notifications_repo import SENT, NotificationsRepository
from chalicelib.adapters.topic import OrderEventsTopic
from chalicelib.domain import live
from chalicelib.domain import orders as domain
from chalicelib.domain.paging import ListQuery, page_of
from chalicelib.domain.principal import Principal

if TYPE_CHECKING:  # the live channel is optional: the service works without it
    from chalicelib.services.devices import PushService
    from chalicelib.services.live import LiveService

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
INBOX_DAYS = 90
# Recipients served at once: a READY order reaches every connected courier.
FAN_OUT = 32
# Up to this many (a record's usual pair, the customer and the owner) are served one after
# the other: starting threads for them cost more than the call they overlap (the local
# pipeline settled 25 orders/s with two threads per pair, 32-41 without).
SERVED_IN_TURN = 2


class NotificationInProgress(Exception):
    """Another live attempt holds the claim: retry this record later."""


class NotificationsService:
    def __init__(
        self,
        repo: NotificationsRepository,
        topic: OrderEventsTopic,
        clock: Callable[[], float] = time.time,
        *,
        live_channel: LiveService | None = None,
        push: PushService | None = None,
        owner_of: Callable[[str], str | None] | None = None,
        on_shift: Callable[[], set[str]] | None = None,
    ) -> None:
        self._repo = repo
        self._topic = topic
        self._clock = clock
        self._live = live_channel
        self._push_service = push
        self._owner_of = owner_of or (lambda _restaurant_id: None)
        # Who is available for deliveries (None: every connected courier is).
        self._on_shift = on_shift

    def handle_batch(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Failed records come back as ``batchItemFailures`` (their SequenceNumber)."""
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
        processor.raise_on_entire_batch_failure = False
        handler = functools.partial(self._record, reach=self.reach())
        return dict(process_partial_response(event, handler, processor, context))

    def reach(self) -> Reach:
        """Where recipients are reached, read on first need, for one batch of records."""
        return Reach(self._live, self._push_service)

    def _record(self, record: Any, reach: Reach) -> bool:
        try:
            return self.notify(record.raw_event, reach)
        except Exception:
            log.warning("notification of stream record %s failed", record.dynamodb.sequence_number, exc_info=True)
            raise

    def notify(self, record: Mapping[str, Any], reach: Reach | None = None) -> bool:
        """Returns whether this call sent anything (False: no status change, or done before).
        Raises the first failure once every recipient has had its turn."""
        reach = reach or self.reach()
        if record.get("eventName") == "REMOVE":
            return False
        images = record["dynamodb"]
        new = from_item(images.get("NewImage") or {})
        old = from_item(images.get("OldImage") or {})
        status = new.get("status")
        if not status:
            return False
        if old.get("status") == status:
            return self._dispatch(old, new, reach)
        order = domain.Order.from_item(new)
        change = live.StatusChange.of(order)
        couriers = self._couriers() if live.needs_couriers(change.status) else {}
        targets = live.recipients(change, self._owner_of(change.restaurant_id), couriers)
        return self._deliver(order, change, targets, couriers, reach)

    def _couriers(self) -> dict[str, list[str]]:
        """Connected couriers on shift: user id -> their connection ids."""
        if self._live is None:
            return {}
        online = self._live.couriers_online()
        if self._on_shift is None or not online:
            return online
        available = self._on_shift()
        return {user_id: connections for user_id, connections in online.items() if user_id in available}

    def _dispatch(self, old: Mapping[str, Any], new: Mapping[str, Any], reach: Reach) -> bool:
        """A claim, an unassignment or a courier's new position (the status is unchanged)."""
        kind = live.dispatch_kind(old, new)
        if kind is None:
            return False
        order = domain.Order.from_item(new)
        if kind == live.COURIER_LOCATION:
            return self._post_location(order, reach)
        at = order.claimed_at if kind == live.DELIVERY_TAKEN else order.updated_at
        change = live.StatusChange.of(order, at=at)
        couriers = self._couriers()
        return self._deliver(order, change, live.dispatch_recipients(change, kind, couriers), couriers, reach)

    def _post_location(self, order: domain.Order, reach: Reach) -> bool:
        """Frames only: a position every few seconds is no inbox entry and no mobile push."""
        if self._live is None:
            return False
        message = live.location_message(order)
        people = [order.customer_id, self._owner_of(order.restaurant_id)]
        outcomes = _each([p for p in people if p], lambda user_id: reach.post(user_id, message))
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return True

    def _deliver(
        self,
        order: domain.Order,
        change: live.StatusChange,
        targets: list[live.Recipient],
        couriers: Mapping[str, list[str]],
        reach: Reach,
    ) -> bool:
        details = {"total_cents": order.total_cents, "currency": order.currency}

        # Frames first, for everyone (the live channel is the one a person is watching),
        # then pushes, then the sent marks of those served, in one write.
        claimed = _each(targets, lambda r: self._claim_and_post(change, r, couriers.get(r.user_id), details, reach))
        pending = [c for c in claimed if isinstance(c, _Claimed)]
        pushed = _each(pending, lambda c: self._push(c, reach))
        served = [c for c, outcome in zip(pending, pushed, strict=True) if not isinstance(outcome, BaseException)]
        if served:
            self._repo.mark_sent([(c.entry, c.message_id) for c in served])
        for outcome in [*claimed, *pushed]:
            if isinstance(outcome, BaseException):
                raise outcome
        return bool(pending)

    def _claim_and_post(
        self,
        change: live.StatusChange,
        recipient: live.Recipient,
        known_connections: list[str] | None,
        details: Mapping[str, Any],
        reach: Reach,
    ) -> _Claimed | None:
        """Claims (order, status, kind) for the recipient and posts its frames; None when
        it was sent before."""
        kind = recipient.kind
        text = live.text(change, recipient)
        entry = {
            "user_id": recipient.user_id,
            "sent_at": live.inbox_key(change, kind),
            "at": change.at,
            "event": live.inbox_event(change, kind),
            "kind": kind,
            "event_id": live.event_id(change, kind),
            "order_id": change.order_id,
            "restaurant_id": change.restaurant_id,
            "status": change.status,
            "failure_reason": change.failure_reason,
            "message": text,
            "expires_at": int(self._clock()) + INBOX_DAYS * 86400,
        }
        existing = self._repo.claim(entry, int(self._clock()), LEASE_SECONDS, uuid.uuid4().hex)
        if existing is not None:
            if existing.get("state") == SENT:
                return None
            raise NotificationInProgress(f"{recipient.user_id} {entry['sent_at']} is being sent by another attempt")
        claimed = _Claimed(change, recipient, entry, text)
        with self._releasing(claimed):
            claimed.message_id = self._publish(change, details) if recipient.role == "customer" else ""
            # Couriers' connections are known from the courier lookup; the carrying
            # courier's order.status frames go to all of their connections.
            known = known_connections if kind != live.ORDER_STATUS else None
            reach.post(recipient.user_id, live.socket_message(change, kind), known)
        return claimed

    def _push(self, claimed: _Claimed, reach: Reach) -> None:
        with self._releasing(claimed):
            change = claimed.change
            data = {
                "event_id": str(claimed.entry["event_id"]),
                "order_id": change.order_id,
                "status": change.status,
            }
            reach.push(claimed.recipient.user_id, live.push_payloads("Chowline", claimed.text, data))

    @contextmanager
    def _releasing(self, claimed: _Claimed) -> Iterator[None]:
        """On failure, gives the claim up so that the retry need not wait the lease."""
        try:
            yield
        except Exception:
            self._repo.release(claimed.recipient.user_id, str(claimed.entry["sent_at"]))
            raise

    def _publish(self, change: live.StatusChange, details: Mapping[str, Any]) -> str:
        event = live.inbox_event(change, live.ORDER_STATUS)
        message = {
            "event": event,
            "order_id": change.order_id,
            "status": change.status,
            "customer_id": change.customer_id,
            "restaurant_id": change.restaurant_id,
            "total_cents": details.get("total_cents"),
            "currency": details.get("currency"),
            "failure_reason": change.failure_reason,
            "courier_id": change.courier_id,
            "at": change.at,
        }
        attributes = {"event": event, "customer_id": change.customer_id, "restaurant_id": change.restaurant_id}
        return self._topic.publish(message, attributes)

    def inbox(self, principal: Principal, query: ListQuery) -> dict[str, Any]:
        items, cursor = self._repo.inbox(principal.user_id, query.limit, query.cursor)
        return page_of([_out(item) for item in items], cursor)


def _out(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "notification_id": item["sent_at"],
        "event": item.get("event"),
        "kind": item.get("kind", live.ORDER_STATUS),
        "event_id": item.get("event_id"),
        "order_id": item.get("order_id"),
        "restaurant_id": item.get("restaurant_id"),
        "status": item.get("status"),
        "failure_reason": item.get("failure_reason"),
        "message": item.get("message"),
        "sent_at": item.get("at"),
    }


class Reach:
    """Each user's live connections and push devices, read on first need and kept for one
    batch of stream records; those found gone are dropped from it. A record's recipients are
    served by a few threads at once: a user who is two of them is at worst read twice."""

    def __init__(self, live_channel: LiveService | None, push: PushService | None) -> None:
        self._live = live_channel
        self._push = push
        self._connections: dict[str, list[str]] = {}
        self._devices: dict[str, list[dict[str, Any]]] = {}

    def post(self, user_id: str, message: Mapping[str, Any], known: list[str] | None = None) -> None:
        """To ``known`` connections, or to every connection of the user."""
        if self._live is None:
            return
        if known is None:
            if user_id not in self._connections:
                self._connections[user_id] = self._live.connections_of(user_id)
            known = self._connections[user_id]
        gone = self._live.post(user_id, message, known).gone_connections
        if gone and user_id in self._connections:
            self._connections[user_id] = [c for c in self._connections[user_id] if c not in gone]

    def push(self, user_id: str, payloads: Mapping[str, str]) -> None:
        if self._push is None:
            return
        if user_id not in self._devices:
            self._devices[user_id] = self._push.devices_of(user_id)
        gone = self._push.send(user_id, payloads, self._devices[user_id]).gone_devices
        if gone:
            self._devices[user_id] = [d for d in self._devices[user_id] if d["device_id"] not in gone]


@dataclass
class _Claimed:
    """A recipient's claim, taken and its frames posted: push and the sent mark follow."""

    change: live.StatusChange
    recipient: live.Recipient
    entry: dict[str, Any]
    text: str
    message_id: str = ""


def _each(items: list[Any], call: Callable[[Any], Any]) -> list[Any]:
    """``call`` on every item, FAN_OUT at a time (SERVED_IN_TURN or fewer: in turn); an item's
    failure is returned, not raised, so that every other item still gets its turn."""

    def guarded(item: Any) -> Any:
        try:
            return call(item)
        except Exception as exc:  # noqa: BLE001 - raised by the caller once every item has had its turn
            log.warning("notifying %s failed", getattr(item, "user_id", item), exc_info=True)
            return exc

    if len(items) <= SERVED_IN_TURN:
        return [guarded(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor  # on first fan-out: keeps the import of app small

    with ThreadPoolExecutor(max_workers=min(FAN_OUT, len(items))) as pool:
        return list(pool.map(guarded, items))
