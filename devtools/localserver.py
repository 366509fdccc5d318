"""The local API: chalice's local gateway (``chalice.local``) served the way API Gateway and
Lambda serve the deployed app.

Real token checks: ``chalice local`` decodes any Cognito token without verifying it and
crashes on a token that is not a JWT. Here its authorizer simply passes the request on,
and the app's middleware verifies the token against the user pool's JWKS
(``VERIFY_TOKENS=true``), as API Gateway's Cognito authorizer does on AWS.

Concurrent clients, as Lambda runs concurrent containers: each connection is served by its
own thread. Chalice's local app keeps ``current_request`` per thread, and the app keeps the
rest of a request's state (the caller, its log keys) per thread too, so two requests at
once never see each other's caller, and a slow request never holds up another (``/health``
included).

What the deployed gateway answers itself (infra/edge.py's gateway responses), this server
answers the same way, with an X-Request-Id:
- a path no route matches, and HEAD on any path, are ``MISSING_AUTHENTICATION_TOKEN``: a 404
  problem. API Gateway answers only the methods a resource declares, and Chalice declares
  no HEAD. (Other methods a path lacks stay the app's 405 with ``Allow`` here.)
- a ``Content-Length`` that is not one non-negative number is a 400 problem, and a body
  over API Gateway's 10 MB payload limit a 413, instead of a dropped connection.
- ``/api/<path>`` is ``<path>``: CloudFront routes ``/api/*`` to the REST stage ``api``, where
  the web app calls the API from its own origin; the bare paths keep working.

Chalice's CLI is not imported (its project wizard probes the terminal with escape
sequences on import); the app and the stage's settings are loaded as ``chalice local``
loads them.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from chalice import CognitoUserPoolAuthorizer
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayAuthorizer,
    LocalGatewayException,
    ThreadedHTTPServer,
)

from devtools import webroot
from devtools.api_keys import DEMO_KEY_CHECK, hand_out_web_key
from devtools.lambda_context import warmed

PROJECT_DIR = Path(__file__).resolve().parent.parent
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
log = logging.getLogger("gateway")

_original_authorize = LocalGatewayAuthorizer.authorize


def _authorize(self: LocalGatewayAuthorizer, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
    route = self._route_for_event(lambda_event)
    if route is not None and isinstance(route.authorizer, CognitoUserPoolAuthorizer):
        return lambda_event, lambda_context
    return _original_authorize(self, raw_path, lambda_event, lambda_context)


def install_token_passthrough() -> None:
    LocalGatewayAuthorizer.authorize = _authorize  # type: ignore[method-assign]


# What chalice raises when a path matches no route (the second one when the request also
# carries an Authorization header).
_UNMATCHED = (b'{"message": "Missing Authentication Token"}', b'{"message": "Authorization header requires')


class GatewayRejection(Exception):
    """A request the gateway answers itself, before any function runs."""

    def __init__(self, response: dict[str, Any]) -> None:
        super().__init__(response["statusCode"])
        self.response = response


def gateway_response(kind: str, detail: str, headers: Any, status: int = 0) -> dict[str, Any]:
    """The deployed gateway's response of ``kind`` (infra/edge.py renders the same problem
    document into the REST API's gateway responses), as a Lambda proxy response."""
    from chalicelib.entry.middleware import REQUEST_ID
    from chalicelib.entry.problems import problem_document
    from infra.edge import GATEWAY_RESPONSES

    status = status or GATEWAY_RESPONSES.get(kind) or 400
    given = {k.lower(): v for k, v in (headers or {}).items()}.get("x-request-id", "")
    request_id = given if REQUEST_ID.match(given or "") else str(uuid.uuid4())
    body = {**problem_document(status, detail), "request_id": request_id}
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/problem+json", "X-Request-Id": request_id},
        "multiValueHeaders": {},
        "body": json.dumps(body),
    }


def not_found(headers: Any) -> dict[str, Any]:
    """What the deployed gateway answers for a method or path no route declares."""
    return gateway_response("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token", headers)


def content_length(values: list[str], headers: Any) -> int:
    """The request's body length, or the gateway's 400/413 when it cannot be read safely."""
    if not values:
        return 0
    if len(set(values)) > 1 or not values[0].strip().isdigit():
        shown = ", ".join(v[:40] for v in values)
        raise GatewayRejection(
            gateway_response("DEFAULT_4XX", f"Content-Length must be one number of bytes, not {shown!r}", headers, 400)
        )
    length = int(values[0])
    if length > MAX_PAYLOAD_BYTES:
        detail = f"The body is {length} bytes; the gateway accepts at most {MAX_PAYLOAD_BYTES}"
        raise GatewayRejection(gateway_response("DEFAULT_4XX", detail, headers, 413))
    return length


def install_same_origin() -> None:
    """No routes declare CORS (the web app is same-origin), so the deployed API has no
    OPTIONS methods; chalice's local gateway would still answer every preflight itself.
    Here OPTIONS reaches the app like any other method a route lacks: a 405 problem."""
    LocalGateway._has_user_defined_options_method = lambda self, event: True  # type: ignore[method-assign]  # noqa: SLF001


