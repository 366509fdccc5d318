"""The caller's identity: read from the authorizer's claims, or verified here where no
API Gateway authorizer stands in front of the app (the local stack and tests)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from chalice.app import Request

from chalicelib.domain.errors import Unauthorized
from chalicelib.domain.principal import Principal

Verifier = Callable[[str], dict[str, Any]]


def bearer_token(request: Request) -> str:
    raw = (request.headers or {}).get("authorization", "") or ""
    token = raw.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    if not token:
        raise Unauthorized("An Authorization header with a Cognito ID token is required")
    return token


def authenticate(request: Request, verify: Verifier) -> None:
    """Verifies the bearer token and puts its claims where API Gateway would."""
    claims = verify(bearer_token(request))
    request.context["authorizer"] = {"claims": claims}


def principal_of(request: Request) -> Principal:
    claims = (request.context or {}).get("authorizer", {}).get("claims") or {}
    user_id = claims.get("sub")
    if not user_id:
        raise Unauthorized("The request carries no verified identity")
    return Principal(
        user_id=str(user_id),
        email=str(claims.get("email", "")),
        roles=parse_groups(claims),
        username=str(claims.get("cognito:username", "")),
    )


def parse_groups(claims: dict[str, Any]) -> frozenset[str]:
    """``cognito:groups`` is a list in the JWT but a string such as "[a b]" or "a,b" once
    API Gateway has flattened the claims."""
    groups = claims.get("cognito:groups") or []
    if isinstance(groups, str):
        groups = [g for g in re.split(r"[\s,\[\]]+", groups) if g]
    return frozenset(str(g) for g in groups)
