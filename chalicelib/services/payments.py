"""The payment function's use case: one operation on the provider per invocation."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from chalicelib.adapters.payment_provider import APPROVED, NOTHING, PaymentProvider, PaymentResult, ProviderError
from chalicelib.domain.base import RequestModel

log = logging.getLogger(__name__)


class PaymentCommand(RequestModel):
    op: Literal["authorize", "capture", "void", "refund"]
    order_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    amount_cents: Annotated[int, Field(ge=0)] = 0
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)] = "USD"
    payment_token: Annotated[str, StringConstraints(max_length=128)] | None = None
    # The provider's id of the order's authorization, once the order has recorded it.
    authorization_id: Annotated[str, StringConstraints(max_length=255)] | None = None


class PaymentsService:
    def __init__(self, provider: PaymentProvider) -> None:
        self.provider = provider

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """Returns ``{"status": ...}``; a provider failure is ``{"status": "error"}`` so that
        the caller retries (the operation is idempotent per order)."""
        cmd = PaymentCommand.model_validate(event)
        if cmd.amount_cents == 0:
            # A free order (a discount covering everything) has nothing to charge, and
            # providers refuse zero amounts: approved, with nothing held to capture or release.
            result = PaymentResult(APPROVED if cmd.op == "authorize" else NOTHING, cmd.order_id)
            return asdict(result)
        try:
            if cmd.op == "authorize":
                result = self.provider.authorize(
                    cmd.order_id, cmd.amount_cents, cmd.currency, cmd.payment_token or "", cmd.authorization_id
                )
            elif cmd.op == "capture":
                result = self.provider.capture(cmd.order_id, cmd.amount_cents, cmd.currency, cmd.authorization_id)
            elif cmd.op == "void":
                result = self.provider.void(cmd.order_id, cmd.authorization_id)
            else:
                result = self.provider.refund(cmd.order_id, cmd.amount_cents, cmd.currency, cmd.authorization_id)
        except ProviderError as exc:
            log.warning("payment %s for %s failed: %s", cmd.op, cmd.order_id, exc)
            return {"status": "error", "order_id": cmd.order_id, "detail": str(exc)}
        return asdict(result)
