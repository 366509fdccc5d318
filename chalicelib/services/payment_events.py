"""The payment provider's webhook: asynchronous outcomes (disputes, late failures, refunds
made in the provider's dashboard, authorizations an order did not know of) reconciled onto
the order, each event once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.adapters.orders_repo import OrdersRepository, StaleStatus
from chalicelib.adapters.queue import OrdersQueue
from chalicelib.domain.clock import utc_now_text
from chalicelib.domain.errors import FieldError, ServiceUnavailable, ValidationFailed
from chalicelib.domain.payments import WebhookReceipt, apply_event, payment_event

log = logging.getLogger(__name__)

Verify = Callable[[bytes, "str | None", str], Mapping[str, Any]]


class PaymentEventsService:
    def __init__(
        self,
        verify: Verify,
        secret: Callable[[], str] | None,
        repo: OrdersRepository,
        queue: OrdersQueue,
        clock: Callable[[], str] = utc_now_text,
    ) -> None:
        self._verify = verify
        self._secret = secret
        self._repo = repo
        self._queue = queue
        self._clock = clock

    def handle(self, payload: bytes, signature: str | None) -> WebhookReceipt:
        """Verifies the signature (400 otherwise, nothing read or written), then applies the
        event to its order in one conditional write that also records the event id: a
        replay, another event type or an unknown order answer 200 with ``applied: false``."""
        if self._secret is None:
            # Without a signing secret no signature can be right: refused like a forged one.
            raise ValidationFailed(
                "This stage has no webhook signing secret: no event can be verified",
                [FieldError("Stripe-Signature", "cannot be verified on this stage")],
            )
        event = payment_event(self._verify(payload, signature, self._secret()))
        if event is None:
            return WebhookReceipt(received=True, applied=False)
        order_id = event.order_id or (self._repo.order_for_payment(event.intent_id) if event.intent_id else None)
        for _ in range(3):
            order = self._repo.get(order_id) if order_id else None
            if order is None:
                log.warning("payment event %s (%s) names no known order", event.event_id, event.kind)
                return WebhookReceipt(received=True, applied=False)
            changed, settle = apply_event(event, order, self._clock())
            try:
                applied = self._repo.apply_payment_event(order, changed, event.event_id)
            except StaleStatus:
                continue  # the processor moved the order meanwhile: judge the event again
            if applied and settle:
                self._queue.send(changed, dedup_suffix=event.event_id)
            return WebhookReceipt(received=True, applied=applied)
        raise ServiceUnavailable("The order kept changing; the event will be delivered again")
