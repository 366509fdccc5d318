"""End to end over HTTP: the real local stack (emulator + provisioning + seed + chalice's
local server) in a subprocess, as ``make run`` starts it."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.localstack import LocalStack
from tests.tokens import expired, forged, minted_with_moto_key, resign, signing_key


@pytest.fixture(scope="module")
def local_stack():
    stack = LocalStack().start()
    yield stack
    assert stack.stop() == 0, "Ctrl-C/TERM must stop the stack cleanly"


def test_serves_health_within_60_seconds(local_stack):
    assert local_stack.started_in < 60
    response = local_stack.http.get(f"{local_stack.url}/health", timeout=5)
    assert response.json()["status"] == "ok"
    assert response.headers["X-Request-Id"]


def test_signup_confirm_login_me_refresh_and_token_attacks(local_stack):
    url = local_stack.url
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    password = "E2e-secret-pass"
    signed = local_stack.http.post(
        f"{url}/auth/signup", json={"email": email, "password": password, "name": "E2E"}, timeout=10
    )
    assert signed.status_code == 201, signed.text
    assert (
        local_stack.http.post(f"{url}/auth/confirm", json={"email": email, "code": "123456"}, timeout=10).status_code
        == 204
    )
    tokens = local_stack.http.post(f"{url}/auth/login", json={"email": email, "password": password}, timeout=10).json()

    me = local_stack.http.get(f"{url}/users/me", headers={"Authorization": f"Bearer {tokens['id_token']}"}, timeout=10)
    assert me.status_code == 200
    assert me.json()["user_id"] == signed.json()["user_id"]
    assert me.json()["roles"] == ["customers"]

    refreshed = local_stack.http.post(
        f"{url}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, timeout=10
    )
    assert refreshed.status_code == 200
    assert local_stack.http.get(
        f"{url}/users/me", headers={"Authorization": refreshed.json()["id_token"]}, timeout=10
    ).ok

    good = tokens["id_token"]
    key = signing_key(local_stack.signing_key())
    for name, token in {
        "garbage": "not-a-jwt",
        "forged": forged(good),
        "admin minted with moto's shipped key": minted_with_moto_key(good, **{"cognito:groups": ["admins"]}),
        "expired": expired(good, key),
        "wrong audience": resign(good, key, aud="another-app-client"),
    }.items():
        response = local_stack.http.get(f"{url}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 401, name
        assert response.headers["Content-Type"] == "application/problem+json", name
    assert local_stack.http.get(f"{url}/users/me", timeout=10).status_code == 401
    admin = minted_with_moto_key(good, **{"cognito:groups": ["admins"]})
    restaurant = {"name": "Forged", "city": "Springfield", "cuisine": "x", "address": "1 Main St", "owner_id": "x"}
    created = local_stack.http.post(f"{url}/restaurants", json=restaurant, headers={"Authorization": admin}, timeout=10)
    assert created.status_code == 401, created.text


def test_demo_accounts_log_in(local_stack):
    for who in ("customer", "owner", "courier", "admin"):
        response = local_stack.http.post(
            f"{local_stack.url}/auth/login",
            json={"email": f"{who}@demo.chowline.dev", "password": "Chowline-demo-1"},
            timeout=10,
        )
        assert response.status_code == 200, who


def test_no_cross_origin_access_locally(local_stack):
    """The web app is same-origin: no response, error or preflight, grants another origin."""
    origin = {"Origin": "https://elsewhere.example"}
    preflight = local_stack.http.options(
        f"{local_stack.url}/restaurants",
        headers={**origin, "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    answers = [
        preflight,
        local_stack.http.get(f"{local_stack.url}/restaurants", headers=origin, timeout=10),
        local_stack.http.get(f"{local_stack.url}/no-such-path", headers=origin, timeout=10),
        local_stack.http.get(f"{local_stack.url}/users/me", headers=origin, timeout=10),
    ]
    assert preflight.status_code == 405
    assert [r.status_code for r in answers[1:]] == [200, 404, 401]
    for response in answers:
        assert not [h for h in response.headers if h.lower().startswith("access-control-")], response.url


def test_api_keys_are_enforced_as_the_gateway_does(local_stack):
    from devtools.api_keys import DEMO_API_KEYS

    url = local_stack.url
    for headers in ({}, {"X-Api-Key": "not-a-key-of-ours"}):
        refused = requests.get(f"{url}/restaurants", headers=headers, timeout=10)
        assert refused.status_code == 403, refused.text
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["title"] == "Forbidden" and refused.json()["status"] == 403
        # The key is checked before the token, and before the body is looked at.
        assert requests.get(f"{url}/users/me", headers=headers, timeout=10).status_code == 403
        assert requests.post(f"{url}/auth/login", data=b"{", headers=headers, timeout=10).status_code == 403
    for app, key in DEMO_API_KEYS.items():
        assert requests.get(f"{url}/restaurants", headers={"X-Api-Key": key}, timeout=10).status_code == 200, app
    assert requests.get(f"{url}/users/me", headers={"X-Api-Key": DEMO_API_KEYS["web"]}, timeout=10).status_code == 401
    # What monitors and clients need before they hold a key; an unknown path stays a 404.
    assert requests.get(f"{url}/health", timeout=10).status_code == 200
    assert requests.get(f"{url}/openapi.json", timeout=10).status_code == 200
    assert requests.get(f"{url}/no-such-path", timeout=10).status_code == 404
