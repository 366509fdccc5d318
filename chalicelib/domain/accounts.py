"""Accounts: request and response models (the roles users can hold: ``principal``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from chalicelib.domain.base import RequestModel, ResponseModel, text

Email = Annotated[
    str,
    StringConstraints(
        min_length=6,
        max_length=128,  # Cognito's longest username
        # A subset of what Cognito accepts, so a valid request is never refused downstream.
        pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$",
        to_lower=True,
    ),
]
Name = Annotated[str, text(100, 1)]
Phone = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]


def _password_policy(value: str) -> str:
    """The user pool's policy (infra/template.json), checked before Cognito is asked."""
    classes = [any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value)]
    classes.append(any(not c.isalnum() for c in value))
    if not all(classes):
        raise ValueError("use upper- and lower-case letters, a digit and a symbol")
    return value


Password = Annotated[
    str,
    StringConstraints(min_length=10, max_length=256, strip_whitespace=False),
    AfterValidator(_password_policy),
    Field(description="At least 10 characters with upper- and lower-case letters, a digit and a symbol."),
]


class SignUp(RequestModel):
    email: Email
    password: Password
    name: Name
    phone: Phone | None = None


class Confirm(RequestModel):
    email: Email
    code: Annotated[str, text(16, 1)]


class Login(RequestModel):
    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=256, strip_whitespace=False)]


class Refresh(RequestModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=8192)]


Code = Annotated[str, text(64, 1, also_refuse=" ")]
AccessToken = Annotated[
    str,
    StringConstraints(min_length=1, max_length=8192, pattern=r"^[A-Za-z0-9_=.-]+$"),
    Field(description="The caller's Cognito access token (from /auth/login)."),
]
TotpCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$"), Field(description="The 6-digit TOTP code.")]


class ForgotPassword(RequestModel):
    email: Email


class ResetPassword(RequestModel):
    email: Email
    code: Code
    password: Password


class MfaAnswer(RequestModel):
    email: Email
    session: Annotated[str, StringConstraints(min_length=20, max_length=4096)]
    code: TotpCode


class AccessTokenBody(RequestModel):
    access_token: AccessToken


class MfaVerify(RequestModel):
    access_token: AccessToken
    code: TotpCode


def _coordinate(value: float) -> float:
    # 7 decimals is about 1 cm; it also keeps values inside DynamoDB's number range.
    return round(value, 7)


Latitude = Annotated[float, Field(ge=-90, le=90), AfterValidator(_coordinate)]
Longitude = Annotated[float, Field(ge=-180, le=180), AfterValidator(_coordinate)]


class Address(RequestModel):
    label: Annotated[str, text(40, 1)]
    line1: Annotated[str, text(200, 1)]
    city: Annotated[str, text(100, 1)]
    postcode: Annotated[str, text(20, 1)]
    lat: Latitude | None = None
    lng: Longitude | None = None


class ProfileUpdate(RequestModel):
    name: Name | None = None
    phone: Phone | None = None
    addresses: Annotated[list[Address], Field(max_length=10)] | None = None


class SignUpResult(ResponseModel):
    user_id: str
    email: str
    confirmation_required: bool


class TokensOut(ResponseModel):
    # ``kind`` tells a login's two answers apart (the discriminator of ``LoginResult``).
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    kind: Literal["tokens"] = "tokens"
    id_token: str
    access_token: str
    refresh_token: str | None = None
    expires_in: int


class RefreshedTokens(ResponseModel):
    """POST /auth/refresh: new ID and access tokens; the refresh token stays the one sent."""

    id_token: str
    access_token: str
    expires_in: int


class Accepted(ResponseModel):
    """The same empty body whatever happened (POST /auth/forgot: no account enumeration)."""


class MfaEnrolment(ResponseModel):
    secret: str
    otpauth_uri: str


class ChallengeOut(ResponseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    kind: Literal["challenge"] = "challenge"
    challenge: str
    session: str


LoginResult = Annotated[TokensOut | ChallengeOut, Field(discriminator="kind")]


class Profile(ResponseModel):
    user_id: str
    email: str
    name: str | None = None
    phone: str | None = None
    roles: list[str] = []
    addresses: list[dict[str, object]] = []


# --- the post-confirmation step -------------------------------------------------------------

ISSUER = "Chowline"


def otpauth_uri(secret: str, email: str) -> str:
    """The key URI authenticator apps scan (the Google Authenticator key-URI format)."""
    from urllib.parse import quote, urlencode

    label = quote(f"{ISSUER}:{email}")
    return f"otpauth://totp/{label}?" + urlencode({"secret": secret, "issuer": ISSUER})


def new_profile(user_id: str, attributes: dict[str, str], now: str) -> dict[str, str]:
    """The profile every confirmed account starts with, from its Cognito attributes."""
    profile = {"user_id": user_id, "email": attributes.get("email", ""), "created_at": now}
    for field, attribute in (("name", "name"), ("phone", "phone_number")):
        if attributes.get(attribute):
            profile[field] = attributes[attribute]
    return profile


def token_subject(token: str) -> str | None:
    """The ``sub`` claim of a JWT, unverified: only to match an access token sent in a body
    with the verified caller (Cognito itself verifies the token when it is used)."""
    import base64
    import binascii
    import json

    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) else None
