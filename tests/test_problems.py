"""One problem vocabulary: the same ``type`` and ``title`` for the same status whoever
answers: the app, Chalice's own errors, the local server, API Gateway's gateway responses
and the WAF, as infra/edge.json declares them for the template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chalice import Response

from chalicelib.domain import errors
from chalicelib.entry.middleware import as_problem
from chalicelib.entry.problems import PROBLEM_CONTENT_TYPE, from_error
from devtools.api_keys import WEB_KEY_HEADERS, forbidden
from devtools.localserver import not_found

ROOT = Path(__file__).resolve().parent.parent
EDGE = json.loads((ROOT / "infra" / "edge.json").read_text())
APP_ERRORS = [cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.ChowlineError)]
CHALICE_ERRORS = {
    400: "BadRequestError",
    401: "UnauthorizedError",
    403: "ForbiddenError",
    404: "NotFoundError",
    405: "MethodNotAllowedError",
    409: "ConflictError",
    415: "UnsupportedMediaType",
    422: "UnprocessableEntityError",
    429: "TooManyRequestsError",
    500: "InternalServerError",
}


def vocabulary(body: dict[str, Any]) -> tuple[str, str]:
    return body["type"], body["title"]


def expected(status: int) -> tuple[str, str]:
    kind = errors.PROBLEMS[status]
    return kind.type, kind.title


def gateway_bodies() -> dict[str, tuple[int | None, dict[str, Any]]]:
    """Each gateway response's body as API Gateway renders it (its $context variables filled)."""
    responses = EDGE["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    out: dict[str, tuple[int | None, dict[str, Any]]] = {}
    for kind, response in responses.items():
        template = response["ResponseTemplates"]["application/json"]
        text = template.replace("$context.error.messageString", '"Unauthorized"').replace("$context.requestId", "r-1")
        status = int(response["StatusCode"]) if "StatusCode" in response else None
        out[kind] = (status, json.loads(text))
    return out


def test_every_app_error_speaks_the_vocabulary_of_its_status() -> None:
    for cls in APP_ERRORS:
        response = from_error(cls("detail"))
        body = json.loads(response.body)
        assert response.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
        assert body["status"] == cls.status == response.status_code
        if cls.status in errors.PROBLEMS:
            assert vocabulary(body) == expected(cls.status), cls.__name__


@pytest.mark.parametrize(("status", "code"), sorted(CHALICE_ERRORS.items()))
def test_chalice_errors_become_the_apps_problems(status: int, code: str) -> None:
    response = as_problem(Response(body={"Code": code, "Message": "x"}, status_code=status))
    body = json.loads(response.body)
    assert response.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert body["status"] == status and vocabulary(body) == expected(status)


def test_gateway_responses_speak_the_apps_vocabulary() -> None:
    bodies = gateway_bodies()
    assert {
        "UNAUTHORIZED",
        "ACCESS_DENIED",
        "API_KEY",
        "MISSING_AUTHENTICATION_TOKEN",
        "THROTTLED",
        "WAF_FILTERED",
    } <= set(bodies)
    for kind, (status, body) in bodies.items():
        if status is None:  # DEFAULT_4XX / DEFAULT_5XX: API Gateway picks the status
            assert body["type"].startswith(errors.PROBLEM_TYPE_BASE), kind
            continue
        assert body["status"] == status and vocabulary(body) == expected(status), kind
        assert body["request_id"] == "r-1" and body["detail"] == "Unauthorized"
    # the gateway's 401/403/404 are the app's Unauthorized/Forbidden/NotFound
    for kind, cls in (
        ("UNAUTHORIZED", errors.Unauthorized),
        ("ACCESS_DENIED", errors.Forbidden),
        ("API_KEY", errors.Forbidden),
    ):
        app_body = json.loads(from_error(cls("x")).body)
        assert vocabulary(bodies[kind][1]) == vocabulary(app_body)
    assert vocabulary(bodies["MISSING_AUTHENTICATION_TOKEN"][1]) == vocabulary(
        json.loads(from_error(errors.NotFound("x")).body)
    )


def test_the_firewall_blocks_with_the_apps_403() -> None:
    acl = EDGE["Resources"]["WebAcl"]["Properties"]
    body = json.loads(acl["CustomResponseBodies"]["problem"]["Content"])
    assert body["status"] == 403 and vocabulary(body) == expected(403)


def test_the_local_server_answers_an_unknown_path_as_the_gateway_does() -> None:
    local = json.loads(not_found({"X-Request-Id": "abc-1"})["body"])
    _, gateway = gateway_bodies()["MISSING_AUTHENTICATION_TOKEN"]
    assert vocabulary(local) == vocabulary(gateway) == expected(404)


def test_the_local_server_refuses_a_missing_key_as_the_gateway_does() -> None:
    refused = forbidden({"X-Request-Id": "abc-2"})
    local = json.loads(refused["body"])
    status, gateway = gateway_bodies()["API_KEY"]
    assert refused["statusCode"] == status == 403
    assert vocabulary(local) == vocabulary(gateway) == expected(403)
    assert local["request_id"] == "abc-2"


def test_over_http_the_app_and_chalice_answer_in_the_vocabulary(client: Any) -> None:
    missing = client.http.get("/products/no-such-product")
    assert missing.status_code == 404
    assert vocabulary(json.loads(missing.body)) == expected(404)
    bad = client.http.get("/restaurants?limit=0")
    assert bad.status_code == 400
    assert vocabulary(json.loads(bad.body)) == expected(400)


@pytest.fixture(scope="module")
def local_stack() -> Any:
    from tests.localstack import LocalStack

    stack = LocalStack().start(timeout=120)
    yield stack
    stack.stop()


def test_the_local_stack_answers_as_the_gateway_does(local_stack: Any) -> None:
    import requests

    gateway = gateway_bodies()
    unknown = requests.get(f"{local_stack.url}/no/such/path", timeout=10)
    assert unknown.status_code == 404 and unknown.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert vocabulary(unknown.json()) == vocabulary(gateway["MISSING_AUTHENTICATION_TOKEN"][1])
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}):
        denied = requests.get(f"{local_stack.url}/users/me", headers={**WEB_KEY_HEADERS, **headers}, timeout=10)
        assert denied.status_code == 401 and denied.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
        assert vocabulary(denied.json()) == vocabulary(gateway["UNAUTHORIZED"][1])
