"""Errors the service layer raises; the entry layer turns each into an RFC 9457 problem.

``PROBLEMS`` is the API's problem vocabulary: one ``type`` and one ``title`` per status,
whoever answers: the app, Chalice's own errors (``entry/middleware.py``), the local server,
and API Gateway's gateway responses and the WAF (``infra/edge.py`` writes them from it).
"""

from __future__ import annotations

from dataclasses import dataclass

PROBLEM_TYPE_BASE = "https://chowline.dev/problems/"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass(frozen=True)
class ProblemKind:
    slug: str  # the end of the problem type URI
    title: str
    meaning: str  # what the status means in this API (the OpenAPI response description)

    @property
    def type(self) -> str:
        return PROBLEM_TYPE_BASE + self.slug


PROBLEMS: dict[int, ProblemKind] = {
    400: ProblemKind(
        "validation-error", "Your request is not valid", "Invalid request: field-level errors in `errors`"
    ),
    401: ProblemKind(
        "unauthorized",
        "Authentication required",
        "Not authenticated: missing, malformed, forged or expired token (or wrong credentials at login)",
    ),
    403: ProblemKind(
        "forbidden",
        "Not allowed",
        "Not allowed: no valid API key, or the caller lacks a role allowed here (or the account is not confirmed)",
    ),
    404: ProblemKind("not-found", "Not found", "No such resource (or not yours)"),
    405: ProblemKind("method-not-allowed", "Method not allowed", "Method not allowed"),
    408: ProblemKind("request-timeout", "Request timeout", "The request took too long to arrive"),
    409: ProblemKind("conflict", "Conflict with the current state", "Conflict with the resource's current state"),
    413: ProblemKind("payload-too-large", "Request body too large", "Request body over 64 KiB"),
    415: ProblemKind("unsupported-media-type", "Unsupported media type", "Unsupported media type"),
    422: ProblemKind("unprocessable", "Request cannot be processed", "Well-formed but cannot be processed"),
    429: ProblemKind(
        "too-many-requests",
        "Too many requests",
        "Too many requests: throttled by the gateway or the identity provider; retry after `Retry-After`",
    ),
    500: ProblemKind("internal-error", "Internal server error", "An unexpected fault; it has been logged"),
    503: ProblemKind(
        "service-unavailable",
        "Service temporarily unavailable",
        "A dependency is temporarily unavailable; retry after `Retry-After`",
    ),
    504: ProblemKind("gateway-timeout", "Gateway timeout", "The API did not answer in time; retry"),
}


# 422s that say exactly why an order or a code cannot be taken (the type ends with the slug).
BELOW_MINIMUM_ORDER = ProblemKind(
    "below_minimum_order", "Below the restaurant's minimum order", "The subtotal is below the restaurant's minimum"
)
PROMO_CODE_UNKNOWN = ProblemKind("promo_code_unknown", "Unknown promo code", "No promo code by this name")
PROMO_CODE_NOT_YET_VALID = ProblemKind(
    "promo_code_not_yet_valid", "Promo code not valid yet", "The promo code's validity window has not started"
)
PROMO_CODE_EXPIRED = ProblemKind("promo_code_expired", "Promo code expired", "The promo code's validity window is over")
PROMO_CODE_WRONG_RESTAURANT = ProblemKind(
    "promo_code_wrong_restaurant", "Promo code not valid here", "The promo code is limited to other restaurants"
)
PROMO_CODE_BELOW_MINIMUM = ProblemKind(
    "promo_code_below_minimum", "Below the promo code's minimum", "The subtotal is below the promo code's minimum"
)
PROMO_CODE_EXHAUSTED = ProblemKind(
    "promo_code_exhausted", "Promo code used up", "The promo code has no use left (in total or for this customer)"
)
REFUSALS: dict[str, ProblemKind] = {
    kind.slug: kind
    for kind in (
        BELOW_MINIMUM_ORDER,
        PROMO_CODE_UNKNOWN,
        PROMO_CODE_NOT_YET_VALID,
        PROMO_CODE_EXPIRED,
        PROMO_CODE_WRONG_RESTAURANT,
        PROMO_CODE_BELOW_MINIMUM,
        PROMO_CODE_EXHAUSTED,
    )
}

# A status outside PROBLEMS (only the gateway's default responses can produce one).
CLIENT_ERROR = ProblemKind("client-error", "Request rejected", "The request was rejected")
SERVER_ERROR = ProblemKind("server-error", "Server error", "The server failed to answer")


def problem_kind(status: int) -> ProblemKind:
    """The vocabulary entry of ``status``."""
    return PROBLEMS.get(status) or (CLIENT_ERROR if status < 500 else SERVER_ERROR)


class ChowlineError(Exception):
    """Base of every expected failure: carries an HTTP status; its problem ``type`` (a slug
    of ``PROBLEM_TYPE_BASE``) and ``title`` default to the vocabulary's for that status."""

    status = 500
    type: str | None = None
    title: str | None = None

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class ValidationFailed(ChowlineError):
    status = 400


class PayloadTooLarge(ChowlineError):
    status = 413


class Unauthorized(ChowlineError):
    status = 401


class Forbidden(ChowlineError):
    status = 403


class NotFound(ChowlineError):
    status = 404


class Conflict(ChowlineError):
    status = 409


class Unprocessable(ChowlineError):
    status = 422


class Refused(Unprocessable):
    """A 422 narrowed to one of ``REFUSALS``: its type ends with the kind's slug."""

    def __init__(self, detail: str, errors: list[FieldError] | None = None, *, kind: ProblemKind | None = None) -> None:
        super().__init__(detail, errors)
        if kind is not None:
            self.type = kind.slug
            self.title = kind.title


class TooManyRequests(ChowlineError):
    status = 429


class RateLimited(TooManyRequests):
    """Too soon after the caller's last request of this kind: ``retry_after`` seconds to wait."""

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class ServiceUnavailable(ChowlineError):
    status = 503
