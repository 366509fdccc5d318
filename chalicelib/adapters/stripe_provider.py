"""Stripe behind ``PaymentProvider``: card payments as PaymentIntents with manual capture.

``authorize`` creates and confirms a PaymentIntent for the order's total on the customer's
PaymentMethod (``pm_...``, collected by Stripe's client library); ``capture`` takes it after
the stock transaction; ``void`` cancels it; ``refund`` refunds a captured one (or cancels a
bare authorization). Every call carries the idempotency key ``<order_id>:<step>``, so a
redelivered message replays Stripe's first answer instead of charging again; a step that
already happened (Stripe answers ``payment_intent_unexpected_state``) reads the
PaymentIntent and reports what it shows.

The ``stripe`` package is imported on first use: only the payment function loads it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib.adapters.payment_provider import (
    ACTION_REQUIRED,
    APPROVED,
    CAPTURED,
    DECLINED,
    NOTHING,
    REFUNDED,
    VOIDED,
    PaymentResult,
    ProviderError,
)

# Statuses a PaymentIntent can be cancelled from (Stripe's list).
CANCELABLE = frozenset({"requires_payment_method", "requires_capture", "requires_confirmation", "requires_action"})
# Within the payment function's 10 s: connect, read (seconds), and one retry by the SDK.
TIMEOUTS = (2.0, 3.0)
NETWORK_RETRIES = 1


def idempotency_key(order_id: str, step: str) -> str:
    return f"{order_id}:{step}"


class StripeProvider:
    def __init__(self, api_key: Callable[[], str], api_base: str = "") -> None:
        self._api_key = api_key
        self._api_base = api_base
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def _stripe(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import stripe

                    self._client = stripe.StripeClient(
                        self._api_key(),
                        base_addresses={"api": self._api_base} if self._api_base else None,
                        max_network_retries=NETWORK_RETRIES,
                        http_client=stripe.RequestsClient(timeout=TIMEOUTS),
                    )
        return self._client.v1

    # --- the four operations -------------------------------------------------------------

    def authorize(
        self, order_id: str, amount_cents: int, currency: str, token: str, reference: str | None = None
    ) -> PaymentResult:
        import stripe

        if reference:
            # It awaited its customer (3-D Secure): the first answer is stored under the key,
            # so read the PaymentIntent as it is now.
            with _provider_errors():
                return _authorization(order_id, self._stripe.payment_intents.retrieve(reference))

        params = {
            "amount": amount_cents,
            "currency": currency.lower(),
            "payment_method": token,
            "payment_method_types": ["card"],
            "capture_method": "manual",
            "confirm": True,
            "metadata": {"order_id": order_id},
        }
        try:
            with _provider_errors():
                intent = self._stripe.payment_intents.create(params, _options(order_id, "authorize"))
        except stripe.CardError as declined:
            return PaymentResult(DECLINED, order_id, amount_cents, _intent_of(declined))
        except stripe.InvalidRequestError as refused:
            # A PaymentMethod Stripe does not know (or cannot use): this card cannot pay.
            return PaymentResult(DECLINED, order_id, amount_cents, _intent_of(refused))
        return _authorization(order_id, intent)

    def capture(self, order_id: str, amount_cents: int, currency: str, reference: str | None = None) -> PaymentResult:
        if not reference:
            return PaymentResult(NOTHING, order_id)
        intent = self._step(
            order_id,
            "capture",
            lambda options: self._stripe.payment_intents.capture(
                reference, {"amount_to_capture": amount_cents}, options
            ),
            reference,
        )
        return _settled(order_id, intent)

    def void(self, order_id: str, reference: str | None = None) -> PaymentResult:
        if not reference:
            return PaymentResult(NOTHING, order_id)
        intent = self._step(
            order_id,
            "void",
            lambda options: self._stripe.payment_intents.cancel(reference, {}, options),
            reference,
        )
        return _settled(order_id, intent)

    def refund(self, order_id: str, amount_cents: int, currency: str, reference: str | None = None) -> PaymentResult:
        if not reference:
            return PaymentResult(NOTHING, order_id)
        with _provider_errors():
            intent = self._stripe.payment_intents.retrieve(reference)
        if intent["status"] in CANCELABLE:
            return self.void(order_id, reference)
        if intent["status"] != "succeeded":
            return _settled(order_id, intent)
        import stripe

        amount = min(amount_cents, int(intent["amount_received"]))
        try:
            with _provider_errors():
                refund = self._stripe.refunds.create(
                    {"payment_intent": reference, "amount": amount}, _options(order_id, "refund")
                )
        except stripe.InvalidRequestError as refused:
            if refused.code != "charge_already_refunded":
                raise ProviderError(f"Stripe refused the refund: {refused.user_message}") from refused
            return PaymentResult(REFUNDED, order_id, amount, reference)
        return PaymentResult(REFUNDED, order_id, int(refund["amount"]), reference)

    def _step(self, order_id: str, step: str, call: Callable[[dict[str, Any]], Any], reference: str) -> Any:
        """``call`` with the step's idempotency key; if the PaymentIntent has moved on
        already (captured, cancelled), the PaymentIntent as it is."""
        import stripe

        try:
            with _provider_errors():
                return call(_options(order_id, step))
        except stripe.InvalidRequestError as refused:
            if refused.code != "payment_intent_unexpected_state":
                raise ProviderError(f"Stripe refused the {step}: {refused.user_message}") from refused
        with _provider_errors():
            return self._stripe.payment_intents.retrieve(reference)


def _options(order_id: str, step: str) -> dict[str, Any]:
    return {"idempotency_key": idempotency_key(order_id, step)}


@contextmanager
def _provider_errors() -> Iterator[None]:
    """Stripe's answers that decide nothing (its outage, the network, rate limits, a bad key,
    an idempotency conflict) become ``ProviderError``: the caller retries later. Card and
    request errors pass through for the operation to judge."""
    import stripe

    try:
        yield
    except (stripe.CardError, stripe.InvalidRequestError):
        raise
    except stripe.StripeError as failed:
        raise ProviderError(f"Stripe did not answer: {type(failed).__name__}: {failed.user_message}") from failed


def _intent_of(error: Any) -> str | None:
    body = error.json_body if isinstance(error.json_body, dict) else {}
    intent = (body.get("error") or {}).get("payment_intent") or {}
    return intent.get("id") if isinstance(intent, dict) else None


def _authorization(order_id: str, intent: Any) -> PaymentResult:
    status = intent["status"]
    amount = int(intent["amount"])
    if status in {"requires_capture", "succeeded"}:
        return PaymentResult(APPROVED, order_id, amount, intent["id"])
    if status == "requires_action":
        return PaymentResult(ACTION_REQUIRED, order_id, amount, intent["id"], intent["client_secret"])
    if status == "processing":
        raise ProviderError(f"PaymentIntent {intent['id']} is still processing")
    return PaymentResult(DECLINED, order_id, amount, intent["id"])


def _settled(order_id: str, intent: Any) -> PaymentResult:
    status = intent["status"]
    if status == "succeeded":
        return PaymentResult(CAPTURED, order_id, int(intent["amount_received"]), intent["id"])
    if status == "canceled":
        return PaymentResult(VOIDED, order_id, int(intent["amount"]), intent["id"])
    return PaymentResult(NOTHING, order_id, 0, intent["id"])
