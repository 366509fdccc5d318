"""A local stand-in for the part of Stripe's HTTP API that Chowline calls.

It speaks what the official SDK sends and expects: form-encoded bodies with bracketed keys
(``metadata[order_id]=...``), ``Authorization: Bearer <secret key>``, ``Idempotency-Key``
(the same key with the same parameters replays the stored answer with
``Idempotent-Replayed: true``; the same key with other parameters is a 400
``idempotency_error``), Stripe's error bodies (``{"error": {"type", "code", "message", ...}}``)
and ``Request-Id`` headers.

PaymentIntents follow Stripe's state machine for card payments with manual capture, driven
by Stripe's test PaymentMethods: ``pm_card_visa`` authorizes (``requires_capture``),
``pm_card_chargeDeclined`` is a 402 ``card_error`` (``card_declined``),
``pm_card_authenticationRequired`` needs 3-D Secure (``requires_action``). Refunds refund
a captured PaymentIntent. ``outage`` (or ``failing_requests``: the next so many) answers
a 500 ``api_error`` that, as when Stripe's edge fails, never reached the API: nothing is
stored under its key.

``signed(event)`` signs a webhook event the way Stripe does (``Stripe-Signature:
t=<unix>,v1=<HMAC-SHA256 of "<t>.<payload>">``).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

SECRET_KEY = "sk_test_chowline_fake"
WEBHOOK_SECRET = "whsec_chowline_fake"
VISA = "pm_card_visa"
DECLINED = "pm_card_chargeDeclined"
NEEDS_AUTHENTICATION = "pm_card_authenticationRequired"
CANCELABLE = {"requires_payment_method", "requires_capture", "requires_confirmation", "requires_action"}


class StripeFailure(Exception):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.status = status
        self.error = error


def _invalid(message: str, code: str | None = None, param: str | None = None) -> StripeFailure:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return StripeFailure(404 if code == "resource_missing" else 400, error)


@dataclass
class FakeStripe:
    secret_key: str = SECRET_KEY
    outage: bool = False
    # An outage for the next this many requests, then Stripe answers again.
    failing_requests: int = 0
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Every request as (method, path, idempotency key, whether it was a replay).
    requests: list[tuple[str, str, str | None, bool]] = field(default_factory=list)
    _stored: dict[str, tuple[str, int, bytes]] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what tests read ----------------------------------------------------------------------

    def by_order(self, order_id: str) -> list[dict[str, Any]]:
        return [pi for pi in self.payment_intents.values() if pi["metadata"].get("order_id") == order_id]

    def count(self, method: str, path_part: str, replays: bool = False) -> int:
        return sum(1 for m, p, _, replay in self.requests if m == method and path_part in p and (replays or not replay))

    def captured(self) -> dict[str, int]:
        """Captured cents per order id (what the dashboard shows as succeeded)."""
        return {
            pi["metadata"]["order_id"]: pi["amount_received"]
            for pi in self.payment_intents.values()
            if pi["status"] == "succeeded"
        }

    def authenticate(self, intent_id: str, passed: bool = True) -> dict[str, Any]:
        """The customer answers the 3-D Secure challenge in Stripe's page (as Stripe.js would):
        the PaymentIntent is authorized, or back to needing a payment method."""
        with self._lock:
            intent = self.payment_intents[intent_id]
            assert intent["status"] == "requires_action", intent["status"]
            intent["next_action"] = None
            if passed:
                intent.update(status="requires_capture", amount_capturable=intent["amount"])
                intent["latest_charge"] = f"ch_{intent_id[3:]}"
            else:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {"type": "card_error", "code": "payment_intent_authentication_failure"}
            return dict(intent)

    # --- the HTTP surface -------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        request_id = f"req_{next(self._ids):08d}"
        extra = {"Request-Id": request_id}
        key = headers.get("Idempotency-Key")
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        with self._lock:
            if self.outage or self.failing_requests > 0:
                self.failing_requests = max(self.failing_requests - 1, 0)
                self.requests.append((method, path, key, False))
                return self._error(500, {"type": "api_error", "message": "Stripe is having trouble."}, extra)
            if headers.get("Authorization") != f"Bearer {self.secret_key}":
                self.requests.append((method, path, key, False))
                failure = {"type": "invalid_request_error", "message": "Invalid API Key provided."}
                return self._error(401, failure, extra)
            digest = hashlib.sha256(json.dumps([method, path, params], sort_keys=True).encode()).hexdigest()
            if method == "POST" and key and key in self._stored:
                self.requests.append((method, path, key, True))
                stored_digest, status, stored = self._stored[key]
                if stored_digest != digest:
                    failure = {
                        "type": "idempotency_error",
                        "message": f"Keys for idempotent requests can only be used with the same parameters "
                        f"they were first used with. Try using a key other than '{key}'.",
                    }
                    return self._error(400, failure, extra)
                return status, {**extra, "Idempotent-Replayed": "true"}, stored
            self.requests.append((method, path, key, False))
            try:
                status, payload = 200, self._route(method, path, params)
            except StripeFailure as failure:
                status, payload = failure.status, {"error": failure.error}
            answer = json.dumps(payload).encode()
            if method == "POST" and key:
                self._stored[key] = (digest, status, answer)
            return status, extra, answer

    def _error(self, status: int, error: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return status, headers, json.dumps({"error": error}).encode()

    def _route(self, method: str, path: str, params: dict[str, str]) -> dict[str, Any]:
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "payment_intents"]:
            if len(parts) == 2 and method == "POST":
                return self._create_intent(params)
            intent = self._intent(parts[2]) if len(parts) > 2 else None
            if intent is not None and len(parts) == 3 and method == "GET":
                return intent
            if intent is not None and len(parts) == 4 and method == "POST" and parts[3] == "capture":
                return self._capture(intent, params)
            if intent is not None and len(parts) == 4 and method == "POST" and parts[3] == "cancel":
                return self._cancel(intent, params)
        if parts == ["v1", "refunds"] and method == "POST":
            return self._refund(params)
        raise _invalid(f"Unrecognized request URL ({method}: {path}).")

    def _intent(self, intent_id: str) -> dict[str, Any]:
        intent = self.payment_intents.get(intent_id)
        if intent is None:
            raise _invalid(f"No such payment_intent: '{intent_id}'", "resource_missing", "intent")
        return intent

    def _create_intent(self, params: dict[str, str]) -> dict[str, Any]:
        for name in ("amount", "currency"):
            if name not in params:
                raise _invalid(f"Missing required param: {name}.", "parameter_missing", name)
        amount = int(params["amount"])
        if amount < 50:
            raise _invalid("Amount must be at least $0.50 usd", "amount_too_small", "amount")
        intent_id = f"pi_{next(self._ids):014d}"
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "currency": params["currency"].lower(),
            "capture_method": params.get("capture_method", "automatic_async"),
            "client_secret": f"{intent_id}_secret_{next(self._ids):06d}",
            "metadata": {k[len("metadata[") : -1]: v for k, v in params.items() if k.startswith("metadata[")},
            "payment_method": params.get("payment_method"),
            "status": "requires_payment_method",
            "next_action": None,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "created": int(time.time()),
        }
        self.payment_intents[intent_id] = intent
        if params.get("confirm") == "true":
            return self._confirm(intent)
        return intent

    def _confirm(self, intent: dict[str, Any]) -> dict[str, Any]:
        method = intent["payment_method"]
        if method == VISA:
            intent["status"] = "requires_capture" if intent["capture_method"] == "manual" else "succeeded"
            intent["amount_capturable"] = intent["amount"] if intent["status"] == "requires_capture" else 0
            intent["latest_charge"] = f"ch_{intent['id'][3:]}"
            return intent
        if method == NEEDS_AUTHENTICATION:
            intent["status"] = "requires_action"
            intent["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}}
            return intent
        if method == DECLINED:
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
                "param": "",
            }
            intent["last_payment_error"] = error
            raise StripeFailure(402, {**error, "payment_intent": dict(intent)})
        raise _invalid(f"No such PaymentMethod: '{method}'", "resource_missing", "payment_method")

    def _capture(self, intent: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        if intent["status"] != "requires_capture":
            raise _invalid(
                f"This PaymentIntent could not be captured because it has a status of {intent['status']}. "
                "Only a PaymentIntent with one of the following statuses may be captured: requires_capture.",
                "payment_intent_unexpected_state",
            )
        amount = int(params.get("amount_to_capture", intent["amount_capturable"]))
        if amount > intent["amount_capturable"]:
            raise _invalid("The amount to capture is greater than the amount capturable.", None, "amount_to_capture")
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        return intent

    def _cancel(self, intent: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        if intent["status"] not in CANCELABLE:
            raise _invalid(
                f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}. "
                "Only a PaymentIntent with one of the following statuses may be canceled: "
                "requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.",
                "payment_intent_unexpected_state",
            )
        intent.update(
            status="canceled",
            amount_capturable=0,
            cancellation_reason=params.get("cancellation_reason"),
            next_action=None,
        )
        return intent

    def _refund(self, params: dict[str, str]) -> dict[str, Any]:
        intent = self._intent(params.get("payment_intent", ""))
        if intent["status"] != "succeeded":
            raise _invalid(
                f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                "charge_not_refundable",
            )
        refunded = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"])
        left = intent["amount_received"] - refunded
        if left <= 0:
            raise _invalid(f"Charge {intent['latest_charge']} has already been refunded.", "charge_already_refunded")
        amount = int(params.get("amount", left))
        if amount > left:
            raise _invalid(
                f"Refund amount (${amount / 100:.2f}) is greater than unrefunded amount on charge (${left / 100:.2f})",
                None,
                "amount",
            )
        refund_id = f"re_{next(self._ids):014d}"
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "charge": intent["latest_charge"],
            "status": "succeeded",
            "metadata": {},
        }
        self.refunds[refund_id] = refund
        return refund

    # --- webhooks -----------------------------------------------------------------------------

    def event(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"evt_{next(self._ids):014d}",
            "object": "event",
            "api_version": "2025-01-27.acacia",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "type": kind,
            "data": {"object": obj},
        }


def signed(event: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None) -> tuple[bytes, str]:
    """The body and ``Stripe-Signature`` header Stripe would send for ``event``."""
    payload = json.dumps(event).encode()
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={timestamp},v1={mac}"


class StripeServer:
    """``FakeStripe`` served on 127.0.0.1 (a free port) from a daemon thread."""

    def __init__(self, fake: FakeStripe | None = None) -> None:
        self.fake = fake or FakeStripe()
        fake_ref = self.fake

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                status, headers, answer = fake_ref.handle(self.command, path, self.headers, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer)

            do_GET = _answer
            do_POST = _answer
            do_DELETE = _answer

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="stripe-fake", daemon=True)

    def __enter__(self) -> StripeServer:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
