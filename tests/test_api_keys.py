"""API keys locally: which requests the local server refuses, and the keys `make run` prints."""

from __future__ import annotations

import json

from chalice.local import RouteMatcher

import app as app_module
from chalicelib.domain.errors import PROBLEMS
from devtools import api_keys
from devtools.run import banner


def test_the_key_check_follows_the_route_table():
    routes = app_module.app.routes
    matcher = RouteMatcher(list(routes))
    assert api_keys.key_required(routes, matcher, "GET", "/restaurants/r-1/products")
    assert api_keys.key_required(routes, matcher, "POST", "/auth/login")
    assert not api_keys.key_required(routes, matcher, "GET", "/health")
    assert not api_keys.key_required(routes, matcher, "GET", "/no/such/path")
    assert not api_keys.key_required(routes, matcher, "OPTIONS", "/restaurants")


def test_a_refusal_is_the_gateway_s_problem_document():
    refused = api_keys.forbidden()
    body = json.loads(refused["body"])
    assert refused["statusCode"] == body["status"] == 403
    assert (body["type"], body["title"]) == (PROBLEMS[403].type, PROBLEMS[403].title)
    assert body["request_id"] == refused["headers"]["X-Request-Id"]
    assert refused["headers"]["Content-Type"] == "application/problem+json"


def test_make_run_prints_each_demo_key():
    class Emulator:
        url = "http://127.0.0.1:5000"

    printed = banner(8000, Emulator())  # type: ignore[arg-type]
    for app, key in api_keys.DEMO_API_KEYS.items():
        assert f"{app}" in printed and key in printed
    assert "X-Api-Key" in printed and "/health" in printed
