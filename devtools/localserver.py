"""Chalice's own local server, with two repairs.

Real token checks: ``chalice local`` decodes any Cognito token without verifying it and
crashes on a token that is not a JWT. Here its authorizer simply passes the request on,
and the app's middleware verifies the token against the user pool's JWKS
(``VERIFY_TOKENS=true``), as API Gateway's Cognito authorizer does on AWS.

One request at a time: Chalice keeps ``app.current_request`` in one attribute of the app,
which is safe on Lambda (one request per container) but not in a threaded server, where
two concurrent requests could swap callers. Requests therefore take turns, as each Lambda
container serves one at a time.

Gateway responses: for a path no route matches, ``chalice local`` answers API Gateway's
raw 403 ``{"message": "Missing Authentication Token"}``. The deployed API maps that
gateway response to a 404 problem document; so does this server, with an X-Request-Id.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from pathlib import Path
from typing import Any

from chalice import CognitoUserPoolAuthorizer
from chalice.local import ChaliceRequestHandler, ForbiddenError, LocalGateway, LocalGatewayAuthorizer

from devtools.api_keys import install_demo_keys

PROJECT_DIR = Path(__file__).resolve().parent.parent

_original_authorize = LocalGatewayAuthorizer.authorize


def _authorize(self: LocalGatewayAuthorizer, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
    route = self._route_for_event(lambda_event)
    if route is not None and isinstance(route.authorizer, CognitoUserPoolAuthorizer):
        return lambda_event, lambda_context
    return _original_authorize(self, raw_path, lambda_event, lambda_context)


def install_token_passthrough() -> None:
    LocalGatewayAuthorizer.authorize = _authorize  # type: ignore[method-assign]


_original_handle_request = LocalGateway.handle_request
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_UNMATCHED = (b'{"message": "Missing Authentication Token"}', b'{"message": "Authorization header requires')


_one_at_a_time = threading.Lock()


def _handle_request(self: LocalGateway, method: str, path: str, headers: Any, body: bytes | None) -> Any:
    try:
        with _one_at_a_time:
            return _original_handle_request(self, method, path, headers, body)
    except ForbiddenError as error:
        # Raised before any route is matched: the path matches no route (the second message
        # is what chalice says when the request also carries an Authorization header).
        if not (error.body or b"").startswith(_UNMATCHED):
            raise
        return not_found(path, headers)


def not_found(path: str, headers: Any) -> dict[str, Any]:
    """What the deployed gateway answers for a path no route matches (an RFC 9457 problem)."""
    given = {k.lower(): v for k, v in (headers or {}).items()}.get("x-request-id", "")
    request_id = given if _REQUEST_ID.match(given or "") else str(uuid.uuid4())
    body = {
        "type": "https://chowline.dev/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": f"No operation at {path.split('?', 1)[0][:200]}; see /openapi.json",
    }
    return {
        "statusCode": 404,
        "headers": {"Content-Type": "application/problem+json", "X-Request-Id": request_id},
        "multiValueHeaders": {},
        "body": json.dumps(body),
    }


def install_gateway_responses() -> None:
    LocalGateway.handle_request = _handle_request  # type: ignore[method-assign]
    # http.server answers a method it has no do_X for (TRACE, QUERY, ...) with an HTML 501;
    # let the app answer it like any other method a route lacks: a 405 problem with Allow.
    ChaliceRequestHandler.__getattr__ = _any_method  # type: ignore[attr-defined]


def _any_method(self: ChaliceRequestHandler, name: str) -> Any:
    if name.startswith("do_") and name[3:].isalpha() and name[3:].isupper():
        return self.do_GET
    raise AttributeError(name)


def install_same_origin() -> None:
    """No routes declare CORS (the web app is same-origin), so the deployed API has no
    OPTIONS methods; chalice's local server would still answer every preflight itself.
    Here OPTIONS reaches the app like any other method a route lacks: a 405 problem."""
    LocalGateway._has_user_defined_options_method = lambda self, event: True  # type: ignore[method-assign]  # noqa: SLF001


def create_server(host: str, port: int, stage: str = "local") -> Any:
    """Builds chalice's LocalDevServer for ``stage``, as ``chalice local`` would."""
    import os

    from chalice.cli.factory import CLIFactory

    install_token_passthrough()
    install_gateway_responses()
    install_same_origin()
    install_demo_keys()
    factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    return factory.create_local_server(config.chalice_app, config, host, port)
