"""API keys on the local server, enforced as API Gateway enforces them, and the demo keys.

A route declared with ``api_key_required`` (chalicelib/entry/routing.py decides which)
answers 403 without a known ``X-Api-Key``, before the authorizer or the app run, with the
problem document the deployed gateway response for ``API_KEY`` sends (infra/edge.py).
chalice's own local server ignores the flag; ``chalice.test.Client`` does too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from chalice.local import RouteMatcher

# One key per client application, as the usage plans in infra/edge.py: local values only.
DEMO_API_KEYS: dict[str, str] = {
    "web": "chowline-demo-web-key-0001",
    "mobile": "chowline-demo-mobile-key-0001",
    "partner": "chowline-demo-partner-key-0001",
}
HEADER = "x-api-key"


def forbidden(headers: Any = None) -> dict[str, Any]:
    """API Gateway's answer to a missing or unknown key, through the API_KEY gateway response
    (its message is "Forbidden"; type and title from the problem vocabulary)."""
    from devtools.localserver import gateway_response

    return gateway_response("API_KEY", "Forbidden", headers)


def key_required(routes: dict[str, Any], matcher: RouteMatcher, method: str, path: str) -> bool:
    try:
        route = matcher.match_route(path).route
    except ValueError:
        return False  # no route: the gateway's 404 comes first
    entry = routes[route].get(method.upper())
    return bool(entry is not None and entry.api_key_required)


class KeyCheck:
    """The gateway's key check for the local server's requests (only there: chalice's
    test client and other in-process callers of the app are not behind a usage plan)."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._known = frozenset(keys)
        self._matchers: dict[int, RouteMatcher] = {}

    def refusal(self, routes: dict[str, Any], method: str, path: str, headers: Any) -> dict[str, Any] | None:
        """The 403 for a keyed route without a known key, else None."""
        given = {k.lower(): v for k, v in (headers or {}).items()}.get(HEADER)
        if given in self._known:
            return None
        matcher = self._matchers.setdefault(id(routes), RouteMatcher(list(routes)))
        if key_required(routes, matcher, method, path.split("?", 1)[0]):
            return forbidden(headers)
        return None


DEMO_KEY_CHECK = KeyCheck(DEMO_API_KEYS.values())


def hand_out_web_key() -> None:
    """The app hands the web app its key (WEB_API_KEY, /client-config): set before the first
    container reads its settings."""
    os.environ.setdefault("WEB_API_KEY", DEMO_API_KEYS["web"])


def banner_lines() -> str:
    from chalicelib.entry.routing import KEYLESS_PATHS

    keys = "".join(f"    {app:<8} {key}\n" for app, key in DEMO_API_KEYS.items())
    return f"  API keys   send one as X-Api-Key (all but {', '.join(sorted(KEYLESS_PATHS))})\n{keys}"


# What a local client sends with every API call: the web app's key.
WEB_KEY_HEADERS: dict[str, str] = {"X-Api-Key": DEMO_API_KEYS["web"]}
