"""Token forgery helpers for the auth tests."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def signing_key(jwk: dict[str, Any]) -> Any:
    """A private key from its JWK: ``signing_key(emulator.signing_key())`` is the key this
    emulator run signs with, so a test can mint tokens the JWKS accepts, with any claims."""
    return RSAAlgorithm.from_jwk(json.dumps(jwk))


def moto_shipped_key() -> Any:
    """The private key moto ships in its package (kid "dummy"): anyone has it, so whatever it
    signs is a forgery."""
    from moto.utilities.utils import load_resource

    return signing_key(load_resource("cognitoidp/resources/jwks-private.json"))


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def resign(token: str, key: Any, kid: str | None = None, **changes: Any) -> str:
    """The token's claims with ``changes``, signed with ``key`` under ``kid`` (default: the token's)."""
    claims = {**claims_of(token), **changes}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid or jwt.get_unverified_header(token)["kid"]})


def forged(token: str) -> str:
    """Same claims and kid, signed with a key the pool never issued."""
    return resign(token, rsa.generate_private_key(public_exponent=65537, key_size=2048))


def minted_with_moto_key(token: str, **changes: Any) -> str:
    """The token's claims (with ``changes``) signed as moto signs out of the box: its shipped
    key and kid "dummy"."""
    return resign(token, moto_shipped_key(), kid="dummy", **changes)


def expired(token: str, key: Any) -> str:
    past = int(time.time()) - 3600
    return resign(token, key, exp=past, iat=past - 3600)
