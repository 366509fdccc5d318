"""The local server's edge: the web app at /, the API under /api/, nothing else of the
project readable through it."""

from __future__ import annotations

import pytest

from devtools import webroot


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/restaurants?city=Austin", "/restaurants?city=Austin"),
        ("/api/orders/ord_1/status", "/orders/ord_1/status"),
        ("/api", "/"),
        ("/api?x=1", "/?x=1"),
        ("/restaurants", "/restaurants"),
        ("/apiary", "/apiary"),
    ],
)
def test_the_api_answers_under_api_and_at_the_bare_paths(path: str, expected: str) -> None:
    assert webroot.api_path(path) == expected


def test_the_site_root_is_the_web_app() -> None:
    index = webroot.respond("GET", "/?utm=x")
    assert index is not None and index["statusCode"] == 200
    assert index["headers"]["Content-Type"].startswith("text/html")
    assert b'<script type="module" src="js/app.js">' in index["body"]
    module = webroot.respond("GET", "/js/pages/order.js")
    assert module is not None and module["headers"]["Content-Type"].startswith("text/javascript")
    head, get = webroot.respond("HEAD", "/css/app.css"), webroot.respond("GET", "/css/app.css")
    assert head is not None and head["statusCode"] == 200 and head == get  # the server drops a HEAD's body


@pytest.mark.parametrize(
    "path",
    ["/js/../../app.py", "/%2e%2e/app.py", "/..%2fapp.py", "/js/%2e%2e/%2e%2e/.chalice/config.json", "/js"],
)
def test_nothing_outside_web_is_served(path: str) -> None:
    assert webroot.respond("GET", path) is None


@pytest.mark.parametrize(("method", "path"), [("POST", "/"), ("GET", "/restaurants"), ("GET", "/health")])
def test_api_requests_pass_through(method: str, path: str) -> None:
    assert webroot.respond(method, path) is None


def test_assets_serve_checked_images_only_never_sniffed_under_the_cdns_csp(stack, aws) -> None:
    from infra.edge import ASSETS_CSP

    bucket = stack["env"]["ASSETS_BUCKET"]
    aws("s3").put_object(Bucket=bucket, Key="uploads/in-progress.png", Body=b"<html>", ContentType="image/png")
    aws("s3").put_object(Bucket=bucket, Key="images/checked.png", Body=b"\x89PNG", ContentType="image/png")

    assert webroot.respond("GET", "/assets/uploads/in-progress.png")["statusCode"] == 404
    served = webroot.respond("GET", "/assets/images/checked.png")
    assert served["statusCode"] == 200 and served["body"] == b"\x89PNG"
    assert served["headers"]["X-Content-Type-Options"] == "nosniff"
    assert served["headers"]["Content-Security-Policy"] == ASSETS_CSP
