"""Order use cases: placing an order, processing it (payment + stock), moving it through
its statuses, listing, and sweeping orders whose message never made it to the queue."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.metrics import Metrics
from chalicelib.adapters.orders_repo import Cancelled, OrdersRepository, Snapshot, StaleStatus
from chalicelib.adapters.payments import PaymentGateway, PaymentUnavailable
from chalicelib.adapters.queue import OrdersQueue
from chalicelib.domain import orders as domain
from chalicelib.domain import promos
from chalicelib.domain.clock import now as clock_now
from chalicelib.domain.clock import parse_rfc3339, rfc3339, utc_now_text
from chalicelib.domain.errors import Conflict, FieldError, NotFound, ServiceUnavailable, Unprocessable
from chalicelib.domain.idempotency import idempotency_key
from chalicelib.domain.paging import page_of
from chalicelib.domain.payments import PaymentRetry
from chalicelib.domain.principal import COURIERS, Principal, require_account

log = logging.getLogger(__name__)

PENDING_GRACE = timedelta(minutes=2)
# The queue's redrive policy (infra/template.json): the receive after which SQS gives up.
# It exceeds the receives a payment retry gets before its bound (PaymentRetry), so an
# unreachable provider fails the order (payment_unavailable) before SQS dead-letters it.
MAX_RECEIVES = 10


@dataclass(frozen=True)
class Placement:
    order: domain.PlacedOrder
    replay: bool


class OrdersService:
    def __init__(
        self,
        repo: OrdersRepository,
        queue: OrdersQueue,
        payments: PaymentGateway,
        metrics: Metrics,
        clock: Callable[[], str] = utc_now_text,
        sweep_max_age: timedelta = timedelta(days=1),
    ) -> None:
        self._repo = repo
        self._queue = queue
        self._payments = payments
        self._metrics = metrics
        self._clock = clock
        self._sweep_max_age = sweep_max_age

    # --- placing --------------------------------------------------------------------------

    def place(self, principal: Principal, key: str | None, cmd: domain.PlaceOrder) -> Placement:
        """At most three calls on a first request: BatchGetItem (catalog + an earlier order
        with this key + the caller's profile), a conditional PutItem, SendMessage."""
        key = idempotency_key(key)
        domain.check_lines(cmd)
        order_id = domain.order_id_for(principal.user_id, key)
        digest = domain.request_hash(cmd)
        snap = self._read(principal, cmd, order_id)
        if snap.order is not None:
            return self._replay(snap.order, digest)
        now = self._clock()
        priced, distance = self._price(cmd, snap, now)
        order = domain.new_order(
            order_id=order_id,
            customer_id=principal.user_id,
            cmd=cmd,
            priced=priced,
            request_digest=digest,
            now=now,
            distance_km=distance,
        )
        existing = self._repo.put_new(order)
        if existing is not None:
            return self._replay(existing, digest)
        self._enqueue(order)
        self._metrics.order_placed()
        return Placement(domain.placed_out(order), replay=False)

    def quote(self, principal: Principal, cmd: domain.OrderDraft) -> domain.Quote:
        """What ``cmd`` would cost if placed now, priced as placement prices it (the same
        refusals): one BatchGetItem, nothing written."""
        domain.check_lines(cmd)
        snap = self._read(principal, cmd, None)
        return domain.quote_out(self._price(cmd, snap, self._clock())[0])

    def _read(self, principal: Principal, cmd: domain.OrderDraft, order_id: str | None) -> Snapshot:
        """The catalog, the caller's account, the promo code and (with ``order_id``) an
        earlier order with this key: one BatchGetItem."""
        snap = self._repo.snapshot(
            order_id=order_id,
            restaurant_id=cmd.restaurant_id,
            product_ids=[line.product_id for line in cmd.items],
            consistent=False,
            user_id=principal.user_id,
            promo_code=promos.canonical(cmd.promo_code) if cmd.promo_code else None,
        )
        require_account(snap.user_exists)
        return snap

    def _price(self, cmd: domain.OrderDraft, snap: Snapshot, now: str) -> tuple[domain.PricedOrder, float | None]:
        """Placement and quotes price alike: the delivery area and hours, the catalog, the
        restaurant's terms (the per-km fee from the delivery distance), the code."""
        at = parse_rfc3339(now)
        distance = domain.delivery_distance(cmd, snap.restaurant, at) if snap.restaurant is not None else None
        priced = domain.price(cmd, snap.restaurant, snap.products, distance_km=distance, promo=snap.promo, at=at)
        return priced, distance

    def _replay(self, order: domain.Order, digest: str) -> Placement:
        if order.request_hash != digest:
            raise Unprocessable(
                "This Idempotency-Key was already used for a different order",
                [FieldError("Idempotency-Key", "reused with a different body")],
            )
        if order.status == domain.PENDING:
            # The first attempt may have failed to enqueue: send again (a duplicate is harmless).
            self._enqueue(order)
        return Placement(domain.placed_out(order), replay=True)

    def _enqueue(self, order: domain.Order, dedup_suffix: str = "") -> None:
        try:
            self._queue.send(order, dedup_suffix)
        except Exception as exc:
            log.exception("order %s saved but not queued", order.order_id)
            raise ServiceUnavailable(
                "The order is saved but could not be queued; retry with the same Idempotency-Key"
            ) from exc

    # --- reading --------------------------------------------------------------------------

    def get(self, principal: Principal, order_id: str) -> domain.OrderOut:
        order, _ = self._visible(principal, order_id)
        return domain.order_out(order, principal.user_id)

    def list_mine(self, principal: Principal, query: domain.OrdersQuery) -> dict[str, Any]:
        return self._list(
            "by_customer", "customer_id", principal.user_id, query, newest_first=True, viewer=principal.user_id
        )

    def list_restaurant(self, principal: Principal, restaurant_id: str, query: domain.OrdersQuery) -> dict[str, Any]:
        owner = self._repo.restaurant_owner(restaurant_id)
        if owner is None or (not principal.is_admin and owner != principal.user_id):
            raise NotFound("No such restaurant")
        return self._list("by_restaurant", "restaurant_id", restaurant_id, query, newest_first=True)

    def _list(
        self,
        index: str,
        key: str,
        value: str,
        query: domain.OrdersQuery,
        newest_first: bool,
        viewer: str | None = None,
    ) -> dict[str, Any]:
        items, cursor = self._repo.query(
            index=index,
            key=key,
            value=value,
            limit=query.limit,
            cursor=query.cursor,
            status=query.status,
            newest_first=newest_first,
        )
        return page_of(domain.orders_out(items, viewer), cursor)

    def _visible(self, principal: Principal, order_id: str, target: str | None = None) -> tuple[domain.Order, bool]:
        """The order if the caller may see it (else 404), and whether they own its restaurant.
        With a ``target`` (a write) the same read checks the caller still has an account."""
        if target is None:
            order = self._repo.get(order_id)
        else:
            order, exists = self._repo.with_user(order_id, principal.user_id)
            require_account(exists)
        if order is None:
            raise NotFound("No such order")
        party = domain.is_party(order, principal)
        owns = False
        if domain.needs_owner_check(principal) and (not party or target in domain.OWNER_TARGETS):
            owns = self._repo.restaurant_owner(order.restaurant_id) == principal.user_id
        # Couriers see the orders waiting for one: those are what they pick up.
        open_to_courier = target == domain.PICKED_UP and COURIERS in principal.roles and order.status == domain.READY
        if not (party or owns or open_to_courier):
            raise NotFound("No such order")
        return order, owns

    # --- moving ---------------------------------------------------------------------------

    def change_status(self, principal: Principal, order_id: str, cmd: domain.StatusChange) -> domain.OrderOut:
        order, owns = self._visible(principal, order_id, cmd.status)

        def decide(current: domain.Order) -> domain.Order:
            return current.move(cmd.status, principal, at=self._clock(), owns_restaurant=owns, reason=cmd.reason)

        return domain.order_out(self._move(order, decide))

    def cancel(self, principal: Principal, order_id: str) -> domain.OrderOut:
        order, exists = self._repo.with_user(order_id, principal.user_id)
        require_account(exists)
        if order is None:
            raise NotFound("No such order")
        return domain.order_out(self._move(order, lambda current: current.cancel(principal, at=self._clock())))

    def _move(
        self, order: domain.Order, decide: Callable[[domain.Order], domain.Order], retry: bool = True
    ) -> domain.Order:
        """``decide`` turns the order as read into the moved order (or refuses, 409/404/403);
        this stores it conditioned on the status read. When the status changed between the
        read and the write (the processor confirmed the order meanwhile, say), the move is
        judged again on the order as it is now and, still allowed, tried once more."""
        moved = decide(order)
        try:
            if domain.returns_money_and_stock(order.status, moved.status):
                return self._release(order, moved)
            return self._repo.move(order, moved)
        except StaleStatus as exc:
            current = exc.current or self._repo.get(order.order_id)
            if not retry or current is None:
                raise Conflict("The order changed status meanwhile; reload it and try again") from exc
            return self._move(current, decide, retry=False)  # decide: 409 (or 404) if no longer allowed

    def _release(self, order: domain.Order, moved: domain.Order) -> domain.Order:
        """Stock back + the promo code's use back + status change in ONE transaction, then
        the refund (idempotent)."""
        quantities = {line.product_id: line.quantity for line in order.items}
        restock = [(pid, quantities[pid]) for pid in order.stock_taken if pid in quantities]
        give_back_promo = True
        for _ in range(3):
            try:
                self._repo.release(order, moved, restock, give_back_promo)
                break
            except Cancelled as exc:
                if exc.order:
                    raise StaleStatus() from exc
                if exc.promo:
                    # A count already at zero has nothing to give back: release the rest.
                    give_back_promo = False
                    if not exc.products:
                        continue
                # A product was deleted or stopped counting stock: restock the others only.
                fresh = self._repo.snapshot(
                    order_id=None,
                    restaurant_id=order.restaurant_id,
                    product_ids=[pid for pid, _ in restock],
                    consistent=True,
                )
                restock = [(pid, q) for pid, q in restock if "stock" in fresh.products.get(pid, {})]
        else:
            raise ServiceUnavailable("The order could not be updated; retry shortly")
        try:
            self._payments.refund(order)
        except Exception:
            # The status change stands; the processor finishes the refund (idempotent).
            log.exception("refund of %s deferred to the processor", order.order_id)
            self._enqueue(moved, dedup_suffix=moved.status)
        return moved

    # --- sweeping -------------------------------------------------------------------------

    def sweep(self, now: datetime | None = None, limit: int = 100) -> int:
        """Re-enqueues orders PENDING for over two minutes: their first message was lost
        between the write and the send, or is still being retried (then the copy is
        harmless). Orders older than the sweep window are left to the DLQ and its alarm."""
        moment = now or clock_now()
        stale = self._repo.pending_between(
            rfc3339(moment - self._sweep_max_age), rfc3339(moment - PENDING_GRACE), limit
        )
        return self._queue.send_many(stale) if stale else 0


class OrderProcessor:
    """Handles orders.fifo messages: pays for and confirms an order exactly once, however
    often its message is delivered."""

    def __init__(
        self,
        repo: OrdersRepository,
        payments: PaymentGateway,
        metrics: Metrics,
        clock: Callable[[], str] = utc_now_text,
        queue: OrdersQueue | None = None,
        retry: PaymentRetry | None = None,
    ) -> None:
        self._repo = repo
        self._payments = payments
        self._metrics = metrics
        self._clock = clock
        self._queue = queue
        self._retry = retry or PaymentRetry()

    def handle_batch(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Each record alone; a failed record skips the rest of its message group in this
        batch; the failures are returned as ``batchItemFailures`` for SQS to redeliver."""
        from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response

        processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        processor.raise_on_entire_batch_failure = False
        return dict(process_partial_response(event, self._record, processor, context))

    def _record(self, record: Any) -> str:
        receives = int(record.attributes.approximate_receive_count or 1)
        try:
            return self.process(json.loads(record.body))
        except Exception as exc:
            if receives >= MAX_RECEIVES:
                self._metrics.dlq_sent()
                self._note_dead_letter(record.body)
            elif isinstance(exc, PaymentUnavailable) and self._queue is not None:
                # The provider is down: wait longer after each receive (an outage is minutes).
                self._queue.retry_later(record.receipt_handle, self._retry.delay(receives))
            raise

    def _note_dead_letter(self, body: str) -> None:
        try:
            self._repo.mark_dead_lettered(str(json.loads(body)["order_id"]), self._clock())
        except Exception:
            log.exception("could not mark a dead-lettered order")

    def process(self, message: Mapping[str, Any]) -> str:
        """Returns the order's status after processing (for logs and tests)."""
        order_id = str(message["order_id"])
        snap = self._repo.snapshot(
            order_id=order_id,
            restaurant_id=str(message.get("restaurant_id", "-")),
            product_ids=[str(p) for p in message.get("product_ids", [])],
            consistent=True,
        )
        order = snap.order
        if order is None:
            log.warning("message for unknown order %s dropped", order_id)
            return "MISSING"
        if order.status != domain.PENDING:
            return self._settle(order)
        if order.restaurant_id != message.get("restaurant_id") or set(order.product_ids) - set(snap.products) - set(
            message.get("product_ids", [])
        ):
            snap = self._catalog(order)
        return self._confirm(order, snap)

    def _catalog(self, order: domain.Order) -> Snapshot:
        return self._repo.snapshot(
            order_id=None,
            restaurant_id=order.restaurant_id,
            product_ids=order.product_ids,
            consistent=True,
        )

    def _confirm(self, order: domain.Order, snap: Snapshot) -> str:
        attempt = parse_rfc3339(self._clock())  # one instant for the hours and the retry bound
        reason = domain.shortfall(order, snap.restaurant, snap.products, at=attempt)
        if reason:
            return self._fail(order, reason)
        started = time.perf_counter()
        try:
            auth = self._payments.authorize(order)
        except PaymentUnavailable:
            if self._retry.exhausted(parse_rfc3339(order.created_at), attempt):
                return self._fail(order, domain.PAYMENT_UNAVAILABLE)
            raise
        self._metrics.payment_latency((time.perf_counter() - started) * 1000, str(auth.get("status")))
        authorization = auth.get("authorization_id")
        if auth.get("status") == "action_required":
            return self._await_action(order, auth)
        if auth.get("status") != "approved":
            return self._fail(order, domain.PAYMENT_DECLINED, authorization)
        products = snap.products
        for _ in range(3):
            tracked = [pid for pid in order.product_ids if "stock" in products.get(pid, {})]
            try:
                confirmed = self._repo.confirm(order, tracked, self._clock(), str(authorization))
                break
            except Cancelled as exc:
                if exc.order:
                    current = self._repo.get(order.order_id)
                    return self._settle(current) if current else "MISSING"
                if exc.promo:
                    # Other orders took the code's last uses (or it was withdrawn) meanwhile.
                    return self._fail(order, domain.PROMO_CODE_EXHAUSTED, authorization)
                # Sold out or closed meanwhile (or a product changed how it counts stock):
                # a fresh read says which.
                fresh = self._catalog(order)
                reason = domain.shortfall(order, fresh.restaurant, fresh.products, at=parse_rfc3339(self._clock()))
                if reason:
                    return self._fail(order, reason, authorization)
                products = fresh.products
        else:
            raise ServiceUnavailable(f"order {order.order_id} could not be confirmed; retrying")
        self._payments.capture(confirmed)  # with the authorization it now records
        self._metrics.order_confirmed()
        return domain.CONFIRMED

    def _await_action(self, order: domain.Order, auth: Mapping[str, Any]) -> str:
        """The card needs its holder (3-D Secure): the order waits, PENDING, showing its
        customer what their client needs, until the provider's event says they acted (the
        webhook queues the order again) or the window closes (then it fails, released)."""
        placed = parse_rfc3339(order.created_at)
        authorization = auth.get("authorization_id")
        if parse_rfc3339(self._clock()) - placed >= self._retry.action_window:
            return self._fail(order, domain.PAYMENT_ACTION_REQUIRED, authorization)
        if order.payment_action:
            return str(order.status)  # still waiting; the sweeper looks again
        action = {
            "type": "authenticate",
            "client_secret": auth.get("client_secret"),
            "expires_at": rfc3339(placed + self._retry.action_window),
        }
        waiting = order.model_copy(update={"authorization_id": authorization, "payment_action": action})
        try:
            self._repo.move(order, waiting)
        except StaleStatus as exc:
            current = exc.current or self._repo.get(order.order_id)
            return self._settle(current) if current else "MISSING"
        return str(order.status)

    def _fail(self, order: domain.Order, reason: domain.FailureReason, authorization_id: str | None = None) -> str:
        """FAILED with ``reason``; the provider's authorization, if any, is recorded so that
        settling releases it."""
        moved = order.move(
            domain.FAILED, None, at=self._clock(), failure_reason=reason, authorization_id=authorization_id
        )
        try:
            failed = self._repo.move(order, moved)
        except StaleStatus as exc:
            current = exc.current or self._repo.get(order.order_id)
            return self._settle(current) if current else "MISSING"
        self._metrics.order_failed(reason)
        return self._settle(failed)

    def _settle(self, order: domain.Order) -> str:
        """Makes the money match the status; every call is idempotent at the provider, so
        a redelivered message changes nothing twice."""
        status = order.status
        if status in domain.PAID_STATUSES:
            self._payments.capture(order)
        elif status in domain.RELEASED_STATUSES:
            self._payments.refund(order)
        elif status == domain.FAILED and order.failure_reason != domain.PAYMENT_DECLINED:
            # An earlier attempt may have authorized before the order failed: release it.
            # After an outage (payment_unavailable) the provider never answered, so there
            # is nothing it told us of to release (what it held unannounced, the webhook
            # releases).
            if order.failure_reason != domain.PAYMENT_UNAVAILABLE or order.authorization_id:
                self._payments.void(order)
        return str(status)
