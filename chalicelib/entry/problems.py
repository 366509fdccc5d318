"""RFC 9457 problem responses: the one shape every error of the API takes."""

from __future__ import annotations

import json
from typing import Any

from chalice import Response

from chalicelib.domain.errors import ChowlineError, FieldError

PROBLEM_TYPE_BASE = "https://chowline.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad Request",
    401: "Authentication required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Request cannot be processed",
    429: "Too many requests",
    500: "Internal Server Error",
    503: "Service temporarily unavailable",
}


def problem(
    status: int,
    detail: str,
    *,
    type_: str | None = None,
    title: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (type_ or str(status)),
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return Response(
        body=json.dumps(body),
        status_code=status,
        headers={"Content-Type": PROBLEM_CONTENT_TYPE, **(headers or {})},
    )


def from_error(error: ChowlineError) -> Response:
    headers = {"Retry-After": "1"} if error.status in (429, 503) else None
    if error.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="chowline"'}
    return problem(
        error.status, error.detail, type_=error.type, title=error.title, errors=error.errors, headers=headers
    )
