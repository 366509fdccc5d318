"""Calls the payment function: a Lambda invoke on AWS, a plain call locally and in tests.

The payment function has its own reserved concurrency and IAM role (the only one that
would hold the provider's secret); the order processor's concurrency is matched to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.adapters.aws import AwsClients, aws_errors
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.orders import Order

PaymentHandler = Callable[[dict[str, Any]], dict[str, Any]]


class PaymentUnavailable(ServiceUnavailable):
    """The provider or the payment function failed: retry later, nothing was decided."""


class PaymentGateway:
    def __init__(self, clients: AwsClients, function_name: str, in_process: PaymentHandler | None = None) -> None:
        self._clients = clients
        self._function = function_name
        self._in_process = in_process

    def authorize(self, order: Order) -> dict[str, Any]:
        return self._call("authorize", order, payment_token=order.payment_token)

    def capture(self, order: Order) -> dict[str, Any]:
        return self._call("capture", order)

    def void(self, order: Order) -> dict[str, Any]:
        return self._call("void", order)

    def refund(self, order: Order) -> dict[str, Any]:
        return self._call("refund", order)

    def _call(self, op: str, order: Order, **extra: str) -> dict[str, Any]:
        if order.authorization_id:
            extra["authorization_id"] = order.authorization_id
        payload = {
            "op": op,
            "order_id": order.order_id,
            "amount_cents": order.total_cents,
            "currency": order.currency,
            **extra,
        }
        result = self._in_process(payload) if self._in_process is not None else self._invoke(payload)
        if result.get("status") == "error":
            raise PaymentUnavailable(f"Payment {op} failed: {result.get('detail', 'provider error')}")
        return result

    def _invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        with aws_errors("The payment function"):
            out = self._clients.get("lambda").invoke(
                FunctionName=self._function, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
            )
        body = out["Payload"].read()
        if out.get("FunctionError"):
            raise PaymentUnavailable(f"The payment function failed: {body[:200]!r}")
        return json.loads(body)
