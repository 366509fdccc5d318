"""The local server's edge, as CloudFront is in production: the web app at the site root,
the API under ``/api/`` (the bare paths keep working), and uploaded images under
``/assets/`` read from the assets bucket with the server's own credentials, as the assets
distribution reads it through origin access control (the bucket itself stays private).
"""

from __future__ import annotations

import mimetypes
import os
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
API_PREFIX = "/api"
ASSETS_PREFIX = "/assets/"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


def assets_base_url(host: str, port: int) -> str:
    """ASSETS_BASE_URL for the local stack: the images' URLs point at this server."""
    return f"http://{host}:{port}{ASSETS_PREFIX.rstrip('/')}"


def api_path(path: str) -> str:
    """/api/restaurants?city=x -> /restaurants?city=x; other paths unchanged."""
    if path == API_PREFIX or path.startswith((f"{API_PREFIX}/", f"{API_PREFIX}?")):
        rest = path[len(API_PREFIX) :]
        return rest if rest.startswith("/") else f"/{rest}"
    return path


def respond(method: str, path: str) -> dict[str, Any] | None:
    """The response for a web-app file or an uploaded image; None for the API's paths. A
    HEAD gets GET's response, body included: the server sends its headers only, so that
    Content-Length is the length a GET would carry."""
    if method not in ("GET", "HEAD"):
        return None
    route = unquote(urlsplit(path).path)
    if route.startswith(ASSETS_PREFIX):
        return _asset(route[len(ASSETS_PREFIX) :])
    file = _web_file(route)
    if file is None:
        return None
    body = file.read_bytes()
    content_type = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    # Locally the files change under the developer's hands: always revalidate.
    return _response(200, body, content_type, {"Cache-Control": "no-cache"})


def _web_file(route: str) -> Path | None:
    if route in ("/", "/index.html"):
        return WEB_DIR / "index.html"
    candidate = (WEB_DIR / route.lstrip("/")).resolve()
    if WEB_DIR not in candidate.parents or not candidate.is_file():
        return None
    return candidate


def _asset(key: str) -> dict[str, Any]:
    """As the assets distribution: checked images only, never sniffed, under its CSP."""
    from botocore.exceptions import ClientError

    from chalicelib.domain.catalog import PUBLISHED_IMAGES
    from infra.edge import ASSETS_CSP

    if not key.startswith(PUBLISHED_IMAGES):  # uploads in progress are never served
        return _response(404, b"", "text/plain", {})
    bucket = os.environ.get("ASSETS_BUCKET", "")
    try:
        obj = _s3().get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        status = 404 if code in ("NoSuchKey", "404", "NoSuchBucket") else 502
        return _response(status, b"", "text/plain", {})
    body = obj["Body"].read()
    headers = {
        "Cache-Control": "public, max-age=86400",
        "ETag": obj.get("ETag", ""),
        "Content-Security-Policy": ASSETS_CSP,
    }
    return _response(200, body, obj.get("ContentType", "application/octet-stream"), headers)


@lru_cache(maxsize=1)
def _s3() -> Any:
    import boto3

    return boto3.client("s3")


def _response(status: int, body: bytes, content_type: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_type, "X-Content-Type-Options": "nosniff", **headers},
        "multiValueHeaders": {},
        "body": body,
    }
