"""Verifies Cognito ID tokens against the user pool's JWKS, as API Gateway does on AWS.

Used where no Cognito authorizer stands in front of the app (the local stack and tests);
PyJWT is imported on first use so the deployed API never pays for it.

The key set comes from PyJWT's ``PyJWKClient``: cached for ``cache_seconds``, and refetched
for an unknown key id at most once per ``refresh_cooldown_seconds``, so a flood of forged
``kid`` values cannot turn into a flood of fetches. A key set that cannot be loaded is a 503
(retry later), not a 401: the token may well be valid, and a 401 makes clients drop it.

With ``result_ttl_seconds`` a verified token's claims are kept by the token, as API Gateway
keeps a Cognito authorizer's result (its authorizerResultTtlInSeconds, 300 s by default):
a client sends the same token on every request for an hour, and checking its signature
again each time was a sixth of a local request's CPU. Never past the token's expiry; a
refused token is not kept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib.domain.errors import ServiceUnavailable, Unauthorized

# API Gateway's default authorizerResultTtlInSeconds, for a Cognito user pool authorizer too.
AUTHORIZER_RESULT_TTL_SECONDS = 300
# Tokens kept at most (the oldest go first): a container's worth of active users.
KEPT_TOKENS = 10_000


class CognitoTokenVerifier:
    def __init__(
        self,
        jwks_url: str,
        issuer: str,
        audience: str,
        leeway_seconds: int = 5,
        cache_seconds: float = 300,
        refresh_cooldown_seconds: float = 30,
        fetch_timeout_seconds: float = 5,
        result_ttl_seconds: float = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._jwks_url = jwks_url
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._cache_seconds = cache_seconds
        self._cooldown = refresh_cooldown_seconds
        self._timeout = fetch_timeout_seconds
        self._client: Any = None
        self._lock = threading.Lock()
        self._result_ttl = result_ttl_seconds
        self._clock = clock
        # token -> (claims, kept until): in the order kept, so the first is the oldest.
        self._verified: dict[str, tuple[dict[str, Any], float]] = {}

    def verify(self, token: str) -> dict[str, Any]:
        now = self._clock()
        kept = self._verified.get(token)
        if kept is not None and now < kept[1]:
            return dict(kept[0])
        claims = self._verify(token)
        if self._result_ttl > 0:
            self._keep(token, claims, min(now + self._result_ttl, float(claims["exp"])))
        return claims

    def _keep(self, token: str, claims: dict[str, Any], until: float) -> None:
        with self._lock:
            self._verified.pop(token, None)
            while len(self._verified) >= KEPT_TOKENS:
                del self._verified[next(iter(self._verified))]
            self._verified[token] = (dict(claims), until)

    def _verify(self, token: str) -> dict[str, Any]:
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
        from jwt import PyJWKClientConnectionError, PyJWKClientError, PyJWKSetError

        keys = self._keys()
        unavailable = ServiceUnavailable("The token signing keys could not be loaded; retry shortly")
        try:
            return keys.get_signing_key(kid).key
        except (PyJWKClientConnectionError, PyJWKSetError, ValueError) as exc:
            # Unreachable, or an answer that is no key set: nothing to judge the token by.
            raise unavailable from exc
        except PyJWKClientError as exc:
            if keys.jwk_set_cache.get() is None:
                raise unavailable from exc  # no key set in hand (an empty or odd answer)
            raise Unauthorized("The token was signed by an unknown key") from exc

    def _keys(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from jwt import PyJWKClient

                    self._client = PyJWKClient(
                        self._jwks_url,
                        cache_jwk_set=True,
                        lifespan=self._cache_seconds,
                        cooldown_duration=self._cooldown,
                        timeout=self._timeout,
                    )
        return self._client
