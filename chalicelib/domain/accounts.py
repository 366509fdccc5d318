"""Accounts: request models and the roles users can hold."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from chalicelib.domain.base import RequestModel, ResponseModel

CUSTOMERS = "customers"
RESTAURANT_OWNERS = "restaurant_owners"
COURIERS = "couriers"
ADMINS = "admins"
ROLES = (CUSTOMERS, RESTAURANT_OWNERS, COURIERS, ADMINS)

Email = Annotated[
    str,
    StringConstraints(
        min_length=6,
        max_length=254,
        # A subset of what Cognito accepts, so a valid request is never refused downstream.
        pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$",
        to_lower=True,
    ),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]
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
    code: Annotated[str, StringConstraints(min_length=1, max_length=16)]


class Login(RequestModel):
    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=256, strip_whitespace=False)]


class Refresh(RequestModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=8192)]


def _coordinate(value: float) -> float:
    # 7 decimals is about 1 cm; it also keeps values inside DynamoDB's number range.
    return round(value, 7)


class Address(RequestModel):
    label: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    line1: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    city: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    postcode: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    lat: Annotated[float, Field(ge=-90, le=90), AfterValidator(_coordinate)] | None = None
    lng: Annotated[float, Field(ge=-180, le=180), AfterValidator(_coordinate)] | None = None


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
