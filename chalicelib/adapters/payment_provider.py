"""The payment provider behind the payment function.

``PaymentProvider`` is the seam for a real card processor. ``FakePaymentProvider`` serves
every non-production stage with the test tokens of API.md: ``tok_visa`` is approved,
``tok_declined`` is declined, ``tok_error`` makes the provider fail. Like a real processor
called with an idempotency key, it is keyed by order id: repeating an operation for an
order returns the first result and moves no money twice.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

APPROVED = "approved"
DECLINED = "declined"
CAPTURED = "captured"
VOIDED = "voided"
REFUNDED = "refunded"
NOTHING = "nothing"
# The card needs its holder (3-D Secure): nothing is authorized until they act.
ACTION_REQUIRED = "action_required"

# The test cards of every non-production stage (public test values, not secrets).
APPROVED_CARD = "tok_visa"
DECLINED_CARD = "tok_declined"
FAILING_CARD = "tok_error"


class ProviderError(Exception):
    """The provider failed (timeout, outage): the operation may be retried as it is."""


@dataclass(frozen=True)
class PaymentResult:
    status: str
    order_id: str
    amount_cents: int = 0
    authorization_id: str | None = None
    # With ACTION_REQUIRED: what the customer's client hands Stripe's library to authenticate.
    client_secret: str | None = None


class PaymentProvider(Protocol):
    """``reference`` is the provider's id of the order's authorization (``authorization_id``
    of ``authorize``) when the order has recorded one; a provider keyed by order id alone
    may ignore it."""

    def authorize(
        self, order_id: str, amount_cents: int, currency: str, token: str, reference: str | None = None
    ) -> PaymentResult:
        """With a ``reference`` (an authorization that awaited its customer), where it stands now."""
        ...

    def capture(
        self, order_id: str, amount_cents: int, currency: str, reference: str | None = None
    ) -> PaymentResult: ...

    def void(self, order_id: str, reference: str | None = None) -> PaymentResult: ...

    def refund(self, order_id: str, amount_cents: int, currency: str, reference: str | None = None) -> PaymentResult:
        """Gives back whatever was taken: refunds a capture, voids a bare authorization."""
        ...


@dataclass
class Ledger:
    """Money movements by order id (what a processor's dashboard would show)."""

    authorizations: dict[str, int] = field(default_factory=dict)
    declines: dict[str, int] = field(default_factory=dict)
    captures: dict[str, int] = field(default_factory=dict)
    voids: dict[str, int] = field(default_factory=dict)
    refunds: dict[str, int] = field(default_factory=dict)
    calls: int = 0

    def kept(self) -> int:
        """Money the merchant keeps: captured minus refunded."""
        return sum(self.captures.values()) - sum(self.refunds.values())


class FakePaymentProvider:
    def __init__(self) -> None:
        self.ledger = Ledger()
        # Tests switch this on to simulate a provider outage for every token.
        self.outage = False
        self._lock = threading.Lock()

    def authorize(
        self, order_id: str, amount_cents: int, currency: str, token: str, reference: str | None = None
    ) -> PaymentResult:
        with self._lock:
            self._check(token)
            ledger = self.ledger
            if order_id in ledger.authorizations:
                return self._auth(order_id, APPROVED, ledger.authorizations[order_id])
            if order_id in ledger.declines:
                return PaymentResult(DECLINED, order_id, ledger.declines[order_id])
            if token != APPROVED_CARD:
                ledger.declines[order_id] = amount_cents
                return PaymentResult(DECLINED, order_id, amount_cents)
            ledger.authorizations[order_id] = amount_cents
            return self._auth(order_id, APPROVED, amount_cents)

    def capture(self, order_id: str, amount_cents: int, currency: str, reference: str | None = None) -> PaymentResult:
        with self._lock:
            self._check()
            ledger = self.ledger
            if order_id in ledger.captures:
                return PaymentResult(CAPTURED, order_id, ledger.captures[order_id])
            if order_id in ledger.voids:
                return PaymentResult(VOIDED, order_id, 0)
            authorized = ledger.authorizations.get(order_id)
            if authorized is None:
                return PaymentResult(NOTHING, order_id)
            ledger.captures[order_id] = min(amount_cents, authorized)
            return PaymentResult(CAPTURED, order_id, ledger.captures[order_id])

    def void(self, order_id: str, reference: str | None = None) -> PaymentResult:
        with self._lock:
            self._check()
            ledger = self.ledger
            if order_id in ledger.captures:
                return PaymentResult(CAPTURED, order_id, ledger.captures[order_id])
            if order_id in ledger.voids:
                return PaymentResult(VOIDED, order_id, ledger.voids[order_id])
            if order_id not in ledger.authorizations:
                return PaymentResult(NOTHING, order_id)
            ledger.voids[order_id] = ledger.authorizations[order_id]
            return PaymentResult(VOIDED, order_id, ledger.voids[order_id])

    def refund(self, order_id: str, amount_cents: int, currency: str, reference: str | None = None) -> PaymentResult:
        with self._lock:
            self._check()
            ledger = self.ledger
            if order_id in ledger.refunds:
                return PaymentResult(REFUNDED, order_id, ledger.refunds[order_id])
            if order_id in ledger.captures:
                ledger.refunds[order_id] = min(amount_cents, ledger.captures[order_id])
                return PaymentResult(REFUNDED, order_id, ledger.refunds[order_id])
            if order_id in ledger.voids:
                return PaymentResult(VOIDED, order_id, ledger.voids[order_id])
            if order_id in ledger.authorizations:
                ledger.voids[order_id] = ledger.authorizations[order_id]
                return PaymentResult(VOIDED, order_id, ledger.voids[order_id])
            return PaymentResult(NOTHING, order_id)

    def _check(self, token: str = "") -> None:
        self.ledger.calls += 1
        if self.outage or token == FAILING_CARD:
            raise ProviderError("the payment provider did not answer")

    @staticmethod
    def _auth(order_id: str, status: str, amount: int) -> PaymentResult:
        return PaymentResult(status, order_id, amount, authorization_id=f"auth_{order_id}")


def provider_for(name: str) -> PaymentProvider:
    """The stage's provider by name; Stripe's needs its secret, so the composition root builds it."""
    if name == "fake":
        return FakePaymentProvider()
    raise ValueError(f"unknown payment provider {name!r}")
