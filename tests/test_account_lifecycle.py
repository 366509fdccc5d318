"""The account lifecycle through the app against the emulator's Cognito: password reset,
TOTP MFA, the post-confirmation step, sign-out and account deletion."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pyotp
import pytest

from tests.ordering import body_of, order_body, order_item, place, seed_product, seed_restaurant, table

STRONG = "Sup3r-secret-pass"
NEWER = "An0ther-secret-pass"


def post(client: Any, path: str, payload: Any, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    raw = payload if isinstance(payload, bytes) else json.dumps(payload)
    return client.http.post(path, headers=headers, body=raw)


def login(client: Any, email: str, password: str) -> Any:
    return post(client, "/auth/login", {"email": email, "password": password})


def tokens_of(client: Any, email: str, password: str | None = None) -> dict[str, Any]:
    from devtools.seed import DEMO_PASSWORD

    response = login(client, email, password or DEMO_PASSWORD)
    assert response.status_code == 200, response.body
    return body_of(response)


def emailed_reset_code(stack: dict[str, Any], email: str) -> str:
    """The code Cognito would email: the emulator hands it out in a response header."""
    idp = stack["session"].client("cognito-idp")
    out = idp.forgot_password(ClientId=stack["env"]["USER_POOL_CLIENT_ID"], Username=email)
    return out["ResponseMetadata"]["HTTPHeaders"]["x-moto-forgot-password-confirmation-code"]


def totp_code(secret: str) -> str:
    """A current code, not about to roll over (the emulator accepts the current step only)."""
    totp = pyotp.TOTP(secret)
    if totp.interval - time.time() % totp.interval < 3:
        time.sleep(3.5)
    return totp.now()


def wrong_code(secret: str) -> str:
    right = pyotp.TOTP(secret).now()
    return f"{(int(right) + 1) % 1_000_000:06d}"


def groups_of(stack: dict[str, Any], username: str) -> list[str]:
    idp = stack["session"].client("cognito-idp")
    out = idp.admin_list_groups_for_user(UserPoolId=stack["env"]["USER_POOL_ID"], Username=username)
    return [g["GroupName"] for g in out["Groups"]]


def profiles_of(aws: Any, user_id: str) -> list[dict[str, Any]]:
    out = aws("dynamodb").query(
        TableName=table("users"),
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": user_id}},
    )
    return out["Items"]


# --- password reset --------------------------------------------------------------------


def test_forgot_answers_the_same_for_known_and_unknown_emails(client, new_user):
    _, email = new_user()
    known = post(client, "/auth/forgot", {"email": email})
    unknown = post(client, "/auth/forgot", {"email": f"nobody-{uuid.uuid4().hex[:8]}@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.body == unknown.body and body_of(known) == {}
    assert known.headers["Content-Type"] == unknown.headers["Content-Type"]


def test_forgot_hides_what_only_an_existing_account_can_cause(client, new_user):
    from tests.ordering import throttle

    _, email = new_user()
    undo, calls = throttle("ForgotPassword", "cognito-idp", "LimitExceededException")
    try:
        limited = post(client, "/auth/forgot", {"email": email})
    finally:
        undo()
    assert calls["n"] == 1
    assert limited.status_code == 202 and body_of(limited) == {}


def test_reset_with_the_code_replaces_the_password(client, stack, new_user):
    from devtools.seed import DEMO_PASSWORD

    _, email = new_user()
    assert post(client, "/auth/forgot", {"email": email}).status_code == 202
    code = emailed_reset_code(stack, email)
    reset = post(client, "/auth/reset", {"email": email, "code": code, "password": NEWER})
    assert reset.status_code == 204, reset.body
    assert login(client, email, DEMO_PASSWORD).status_code == 401
    assert login(client, email, NEWER).status_code == 200


def test_reset_with_a_wrong_code_is_400_and_changes_nothing(client, stack, new_user):
    from devtools.seed import DEMO_PASSWORD

    _, email = new_user()
    right = emailed_reset_code(stack, email)
    wrong = right[:-1] + ("0" if right[-1] != "0" else "1")
    response = post(client, "/auth/reset", {"email": email, "code": wrong, "password": NEWER})
    assert response.status_code == 400
    problem = body_of(response)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in problem["errors"]] == ["code"]
    assert login(client, email, NEWER).status_code == 401
    assert login(client, email, DEMO_PASSWORD).status_code == 200


def test_reset_for_an_unknown_email_reads_as_a_wrong_code(client):
    response = post(
        client,
        "/auth/reset",
        {"email": f"nobody-{uuid.uuid4().hex[:8]}@example.com", "code": "123456", "password": NEWER},
    )
    assert response.status_code == 400
    assert [e["field"] for e in body_of(response)["errors"]] == ["code"]


def test_confirm_for_an_unknown_email_reads_as_a_wrong_code(client, stack, new_user):
    unknown = post(client, "/auth/confirm", {"email": f"nobody-{uuid.uuid4().hex[:8]}@example.com", "code": "1"})
    assert unknown.status_code == 400
    problem = body_of(unknown)
    assert [e["field"] for e in problem["errors"]] == ["code"]
    assert "account" not in problem["detail"].lower()


@pytest.mark.parametrize(
    ("path", "operation", "extra"),
    [("/auth/confirm", "ConfirmSignUp", {}), ("/auth/reset", "ConfirmForgotPassword", {"password": NEWER})],
)
@pytest.mark.parametrize(
    "cognito_error",
    ["NotAuthorizedException", "UserNotFoundException", "InvalidParameterException", "UserNotConfirmedException"],
)
def test_code_checks_answer_every_account_state_as_a_wrong_code(
    client, new_user, path, operation, extra, cognito_error
):
    """Already confirmed, unknown, without a verified email...: Cognito says which; we do not."""
    from tests.ordering import throttle

    _, email = new_user()
    nobody = post(client, path, {"email": f"nobody-{uuid.uuid4().hex[:8]}@example.com", "code": "123456", **extra})
    undo, calls = throttle(operation, "cognito-idp", cognito_error)
    try:
        answered = post(client, path, {"email": email, "code": "123456", **extra})
    finally:
        undo()
    assert calls["n"] == 1
    assert answered.status_code == nobody.status_code == 400
    assert body_of(answered) == body_of(nobody)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "a@example.com", "code": "1", "password": "alllowercase-long"}, "password"),
        ({"email": "a@example.com", "code": "1", "password": "Short-1"}, "password"),
        ({"email": "not-an-email", "code": "1", "password": NEWER}, "email"),
        ({"email": "a@example.com", "password": NEWER}, "code"),
        ({"email": "a@example.com", "code": "1", "password": NEWER, "extra": 1}, "extra"),
    ],
)
def test_reset_policy_errors_name_the_field(client, payload, field):
    response = post(client, "/auth/reset", payload)
    assert response.status_code == 400
    assert field in [e["field"] for e in body_of(response)["errors"]]


# --- TOTP MFA --------------------------------------------------------------------------


def test_mfa_enrol_verify_challenge_and_turn_off(client, stack, new_user):
    from chalicelib.bootstrap import container
    from devtools.seed import DEMO_PASSWORD

    _, email = new_user()
    tokens = tokens_of(client, email)
    enrolled = post(client, "/users/me/mfa", {"access_token": tokens["access_token"]}, tokens["id_token"])
    assert enrolled.status_code == 201, enrolled.body
    secret = body_of(enrolled)["secret"]
    uri = body_of(enrolled)["otpauth_uri"]
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    assert pyotp.parse_uri(uri).secret == secret

    bad_verify = post(
        client,
        "/users/me/mfa/verify",
        {"access_token": tokens["access_token"], "code": wrong_code(secret)},
        tokens["id_token"],
    )
    assert bad_verify.status_code == 400
    assert login(client, email, DEMO_PASSWORD).status_code == 200  # still off

    verified = post(
        client,
        "/users/me/mfa/verify",
        {"access_token": tokens["access_token"], "code": totp_code(secret)},
        tokens["id_token"],
    )
    assert verified.status_code == 204, verified.body

    challenged = body_of(login(client, email, DEMO_PASSWORD))
    assert challenged["challenge"] == "SOFTWARE_TOKEN_MFA" and challenged["session"]
    assert "id_token" not in challenged

    wrong = post(client, "/auth/mfa", {"email": email, "session": challenged["session"], "code": wrong_code(secret)})
    assert wrong.status_code == 401
    assert wrong.headers["Content-Type"] == "application/problem+json"

    challenged = body_of(login(client, email, DEMO_PASSWORD))
    answered = post(client, "/auth/mfa", {"email": email, "session": challenged["session"], "code": totp_code(secret)})
    assert answered.status_code == 200, answered.body
    issued = body_of(answered)
    claims = container().token_verifier(issued["id_token"])
    assert claims["email"] == email and claims["token_use"] == "id"
    assert client.http.get("/users/me", headers={"Authorization": issued["id_token"]}).status_code == 200

    off = client.http.delete("/users/me/mfa", headers={"Authorization": issued["id_token"]})
    assert off.status_code == 204
    plain = body_of(login(client, email, DEMO_PASSWORD))
    assert plain["id_token"] and "challenge" not in plain


def test_mfa_routes_refuse_another_users_access_token(client, new_user):
    _, mine = new_user()
    _, theirs = new_user()
    me, them = tokens_of(client, mine), tokens_of(client, theirs)
    for path, payload in [
        ("/users/me/mfa", {"access_token": them["access_token"]}),
        ("/users/me/mfa/verify", {"access_token": them["access_token"], "code": "123456"}),
        ("/auth/logout", {"access_token": them["access_token"]}),
    ]:
        response = post(client, path, payload, me["id_token"])
        assert response.status_code == 401, (path, response.body)
    refreshed = post(client, "/auth/refresh", {"refresh_token": them["refresh_token"]})
    assert refreshed.status_code == 200  # not signed out by someone else


# --- the post-confirmation step ------------------------------------------------------------


def confirmed_by_admin(stack: dict[str, Any], email: str) -> dict[str, str]:
    """A user as the hosted UI makes one: created in the pool, then confirmed; no /auth/signup."""
    from devtools.seed import DEMO_PASSWORD

    idp = stack["session"].client("cognito-idp")
    pool = stack["env"]["USER_POOL_ID"]
    idp.sign_up(
        ClientId=stack["env"]["USER_POOL_CLIENT_ID"],
        Username=email,
        Password=DEMO_PASSWORD,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "name", "Value": "Hosted Person"}],
    )
    idp.admin_confirm_sign_up(UserPoolId=pool, Username=email)
    user = idp.admin_get_user(UserPoolId=pool, Username=email)
    return {"Username": user["Username"], **{a["Name"]: a["Value"] for a in user["UserAttributes"]}}


def test_trigger_makes_a_customer_with_a_profile_who_can_order(client, stack, aws, new_user):
    import app as app_module
    from chalicelib.services.signup import confirmation_event

    email = f"hosted-{uuid.uuid4().hex[:8]}@test.chowline.dev"
    user = confirmed_by_admin(stack, email)
    attributes = {k: v for k, v in user.items() if k != "Username"}
    event = confirmation_event(stack["env"]["USER_POOL_ID"], user["Username"], attributes)
    assert groups_of(stack, user["Username"]) == []

    assert app_module.post_confirmation(event, None) == event
    assert app_module.post_confirmation(event, None) == event  # Cognito may deliver it twice

    assert groups_of(stack, user["Username"]) == ["customers"]
    profiles = profiles_of(aws, user["sub"])
    assert len(profiles) == 1 and profiles[0]["name"] == {"S": "Hosted Person"}

    tokens = tokens_of(client, email)
    me = body_of(client.http.get("/users/me", headers={"Authorization": tokens["id_token"]}))
    assert me["roles"] == ["customers"] and me["name"] == "Hosted Person"
    owner_id, _ = new_user("customers", "restaurant_owners")
    restaurant = seed_restaurant(aws, owner_id)
    product = seed_product(aws, restaurant)
    headers = {"Content-Type": "application/json", "Authorization": tokens["id_token"]}
    placed = place(client, headers, order_body(restaurant, [(product, 1)]))
    assert placed.status_code == 202, placed.body


def test_trigger_after_a_password_reset_changes_nothing(stack, aws):
    import app as app_module
    from chalicelib.services.signup import confirmation_event

    email = f"reset-{uuid.uuid4().hex[:8]}@test.chowline.dev"
    user = confirmed_by_admin(stack, email)
    attributes = {k: v for k, v in user.items() if k != "Username"}
    event = {
        **confirmation_event(stack["env"]["USER_POOL_ID"], user["Username"], attributes),
        "triggerSource": "PostConfirmation_ConfirmForgotPassword",
    }
    assert app_module.post_confirmation(event, None) == event
    assert groups_of(stack, user["Username"]) == [] and profiles_of(aws, user["sub"]) == []


def test_a_repeated_trigger_keeps_profile_edits(client, stack, aws):
    import app as app_module
    from chalicelib.services.signup import confirmation_event

    email = f"edit-{uuid.uuid4().hex[:8]}@test.chowline.dev"
    user = confirmed_by_admin(stack, email)
    attributes = {k: v for k, v in user.items() if k != "Username"}
    event = confirmation_event(stack["env"]["USER_POOL_ID"], user["Username"], attributes)
    app_module.post_confirmation(event, None)
    token = tokens_of(client, email)["id_token"]
    headers = {"Authorization": token, "Content-Type": "application/json"}
    assert client.http.put("/users/me", headers=headers, body=json.dumps({"name": "Edited"})).status_code == 200
    app_module.post_confirmation(event, None)
    assert body_of(client.http.get("/users/me", headers=headers))["name"] == "Edited"


# --- sign-out ------------------------------------------------------------------------------


def test_logout_voids_every_refresh_token(client, new_user):
    _, email = new_user()
    first = tokens_of(client, email)
    second = tokens_of(client, email)
    out = post(client, "/auth/logout", {"access_token": second["access_token"]}, second["id_token"])
    assert out.status_code == 204, out.body
    for earlier in (first, second):
        refreshed = post(client, "/auth/refresh", {"refresh_token": earlier["refresh_token"]})
        assert refreshed.status_code == 401, refreshed.body
    assert post(client, "/auth/logout", {"access_token": second["access_token"]}, second["id_token"]).status_code == 401


# --- deletion ------------------------------------------------------------------------------


def test_deletion_waits_for_orders_in_flight_then_redacts_past_orders(client, stack, aws, new_user):
    from devtools.seed import DEMO_PASSWORD

    user_id, email = new_user()
    owner_id, owner_email = new_user("customers", "restaurant_owners")
    restaurant = seed_restaurant(aws, owner_id)
    product = seed_product(aws, restaurant)
    token = tokens_of(client, email)["id_token"]
    headers = {"Content-Type": "application/json", "Authorization": token}
    order_id = body_of(place(client, headers, order_body(restaurant, [(product, 1)], notes="ring twice")))["order_id"]

    refused = client.http.delete("/users/me", headers=headers)
    assert refused.status_code == 409
    assert order_id in body_of(refused)["detail"]
    assert login(client, email, DEMO_PASSWORD).status_code == 200
    assert len(profiles_of(aws, user_id)) == 1
    assert order_item(aws, order_id)["delivery_address"]["line1"] == "1 Main St"

    cancelled = client.http.post(f"/orders/{order_id}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.body
    deleted = client.http.delete("/users/me", headers=headers)
    assert deleted.status_code == 204, deleted.body

    assert login(client, email, DEMO_PASSWORD).status_code == 401
    assert profiles_of(aws, user_id) == []
    owner_headers = {"Authorization": tokens_of(client, owner_email)["id_token"]}
    kept = client.http.get(f"/orders/{order_id}", headers=owner_headers)
    assert kept.status_code == 200, kept.body
    order = body_of(kept)
    assert order["status"] == "CANCELLED" and order["total_cents"] == 1000 and order["items"]
    assert order["delivery_address"]["line1"] == "[redacted]"
    assert order["delivery_address"]["postcode"] == "[redacted]"
    assert order.get("notes") is None
    assert "1 Main St" not in json.dumps(order_item(aws, order_id))

    again = client.http.delete("/users/me", headers=headers)  # a retry with the same token
    assert again.status_code == 204


def test_deletion_without_orders_removes_the_login(client, new_user):
    from devtools.seed import DEMO_PASSWORD

    _, email = new_user()
    token = tokens_of(client, email)["id_token"]
    assert client.http.delete("/users/me", headers={"Authorization": token}).status_code == 204
    assert login(client, email, DEMO_PASSWORD).status_code == 401


def test_deletion_removes_the_devices_and_their_push_endpoints(client, aws, new_user):
    user_id, email = new_user()
    headers = {"Authorization": tokens_of(client, email)["id_token"]}
    registered = client.http.post(
        "/users/me/devices",
        headers={**headers, "Content-Type": "application/json"},
        body=json.dumps({"platform": "fcm", "token": f"fcm-{uuid.uuid4().hex}"}),
    )
    assert registered.status_code == 201, registered.body

    def devices() -> list[dict[str, Any]]:
        query = {"KeyConditionExpression": "user_id = :u", "ExpressionAttributeValues": {":u": {"S": user_id}}}
        return aws("dynamodb").query(TableName=table("devices"), **query)["Items"]

    [device] = devices()
    assert client.http.delete("/users/me", headers=headers).status_code == 204
    assert devices() == []
    sns = aws("sns")
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.get_endpoint_attributes(EndpointArn=device["endpoint_arn"]["S"])


# --- bad input writes nothing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "payload", "signed_in"),
    [
        ("/auth/forgot", b"{not json", False),
        ("/auth/forgot", {"email": 5}, False),
        ("/auth/forgot", {"email": "{email}", "again": True}, False),
        ("/auth/reset", {"email": "{email}", "code": "", "password": NEWER}, False),
        ("/auth/reset", {"email": "{email}", "code": "123456", "password": "weakpassword1"}, False),
        ("/auth/reset", {"email": "{email}", "code": "1 2", "password": NEWER}, False),
        ("/auth/mfa", {"email": "{email}", "session": "s" * 20, "code": "12345"}, False),
        ("/auth/mfa", {"email": "{email}", "session": "s", "code": "123456"}, False),
        ("/auth/mfa", {"email": "{email}", "session": "s" * 20, "code": "123456", "x": 1}, False),
        ("/auth/logout", {}, True),
        ("/auth/logout", [1], True),
        ("/users/me/mfa", {"access_token": ""}, True),
        ("/users/me/mfa/verify", {"access_token": "x", "code": "abcdef"}, True),
        ("/users/me/mfa/verify", {"access_token": "a b", "code": "123456"}, True),
    ],
)
def test_bad_input_is_a_400_problem_and_writes_nothing(client, stack, new_user, path, payload, signed_in):
    from devtools.seed import DEMO_PASSWORD

    _, email = new_user()
    tokens = tokens_of(client, email)
    if isinstance(payload, dict):
        payload = {k: (email if v == "{email}" else v) for k, v in payload.items()}
    response = post(client, path, payload, tokens["id_token"] if signed_in else None)
    assert response.status_code == 400, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert body_of(response)["errors"]
    # Nothing changed: still signed in, refresh works, no MFA challenge.
    assert post(client, "/auth/refresh", {"refresh_token": tokens["refresh_token"]}).status_code == 200
    assert "id_token" in body_of(login(client, email, DEMO_PASSWORD))
