"""Errors the service layer raises; the entry layer turns each into an RFC 9457 problem."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ChowlineError(Exception):
    """Base of every expected failure: carries an HTTP status and a stable problem type."""

    status = 500
    type = "about:blank"
    title = "Internal Server Error"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class ValidationFailed(ChowlineError):
    status = 400
    type = "validation-error"
    title = "Your request is not valid"


class PayloadTooLarge(ChowlineError):
    status = 413
    type = "payload-too-large"
    title = "Request body too large"


class Unauthorized(ChowlineError):
    status = 401
    type = "unauthorized"
    title = "Authentication required"


class Forbidden(ChowlineError):
    status = 403
    type = "forbidden"
    title = "Not allowed"


class NotFound(ChowlineError):
    status = 404
    type = "not-found"
    title = "Not found"


class Conflict(ChowlineError):
    status = 409
    type = "conflict"
    title = "Conflict with the current state"


class Unprocessable(ChowlineError):
    status = 422
    type = "unprocessable"
    title = "Request cannot be processed"


class TooManyRequests(ChowlineError):
    status = 429
    type = "too-many-requests"
    title = "Too many requests"


class ServiceUnavailable(ChowlineError):
    status = 503
    type = "service-unavailable"
    title = "Service temporarily unavailable"
