"""Accounts through the app (chalice.test.Client) against the emulator's Cognito."""

from __future__ import annotations

import json
import uuid

STRONG = "Sup3r-secret-pass"


def body(response):
    return json.loads(response.body)


def test_signup_confirm_login_profile_and_refresh(client, headers_for):
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    signed = client.http.post(
        "/auth/signup",
        headers=headers_for(),
        body=json.dumps({"email": email, "password": STRONG, "name": "New Person", "phone": "+15551234567"}),
    )
    assert signed.status_code == 201, signed.body
    created = body(signed)
    assert created["email"] == email and created["confirmation_required"] is True

    early = client.http.post(
        "/auth/login", headers=headers_for(), body=json.dumps({"email": email, "password": STRONG})
    )
    assert early.status_code == 403
    assert early.headers["Content-Type"] == "application/problem+json"

    confirmed = client.http.post("/auth/confirm", headers=headers_for(), body=json.dumps({"email": email, "code": "1"}))
    assert confirmed.status_code == 204

    logged = client.http.post(
        "/auth/login", headers=headers_for(), body=json.dumps({"email": email, "password": STRONG})
    )
    assert logged.status_code == 200
    tokens = body(logged)
    assert {"id_token", "access_token", "refresh_token", "expires_in"} <= set(tokens)

    me = client.http.get("/users/me", headers={"Authorization": tokens["id_token"]})
    assert me.status_code == 200
    profile = body(me)
    assert profile["user_id"] == created["user_id"]
    assert profile["roles"] == ["customers"]
    assert profile["name"] == "New Person" and profile["phone"] == "+15551234567"

    refreshed = client.http.post(
        "/auth/refresh", headers=headers_for(), body=json.dumps({"refresh_token": tokens["refresh_token"]})
    )
    assert refreshed.status_code == 200
    # The contract's fields: no refresh_token (the client keeps the one it has), not even a null one.
    assert set(body(refreshed)) == {"id_token", "access_token", "expires_in"}
    assert body(refreshed)["id_token"]


def test_duplicate_email_is_409(client, headers_for):
    payload = json.dumps({"email": "customer@demo.chowline.dev", "password": STRONG, "name": "Dup"})
    response = client.http.post("/auth/signup", headers=headers_for(), body=payload)
    assert response.status_code == 409
    assert body(response)["status"] == 409


def test_weak_password_names_the_field(client, headers_for):
    email = f"weak-{uuid.uuid4().hex[:8]}@example.com"
    payload = json.dumps({"email": email, "password": "alllowercase", "name": "Weak"})
    response = client.http.post("/auth/signup", headers=headers_for(), body=payload)
    assert response.status_code == 400
    assert [e["field"] for e in body(response)["errors"]] == ["password"]


def test_wrong_password_is_401(client, headers_for):
    payload = json.dumps({"email": "customer@demo.chowline.dev", "password": "Wrong-password-1"})
    response = client.http.post("/auth/login", headers=headers_for(), body=payload)
    assert response.status_code == 401
    assert body(response)["detail"] == "Wrong email or password"


def test_profile_update_round_trips(client, headers_for, new_user):
    _, email = new_user()
    update = {
        "name": "Renamed",
        "addresses": [{"label": "home", "line1": "1 Main St", "city": "Austin", "postcode": "78701", "lat": 30.2}],
    }
    token = _token(client, email)
    response = client.http.put(
        "/users/me", headers={"Authorization": token, "Content-Type": "application/json"}, body=json.dumps(update)
    )
    assert response.status_code == 200, response.body
    assert body(response)["addresses"][0]["city"] == "Austin"
    again = body(client.http.get("/users/me", headers={"Authorization": token}))
    assert again["name"] == "Renamed" and again["email"] == email


def _token(client, email):
    from devtools.seed import DEMO_PASSWORD

    response = client.http.post(
        "/auth/login",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"email": email, "password": DEMO_PASSWORD}),
    )
    return body(response)["id_token"]


def test_bad_input_is_a_problem_and_writes_nothing(client, headers_for, aws, stack):
    before = aws("dynamodb").get_item(TableName=stack["env"]["USERS_TABLE"], Key={"user_id": {"S": "x"}})
    cases = [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (json.dumps({"name": 5}).encode(), "name"),
        (json.dumps({"nickname": "x"}).encode(), "nickname"),
        (json.dumps({"phone": "12"}).encode(), "phone"),
        (json.dumps({"addresses": [{"label": "x"}]}).encode(), "addresses[0].line1"),
    ]
    for raw, field in cases:
        response = client.http.put("/users/me", headers=headers_for("customer"), body=raw)
        assert response.status_code == 400, (raw, response.body)
        problem = body(response)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert {"type", "title", "status", "detail"} <= set(problem)
        assert field in [e["field"] for e in problem["errors"]], problem
    after = aws("dynamodb").get_item(TableName=stack["env"]["USERS_TABLE"], Key={"user_id": {"S": "x"}})
    assert "Item" not in before and "Item" not in after


def test_oversized_body_is_413(client, headers_for):
    big = json.dumps({"name": "x" * (65 * 1024)})
    response = client.http.put("/users/me", headers=headers_for("customer"), body=big)
    assert response.status_code == 413
    assert body(response)["status"] == 413


def test_request_id_is_echoed_or_made(client, headers_for):
    echoed = client.http.get("/health", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["X-Request-Id"] == "abc-123"
    made = client.http.get("/health", headers={"X-Request-Id": "bad id\u00e9"})
    assert made.headers["X-Request-Id"] not in ("", "bad id\u00e9")


def test_health(client):
    response = client.http.get("/health")
    assert response.status_code == 200
    assert body(response)["status"] == "ok"


def test_non_json_content_type_is_415_problem(client):
    response = client.http.post("/auth/login", headers={"Content-Type": "text/plain"}, body=b"hi")
    assert response.status_code == 415
    assert response.headers["Content-Type"] == "application/problem+json"
