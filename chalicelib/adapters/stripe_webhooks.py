"""Stripe's webhook signature, checked by the SDK (``stripe.Webhook.construct_event``) over
the raw body and the ``Stripe-Signature`` header. Imported by the webhook route only."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed

# Stripe's default: an event signed over 5 minutes ago is refused (a replayed capture).
TOLERANCE_SECONDS = 300


def verified_event(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event Stripe signed, as a plain dict; a missing or wrong signature (or a body that
    is not an event) is a 400 that changes nothing."""
    import stripe

    if not signature:
        raise ValidationFailed(
            "The Stripe-Signature header is required", [FieldError("Stripe-Signature", "header is missing")]
        )
    try:
        event = stripe.Webhook.construct_event(payload.decode("utf-8"), signature, secret, TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as refused:
        raise ValidationFailed(
            "The Stripe-Signature header does not sign this body with this endpoint's secret",
            [FieldError("Stripe-Signature", "signature does not match")],
        ) from refused
    return event.to_dict()
