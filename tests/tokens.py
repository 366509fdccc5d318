"""Token forgery helpers for the auth tests."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def moto_signing_key() -> Any:
    """The emulator's own private key: lets a test mint a token the JWKS would accept."""
    from moto.utilities.utils import load_resource

    return RSAAlgorithm.from_jwk(json.dumps(load_resource("cognitoidp/resources/jwks-private.json")))


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def resign(token: str, key: Any, **changes: Any) -> str:
    claims = {**claims_of(token), **changes}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": jwt.get_unverified_header(token)["kid"]})


def forged(token: str) -> str:
    """Same claims and kid, signed with a key the pool never issued."""
    return resign(token, rsa.generate_private_key(public_exponent=65537, key_size=2048))


def expired(token: str) -> str:
    past = int(time.time()) - 3600
    return resign(token, moto_signing_key(), exp=past, iat=past - 3600)
