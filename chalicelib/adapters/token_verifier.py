"""Verifies Cognito ID tokens against the user pool's JWKS, as API Gateway does on AWS.

Used where no Cognito authorizer stands in front of the app (the local stack and tests);
PyJWT is imported on first use so the deployed API never pays for it.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from chalicelib.domain.errors import Unauthorized


class CognitoTokenVerifier:
    def __init__(self, jwks_url: str, issuer: str, audience: str, leeway_seconds: int = 5) -> None:
        self._jwks_url = jwks_url
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._keys: dict[str, Any] = {}
        self._lock = threading.Lock()

    def verify(self, token: str) -> dict[str, Any]:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("The token is not a valid JWT") from exc
        if header.get("alg") != "RS256":
            raise Unauthorized("The token is not signed with RS256")
        key = self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"The token was rejected: {exc}") from exc
        if claims.get("token_use") != "id":
            raise Unauthorized("An ID token is required")
        return claims

    def _key(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is None:
            with self._lock:
                self._keys = self._fetch_keys()
            key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("The token was signed by an unknown key")
        return key

    def _fetch_keys(self) -> dict[str, Any]:
        import urllib.request

        from jwt.algorithms import RSAAlgorithm

        try:
            with urllib.request.urlopen(self._jwks_url, timeout=5) as response:  # noqa: S310 - configured URL
                document = json.load(response)
        except (OSError, ValueError) as exc:
            raise Unauthorized("The token signing keys could not be loaded") from exc
        return {jwk["kid"]: RSAAlgorithm.from_jwk(json.dumps(jwk)) for jwk in document.get("keys", [])}
