"""HTTP middleware: request ids, token verification where no authorizer runs, and one
problem shape for the errors Chalice itself produces."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response
from chalice.app import Request

from chalicelib.domain.errors import ChowlineError
from chalicelib.entry.auth import Verifier, authenticate
from chalicelib.entry.problems import PROBLEM_CONTENT_TYPE, from_error, problem

# What a caller may send as X-Request-Id (echoed in logs and responses): short, no spaces.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_ID_KEY = "chowline_request_id"

# Chalice's built-in view errors, by class name, as problem statuses.
_CHALICE_ERRORS = {
    "BadRequestError": 400,
    "UnauthorizedError": 401,
    "ForbiddenError": 403,
    "NotFoundError": 404,
    "MethodNotAllowedError": 405,
    "RequestTimeoutError": 408,
    "ConflictError": 409,
    "UnprocessableEntityError": 422,
    "TooManyRequestsError": 429,
    "UnsupportedMediaType": 415,
    "InternalServerError": 500,
}


def request_id_of(request: Request) -> str:
    """The request's X-Request-Id: the caller's when well-formed, else the gateway's request
    id (or a new one). Kept on the request, so every middleware sees the same id."""
    context = request.context if isinstance(request.context, dict) else {}
    known = context.get(_ID_KEY)
    if known:
        return str(known)
    given = (request.headers or {}).get("x-request-id", "")
    request_id = given if given and REQUEST_ID.match(given) else str(context.get("requestId") or uuid.uuid4())
    if isinstance(request.context, dict):
        request.context[_ID_KEY] = request_id
    return request_id


def requires_auth(app: Chalice, request: Request) -> bool:
    resource = (request.context or {}).get("resourcePath", "")
    entry = app.routes.get(resource, {}).get(request.method)
    return bool(entry and entry.authorizer)


def handle(
    app: Chalice,
    request: Request,
    get_response: Callable[[Request], Response],
    verifier: Callable[[], Verifier | None],
) -> Response:
    request_id = request_id_of(request)
    try:
        verify = verifier()
        if verify is not None and requires_auth(app, request):
            authenticate(request, verify)
        response = get_response(request)
    except ChowlineError as error:
        response = from_error(error)
    response = as_problem(response)
    response.headers["X-Request-Id"] = request_id
    return response


def as_problem(response: Response) -> Response:
    """Rewrites Chalice's ``{"Code", "Message"}`` error bodies as problem documents."""
    body: Any = response.body
    if response.status_code < 400 or not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return response
    if response.headers.get("Content-Type") == PROBLEM_CONTENT_TYPE:
        return response
    status = _CHALICE_ERRORS.get(str(body["Code"]), response.status_code)
    detail = str(body["Message"]) if status < 500 else "An internal error occurred; it has been logged"
    return problem(status, detail, headers={k: v for k, v in response.headers.items() if k != "Content-Type"})