class LocalApiHandler(ChaliceRequestHandler):
    """One connection; its requests go through ``dispatch``."""

    # A response leaves in two writes (headers, then body): with Nagle's algorithm on, the
    # second waits for the client's delayed ACK, about 40 ms per request on a kept-alive
    # connection (browsers, schemathesis). TCP_NODELAY sends it at once.
    disable_nagle_algorithm = True

    def dispatch(self) -> None:
        """Every request, whatever its method: the one place that decides who answers it."""
        started = time.perf_counter()
        headers = dict(self.headers)
        path = webroot.api_path(self.path)
        by_gateway = True
        try:
            length = content_length(self.headers.get_all("content-length") or [], headers)
            body = self.rfile.read(length) if length else None
            static = webroot.respond(self.command, self.path)  # the web app and images, as CloudFront serves them
            if static is not None:
                response = static
            elif self.command == "HEAD":
                response = not_found(headers)
            else:
                response, by_gateway = self._through_gateway(path, headers, body)
                if not by_gateway:  # the app served it
                    warmed("api_handler")
        except GatewayRejection as rejection:
            # The body's end is unknown: the connection cannot carry another request.
            self.close_connection = True
            response = rejection.response
        self._send(response)
        if by_gateway:  # the app logs its own line for every request it serves
            elapsed = (time.perf_counter() - started) * 1000
            log.info("%s %s %s %.0f ms", self.command, path.split("?", 1)[0][:200], response["statusCode"], elapsed)

    def _through_gateway(self, path: str, headers: dict[str, Any], body: bytes | None) -> tuple[dict[str, Any], bool]:
        # API keys first, as the gateway checks them: before the authorizer and the app.
        refused = DEMO_KEY_CHECK.refusal(self.local_gateway._app_object.routes, self.command, path, headers)  # noqa: SLF001
        if refused is not None:
            return refused, True
        try:
            return self.local_gateway.handle_request(self.command, path, headers, body), False
        except ForbiddenError as error:
            if (error.body or b"").startswith(_UNMATCHED):
                return not_found(headers), True
            return _error_response(error), True
        except LocalGatewayException as error:
            return _error_response(error), True
        except Exception:  # a crash outside the app's own error handling: as Lambda's, a 502
            log.exception("%s %s: the function crashed", self.command, path.split("?", 1)[0][:200])
            return gateway_response("DEFAULT_5XX", "Internal server error", headers, 502), True

    def _send(self, response: dict[str, Any]) -> None:
        headers = {**(response.get("headers") or {}), **(response.get("multiValueHeaders") or {})}
        body = response.get("body")
        if response.get("isBase64Encoded") and body:
            body = base64.b64decode(body)
        data = body if isinstance(body, bytes) else (body or "").encode("utf-8")
        self.send_response(int(response["statusCode"]))
        self.send_header("Content-Length", str(len(data)))
        if body is not None and not any(k.lower() == "content-type" for k in headers):
            self.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            for one in value if isinstance(value, list) else [value]:
                self.send_header(name, str(one))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            pass  # the client went away: nothing to answer, nothing to report

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request is logged by the app (or by dispatch), not here

    def __getattr__(self, name: str) -> Any:
        # Every method (TRACE, QUERY, ...) goes to dispatch: http.server would answer a
        # method it has no do_X for with an HTML 501.
        if name.startswith("do_") and name[3:].isalpha() and name[3:].isupper():
            return self.dispatch
        raise AttributeError(name)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = dispatch


def _error_response(error: LocalGatewayException) -> dict[str, Any]:
    return {"statusCode": error.CODE, "headers": dict(error.headers or {}), "body": error.body}


class LocalHttpServer(ThreadedHTTPServer):
    """A thread per connection; a backlog deep enough for a load test's burst."""

    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            log.exception("unexpected error serving %s", client_address)


class LocalApi(LocalDevServer):
    def serve_forever(self) -> None:
        self.server.serve_forever()  # without chalice's "Serving on" line: make run prints its own

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def load_app(stage: str = "local") -> tuple[Any, Any]:
    """The app and its chalice config for ``stage``, loaded as ``chalice local`` loads them:
    the stage's environment variables first, then ``app.py``."""
    from chalice.config import Config

    config = Config(
        chalice_stage=stage,
        config_from_disk=json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text()),
        default_params={"project_dir": str(PROJECT_DIR)},
    )
    os.environ.update(config.environment_variables)
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    return importlib.import_module("app").app, config


def create_server(host: str, port: int, stage: str = "local") -> LocalApi:
    """Binds the local API on ``host:port`` (an OSError when the port is taken)."""
    hand_out_web_key()  # before the app loads
    app, config = load_app(stage)
    install_token_passthrough()
    install_same_origin()
    if not isinstance(app, LocalChalice):
        # As chalice.local.create_local_server does: current_request becomes per-thread.
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    return LocalApi(app, config, host, port, handler_cls=LocalApiHandler, server_cls=LocalHttpServer)
