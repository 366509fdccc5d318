"""HTTP caching of public reads: a strong ``ETag`` (hash of the exact body), ``Cache-Control``,
and ``304 Not Modified`` when the client already holds that body.

The body must depend only on the path and query string (never on who asks), so that
browsers, CloudFront and the API Gateway stage cache may share it. A snapshot of the read
cache is rendered once (body, ETag, headers) and the rendering kept with it, so a warm read
only copies the headers into a new response.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Rendering:
    """One body as HTTP: its text, its ETag and the headers of a 200 and of a 304."""

    text: str
    etag: str
    headers: dict[str, str]
    not_modified_headers: dict[str, str]

    @classmethod
    def of(cls, body: BaseModel, max_age: int) -> Rendering:
        text = body.model_dump_json()
        etag = etag_of(text)
        headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}" if max_age > 0 else "no-cache"}
        return cls(text, etag, {"Content-Type": "application/json", **headers}, headers)

    def response(self, if_none_match: str | None) -> Response:
        # Middleware adds headers to the response: each gets its own copy.
        if if_none_match and matches(if_none_match, self.etag):
            return Response(body="", status_code=304, headers=dict(self.not_modified_headers))
        return Response(body=self.text, status_code=200, headers=dict(self.headers))


def cacheable_response(body: BaseModel, if_none_match: str | None, max_age: int) -> Response:
    # A cached snapshot keeps its renderings (one per max-age); anything else is rendered now.
    renderings = getattr(body, "renderings", None)
    if renderings is None:
        return Rendering.of(body, max_age).response(if_none_match)
    rendering = renderings.get(max_age)
    if rendering is None:
        rendering = renderings[max_age] = Rendering.of(body, max_age)
    return rendering.response(if_none_match)
