"""Every protected route verifies the Cognito ID token (signature, exp, iss, aud, token_use)."""

from __future__ import annotations

import json

import pytest

from tests.tokens import claims_of, expired, forged, minted_with_moto_key, moto_shipped_key, resign, signing_key


def attacks(stack, token_for):
    good = token_for("customer")
    key = signing_key(stack["emulator"].signing_key())
    return {
        "missing": None,
        "empty bearer": "Bearer ",
        "garbage": "garbage",
        "three garbage segments": "a.b.c",
        "forged": forged(good),
        "moto's shipped key": minted_with_moto_key(good),
        "moto's shipped key, this run's kid": resign(good, moto_shipped_key()),
        "expired": expired(good, key),
        "wrong audience": resign(good, key, aud="some-other-client"),
        "wrong issuer": resign(good, key, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"),
        "access token": resign(good, key, token_use="access"),
        "alg none": good.split(".")[0] + "." + good.split(".")[1] + ".",
    }


def test_valid_token_passes(client, token_for):
    response = client.http.get("/users/me", headers={"Authorization": f"Bearer {token_for('customer')}"})
    assert response.status_code == 200
    assert json.loads(response.body)["email"] == "customer@demo.chowline.dev"


def test_bare_token_is_accepted(client, token_for):
    assert client.http.get("/users/me", headers={"Authorization": token_for("customer")}).status_code == 200


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "empty bearer",
        "garbage",
        "three garbage segments",
        "forged",
        "moto's shipped key",
        "moto's shipped key, this run's kid",
        "expired",
        "wrong audience",
        "wrong issuer",
        "access token",
        "alg none",
    ],
)
def test_bad_tokens_are_401_problems(client, stack, token_for, case):
    token = attacks(stack, token_for)[case]
    headers = {} if token is None else {"Authorization": token}
    response = client.http.get("/users/me", headers=headers)
    assert response.status_code == 401, (case, response.body)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert json.loads(response.body)["status"] == 401


def test_token_of_another_pool_is_401(client, stack, aws):
    idp = aws("cognito-idp")
    pool = idp.create_user_pool(PoolName="other-pool", UsernameAttributes=["email"])["UserPool"]
    app_client = idp.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="other", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]
    idp.admin_create_user(UserPoolId=pool["Id"], Username="x@other.dev", MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=pool["Id"], Username="x@other.dev", Password="Other-pass-123", Permanent=True
    )
    token = idp.initiate_auth(
        ClientId=app_client["ClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "x@other.dev", "PASSWORD": "Other-pass-123"},
    )["AuthenticationResult"]["IdToken"]
    assert claims_of(token)["iss"].endswith(pool["Id"])
    assert client.http.get("/users/me", headers={"Authorization": token}).status_code == 401


def test_roles_come_from_cognito_groups(client, token_for):
    profile = json.loads(client.http.get("/users/me", headers={"Authorization": token_for("owner")}).body)
    assert profile["roles"] == ["customers", "restaurant_owners"]


def test_public_routes_ignore_tokens(client):
    assert client.http.get("/health", headers={"Authorization": "garbage"}).status_code == 200


RESTAURANT = {"name": "Forged Diner", "city": "Springfield", "cuisine": "diner", "address": "1 Main St"}


def test_admin_token_minted_with_the_key_moto_ships_is_401(client, stack, token_for):
    good = token_for("customer")
    admin_claims = {"cognito:groups": ["admins"]}
    body = json.dumps({**RESTAURANT, "owner_id": claims_of(good)["sub"]})
    for token in (minted_with_moto_key(good, **admin_claims), resign(good, moto_shipped_key(), **admin_claims)):
        response = client.http.post("/restaurants", headers={"Authorization": f"Bearer {token}"}, body=body)
        assert response.status_code == 401, response.body
    # The same claims signed with this run's key pass: only the key made the difference.
    genuine = resign(good, signing_key(stack["emulator"].signing_key()), **admin_claims)
    assert client.http.get("/users/me", headers={"Authorization": f"Bearer {genuine}"}).status_code == 200


class Clock:
    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_verified_token_is_kept_as_the_authorizer_keeps_it_and_never_past_its_expiry(stack, token_for, monkeypatch):
    import jwt

    from chalicelib.adapters.token_verifier import AUTHORIZER_RESULT_TTL_SECONDS, CognitoTokenVerifier
    from chalicelib.bootstrap import container
    from chalicelib.domain.errors import Unauthorized

    s, clock = container().settings, Clock()
    verifier = CognitoTokenVerifier(
        s.jwks_url, s.issuer, s.user_pool_client_id, result_ttl_seconds=AUTHORIZER_RESULT_TTL_SECONDS, clock=clock
    )
    key = signing_key(stack["emulator"].signing_key())
    good = resign(token_for("customer"), key, exp=int(clock.now) + 3600)
    soon = resign(good, key, exp=int(clock.now) + AUTHORIZER_RESULT_TTL_SECONDS + 60)  # 60 s after the TTL below
    refused = [forged(good), resign(good, key, aud="some-other-client")]
    user_id, soon_expires = claims_of(good)["sub"], claims_of(soon)["exp"]
    checked: list[str] = []  # the tokens whose signature and claims PyJWT checked
    decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda token, **kwargs: checked.append(token) or decode(token, **kwargs))

    first = verifier.verify(good)
    first["sub"] = "changed by a caller"
    assert verifier.verify(good)["sub"] == user_id, "each caller gets its own copy"
    assert checked == [good], "the second request's token was not checked again"
    clock.now += AUTHORIZER_RESULT_TTL_SECONDS
    verifier.verify(good)
    assert checked == [good, good], "checked again once the result's time is up"

    for bad in refused:
        for _ in range(2):
            with pytest.raises(Unauthorized):
                verifier.verify(bad)
        assert checked.count(bad) == 2, "a refused token is not kept"

    # Kept no longer than the token lives: past its exp the cache answers nothing, and the
    # token goes to PyJWT again (which, on its own clock, refuses it once expired).
    verifier.verify(soon)
    verifier.verify(soon)
    assert checked.count(soon) == 1
    clock.now = soon_expires + 1
    verifier.verify(soon)
    assert checked.count(soon) == 2
