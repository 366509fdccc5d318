"""Chowline API and event handlers. This module only declares: each handler parses input,
calls one service function and shapes the response; the logic lives in ``chalicelib``."""

from __future__ import annotations

import os
from collections.abc import Callable

from chalice import Chalice, CognitoUserPoolAuthorizer, Response
from chalice.app import Request

from chalicelib import __version__
from chalicelib.bootstrap import container
from chalicelib.domain import accounts
from chalicelib.entry import middleware
from chalicelib.entry.auth import principal_of
from chalicelib.entry.requests import body_model
from chalicelib.entry.routing import PUBLIC, SIGNED_IN, Api, json_response

app = Chalice(app_name="chowline")
app.api.binary_types = []

cognito = CognitoUserPoolAuthorizer(
    "chowline-users",
    provider_arns=[os.environ.get("USER_POOL_ARN", "arn:aws:cognito-idp:us-east-1:123456789012:userpool/placeholder")],
)
api = Api(app, cognito)


@app.middleware("all")
def observe(event: object, get_response: Callable[[object], object]) -> object:
    # Registered first, so it wraps everything else: logs, metrics and traces of every function.
    from chalicelib.entry import observability  # on first invocation: keeps the import of app small

    return observability.handle(app, event, get_response, lambda: container().metrics)


@app.middleware("http")
def request_context(event: Request, get_response: Callable[[Request], Response]) -> Response:
    return middleware.handle(app, event, get_response, lambda: container().token_verifier)


def _request() -> Request:
    return app.current_request


# --- Operations -------------------------------------------------------------------------


@api.route("/health", roles=PUBLIC)
def health() -> Response:
    """Liveness and version."""
    return json_response({"status": "ok", "version": __version__})


# --- Accounts ---------------------------------------------------------------------------


@api.route(
    "/auth/signup",
    "POST",
    request_model=accounts.SignUp,
    response_model=accounts.SignUpResult,
    statuses=(201, 400, 409),
)
def sign_up() -> Response:
    """Create a customer account."""
    result = container().accounts.sign_up(body_model(_request(), accounts.SignUp))
    return json_response(result, 201)


@api.route("/auth/confirm", "POST", request_model=accounts.Confirm, statuses=(204, 400, 404))
def confirm_sign_up() -> Response:
    """Confirm an account with the emailed code."""
    container().accounts.confirm(body_model(_request(), accounts.Confirm))
    return Response(body="", status_code=204)


@api.route(
    "/auth/login",
    "POST",
    request_model=accounts.Login,
    response_model=accounts.TokensOut,
    statuses=(200, 400, 401, 403),
)
def login() -> Response:
    """Exchange email and password for tokens (or an MFA challenge)."""
    return json_response(container().accounts.login(body_model(_request(), accounts.Login)))


@api.route(
    "/auth/refresh", "POST", request_model=accounts.Refresh, response_model=accounts.TokensOut, statuses=(200, 400, 401)
)
def refresh_tokens() -> Response:
    """Exchange a refresh token for new ID and access tokens."""
    return json_response(container().accounts.refresh(body_model(_request(), accounts.Refresh)))


@api.route("/users/me", roles=SIGNED_IN, response_model=accounts.Profile, statuses=(200, 401))
def get_profile() -> Response:
    """The caller's profile."""
    return json_response(container().accounts.profile(principal_of(_request())))


@api.route(
    "/users/me",
    "PUT",
    roles=SIGNED_IN,
    request_model=accounts.ProfileUpdate,
    response_model=accounts.Profile,
    statuses=(200, 400, 401),
)
def update_profile() -> Response:
    """Update the caller's name, phone and addresses."""
    cmd = body_model(_request(), accounts.ProfileUpdate)
    return json_response(container().accounts.update_profile(principal_of(_request()), cmd))


# --- Catalog: restaurants, menus and images ----------------------------------------------


# --- Orders ------------------------------------------------------------------------------


# --- Order events: processing, payment, notifications, sweeper ---------------------------


# --- Documentation -----------------------------------------------------------------------


@api.route("/openapi.json", roles=PUBLIC, statuses=(200, 304), extra={"tag": "documentation"})
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this API, generated from the route table.

    Cacheable: it carries an `ETag`; a matching `If-None-Match` gets 304."""
    from chalicelib.entry import openapi  # imported on use: no other function needs it

    return openapi.document_response(api, _request().headers.get("if-none-match"))


@api.route("/docs", roles=PUBLIC, extra={"tag": "documentation", "media_type": "text/html"})
def api_docs() -> Response:
    """An HTML reference of this API, rendered from /openapi.json."""
    from chalicelib.entry import openapi

    return openapi.docs_response(api)
