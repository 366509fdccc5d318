"""The Idempotency-Key header of order placement: the same key and body return the same order."""

from __future__ import annotations

import re

from chalicelib.domain.errors import FieldError, ValidationFailed

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")


def idempotency_key(value: str | None) -> str:
    if not value:
        raise ValidationFailed(
            "The Idempotency-Key header is required", [FieldError("Idempotency-Key", "header is missing")]
        )
    if not IDEMPOTENCY_KEY.match(value):
        raise ValidationFailed(
            "The Idempotency-Key header is not valid",
            [FieldError("Idempotency-Key", "8 to 128 characters from A-Z a-z 0-9 _ . : -")],
        )
    return value
