"""RFC 9457 problem responses: the one shape every error of the API takes."""

from __future__ import annotations

import json
from typing import Any

from chalice import Response

from chalicelib.domain.errors import PROBLEM_TYPE_BASE, ChowlineError, FieldError, problem_kind

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_document(status: int, detail: str) -> dict[str, Any]:
    """The problem document of ``status`` in the API's vocabulary (``PROBLEMS``)."""
    kind = problem_kind(status)
    return {"type": kind.type, "title": kind.title, "status": status, "detail": detail}


def problem(
    status: int,
    detail: str,
    *,
    type_: str | None = None,
    title: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """``type_`` (a slug) and ``title`` narrow the vocabulary's entry for ``status``."""
    body = problem_document(status, detail)
    if type_:
        body["type"] = PROBLEM_TYPE_BASE + type_
    if title:
        body["title"] = title
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return Response(
        body=json.dumps(body),
        status_code=status,
        headers={"Content-Type": PROBLEM_CONTENT_TYPE, **(headers or {})},
    )


def from_error(error: ChowlineError) -> Response:
    retry_after = str(getattr(error, "retry_after", 1))
    headers = {"Retry-After": retry_after} if error.status in (429, 503) else None
    if error.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="chowline"'}
    return problem(
        error.status, error.detail, type_=error.type, title=error.title, errors=error.errors, headers=headers
    )
