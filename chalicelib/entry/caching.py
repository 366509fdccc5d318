"""HTTP caching of public reads: a strong ``ETag`` (hash of the exact body), ``Cache-Control``,
and ``304 Not Modified`` when the client already holds that body.

The body must depend only on the path and query string (never on who asks), so that
browsers, CloudFront and the API Gateway stage cache may share it.
"""

from __future__ import annotations

import hashlib

from chalice import Response
from pydantic import BaseModel


def etag_of(text: str) -> str:
    return '"' + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32] + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: weak comparison over a list of tags, or ``*``."""
    if not if_none_match:
        return False
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def cacheable_response(body: BaseModel, if_none_match: str | None, max_age: int) -> Response:
    # Cached snapshots carry their rendering; anything else is rendered now.
    text = getattr(body, "json_text", None) or body.model_dump_json()
    etag = etag_of(text)
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}" if max_age > 0 else "no-cache"}
    if matches(if_none_match, etag):
        return Response(body="", status_code=304, headers=headers)
    return Response(body=text, status_code=200, headers={"Content-Type": "application/json", **headers})
