"""The local API server (devtools/localserver.py) in this process, on the session's emulator:
concurrent clients, per-request state and log keys, and the gateway's own answers."""

from __future__ import annotations

import http.client
import io
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import app as app_module
from chalicelib.bootstrap import container
from chalicelib.entry import observability
from chalicelib.entry.problems import problem_document
from devtools.api_keys import WEB_KEY_HEADERS
from devtools.emulator import free_port
from devtools.lambda_context import LambdaContext
from devtools.localserver import create_server
from infra.edge import GATEWAY_RESPONSES
from tests.localstack import ROOT
from tests.test_observability import json_lines

WAIT = 20  # seconds a test waits for something that should happen at once; never reached when it passes


def get(url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
    """A GET as the web app sends it: with its API key."""
    return requests.get(url, headers={**WEB_KEY_HEADERS, **(headers or {})}, **kwargs)


@pytest.fixture(scope="module")
def server(stack: dict[str, Any]) -> Iterator[str]:
    port = free_port()
    local = create_server("127.0.0.1", port)
    thread = threading.Thread(target=local.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    local.shutdown()
    thread.join(WAIT)


@pytest.fixture
def logs(stack: dict[str, Any]) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    observability.configure(stream=stream, app=app_module.app)
    yield stream
    observability.configure(app=app_module.app)


@pytest.fixture
def hold_profile_read(stack: dict[str, Any]) -> Iterator[tuple[threading.Event, threading.Event, list[str]]]:
    """Holds the app's GetItem on a user id in ``held_ids`` (botocore's own event hook, on
    the app's client) until ``release`` is set; ``reached`` is set once one is held."""
    reached, release, held_ids = threading.Event(), threading.Event(), []

    def hold(params: dict[str, Any], **_: Any) -> None:
        user_id = params.get("Key", {}).get("user_id", {}).get("S")
        if user_id in held_ids:
            reached.set()
            release.wait(WAIT)

    events = container().clients.get("dynamodb").meta.events
    events.register("before-parameter-build.dynamodb.GetItem", hold, unique_id="hold-profile-read")
    yield reached, release, held_ids
    release.set()
    events.unregister("before-parameter-build.dynamodb.GetItem", unique_id="hold-profile-read")


def _user_id(token: str) -> str:
    import jwt

    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


def test_concurrent_requests_each_see_their_own_caller_and_a_slow_one_stalls_nobody(
    server, token_for, hold_profile_read, logs
):
    reached, release, held_ids = hold_profile_read
    owner, customer = token_for("owner"), token_for("customer")
    held_ids.append(_user_id(owner))
    slow: dict[str, Any] = {}

    def slow_request() -> None:
        slow["response"] = get(
            f"{server}/users/me", headers={"Authorization": owner, "X-Request-Id": "slow-owner"}, timeout=WAIT
        )

    thread = threading.Thread(target=slow_request)
    thread.start()
    assert reached.wait(WAIT), "the owner's request never reached its profile read"

    # While the owner's request is held inside the app, others are served, each as its caller.
    health = get(f"{server}/health", timeout=WAIT)
    mine = get(f"{server}/users/me", headers={"Authorization": customer, "X-Request-Id": "fast-customer"}, timeout=WAIT)
    assert health.status_code == 200
    assert mine.status_code == 200 and mine.json()["user_id"] == _user_id(customer)
    assert thread.is_alive(), "the owner's request finished before the others: nothing ran concurrently"

    release.set()
    thread.join(WAIT)
    assert slow["response"].status_code == 200
    assert slow["response"].json()["user_id"] == _user_id(owner)
    assert slow["response"].headers["X-Request-Id"] == "slow-owner"

    lines = {r["x_request_id"]: r for r in json_lines(logs.getvalue()) if r.get("message") == "request"}
    assert lines["slow-owner"]["principal_id"] == _user_id(owner)
    assert lines["fast-customer"]["principal_id"] == _user_id(customer)
    assert lines["slow-owner"]["function_name"] == "api_handler"


def test_an_event_function_running_meanwhile_keeps_its_own_log_keys(server, token_for, hold_profile_read, logs):
    reached, release, held_ids = hold_profile_read
    owner = token_for("owner")
    held_ids.append(_user_id(owner))
    done: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: done.update(
            response=get(
                f"{server}/users/me", headers={"Authorization": owner, "X-Request-Id": "api-meanwhile"}, timeout=WAIT
            )
        )
    )
    thread.start()
    assert reached.wait(WAIT)
    # The sweeper's schedule (it requeues only orders PENDING for a day: none here).
    event = {"version": "0", "id": "tick", "detail-type": "Scheduled Event", "source": "aws.events"}
    event |= {"account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1"}
    event |= {"resources": [], "detail": {}}
    app_module.sweep_pending_orders(event, LambdaContext("sweep_pending_orders"))
    release.set()
    thread.join(WAIT)
    assert done["response"].status_code == 200

    records = json_lines(logs.getvalue())
    batch = next(r for r in records if r.get("message") == "invocation")
    request = next(r for r in records if r.get("message") == "request" and r.get("x_request_id") == "api-meanwhile")
    assert batch["function_name"] == "sweep_pending_orders" and "x_request_id" not in batch
    assert request["function_name"] == "api_handler"
    assert request["request_id"] != batch["request_id"]


def test_compact_lines_say_which_function_wrote_them():
    request = observability.compact_line(
        {
            "timestamp": "2026-12-01T22:25:08.123+00:00",
            "function_name": "api_handler",
            "message": "request",
            "method": "GET",
            "route": "/users/me",
            "status": 200,
            "duration_ms": 12.4,
            "principal_id": "u-1",
        }
    )
    batch = observability.compact_line(
        {
            "timestamp": "2026-12-01T22:25:09.000+00:00",
            "function_name": "process_order",
            "message": "invocation",
            "event": "SQSEvent",
            "records": 3,
            "outcome": "ok",
            "duration_ms": 480.0,
        }
    )
    assert request == "22:25:08 api_handler          GET /users/me 200 12 ms user=u-1"
    assert batch == "22:25:09 process_order        SQSEvent 3 records ok 480 ms"
    assert "\n" not in request + batch


def _raw(server: str, data: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=WAIT) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def test_responses_leave_at_once_on_a_kept_alive_connection(stack):
    """Nagle's algorithm is off on every connection (TCP_NODELAY): with it on, the body of
    each response on a reused connection waited for the client's delayed ACK (~40 ms)."""
    local = create_server("127.0.0.1", free_port())
    no_delay: list[int] = []
    closed = threading.Event()
    close = local.server.shutdown_request

    def record(request: socket.socket) -> None:
        no_delay.append(request.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        closed.set()
        close(request)

    local.server.shutdown_request = record
    thread = threading.Thread(target=local.serve_forever, daemon=True)
    thread.start()
    try:
        with requests.Session() as session:
            for _ in range(2):
                assert session.get(f"http://127.0.0.1:{local.port}/health", timeout=WAIT).status_code == 200
        assert closed.wait(WAIT), "the server saw the client close"
    finally:
        local.server.shutdown()
        thread.join(WAIT)
    assert no_delay and all(no_delay), no_delay


@pytest.mark.parametrize("length", ["abc", "-1", "12, 13", "1e3"])
def test_a_content_length_that_is_not_a_number_is_a_400_problem(server, length):
    status, headers, body = _raw(
        server, f"POST /auth/login HTTP/1.1\r\nHost: local\r\nContent-Length: {length}\r\n\r\n{{}}".encode()
    )
    assert status == 400
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["Connection"] == "close"
    problem = json.loads(body)
    assert problem["status"] == 400 and "Content-Length" in problem["detail"]


def test_a_body_over_the_gateway_limit_is_a_413_without_reading_it(server):
    status, headers, body = _raw(
        server, b"POST /auth/login HTTP/1.1\r\nHost: local\r\nContent-Length: 20000000\r\n\r\n{}"
    )
    assert status == 413 and headers["Connection"] == "close"
    assert json.loads(body)["status"] == 413


def test_unknown_paths_and_head_get_the_deployed_gateways_problem(server):
    status = GATEWAY_RESPONSES["MISSING_AUTHENTICATION_TOKEN"]
    unknown = get(f"{server}/no-such-thing", headers={"X-Request-Id": "probe-1"}, timeout=WAIT)
    assert unknown.status_code == status == 404
    assert unknown.headers["Content-Type"] == "application/problem+json"
    assert unknown.headers["X-Request-Id"] == "probe-1"
    assert unknown.json() == {
        **problem_document(404, "Missing Authentication Token"),
        "detail": "Missing Authentication Token",
        "request_id": "probe-1",
    }

    host, port = server.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=WAIT)
    connection.request("HEAD", "/health")
    head = connection.getresponse()
    assert head.status == 404 and head.read() == b""
    assert head.getheader("Content-Type") == "application/problem+json"
    assert int(head.getheader("Content-Length")) > 0  # what a GET of the same problem would carry
    # Nothing was sent after the headers: the same connection serves the next request.
    connection.request("GET", "/health")
    after = connection.getresponse()
    assert after.status == 200 and json.loads(after.read())["status"] == "ok"
    # A web-app file: HEAD gives the length GET carries, without the bytes.
    connection.request("HEAD", "/css/app.css")
    head = connection.getresponse()
    assert head.status == 200 and head.read() == b""
    connection.request("GET", "/css/app.css")
    file = connection.getresponse()
    assert int(head.getheader("Content-Length")) == len(file.read()) > 0
    connection.close()


def test_the_api_answers_under_api_as_under_the_bare_paths(server):
    for path in ("/health", "/restaurants?limit=2", "/openapi.json"):
        bare = get(f"{server}{path}", timeout=WAIT)
        prefixed = get(f"{server}/api{path}", timeout=WAIT)
        assert bare.status_code == prefixed.status_code == 200, path
        assert bare.json() == prefixed.json(), path
    assert get(f"{server}/apihealth", timeout=WAIT).status_code == 404
    assert get(f"{server}/api/no-such-thing", timeout=WAIT).status_code == 404


@pytest.fixture
def settings_with(stack: dict[str, Any]) -> Iterator[Any]:
    """``settings_with(USERS_TABLE="...")``: the app's container rebuilt on other settings."""
    import os

    from chalicelib import bootstrap
    from chalicelib.settings import Settings

    def rebuild(**env: str) -> None:
        bootstrap.reset(Settings.from_env({**os.environ, **env}))

    yield rebuild
    bootstrap.reset()


def test_ready_probes_every_store_the_api_uses(server, aws, settings_with):
    settings_with()
    ready = get(f"{server}/ready", timeout=WAIT)
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    assert set(ready.json()["checks"]) == {
        "users",
        "restaurants",
        "products",
        "orders",
        "notifications",
        "promo codes",
        "orders queue",
    }
    assert get(f"{server}/health", timeout=WAIT).json()["status"] == "ok"

    # Each table's probe reads the table's real key (a wrong key would be a ValidationException).
    for name, probe in container().readiness.probes.items():
        if hasattr(probe, "key"):
            table = aws("dynamodb").describe_table(TableName=probe.table)["Table"]
            assert tuple(k["AttributeName"] for k in table["KeySchema"]) == probe.key, name


def test_ready_is_a_503_naming_the_store_that_does_not_answer(server, settings_with):
    settings_with(USERS_TABLE="chowline-local-no-such-table", ORDERS_QUEUE_URL="http://127.0.0.1:1/queue/none")
    response = get(f"{server}/ready", timeout=WAIT)
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"]
    detail = response.json()["detail"]
    assert "users" in detail and "orders queue" in detail and "products" not in detail
    # Liveness does not depend on the stores.
    assert get(f"{server}/health", timeout=WAIT).status_code == 200


def test_serving_the_api_imports_nothing_that_probes_the_terminal():
    # Chalice's CLI imports its project wizard (inquirer -> blessed), whose Terminal() writes
    # XTGETTCAP and cursor-position queries to a terminal on import.
    probe = (
        "import sys; from devtools.localserver import load_app; load_app(); "
        "print(sorted(m for m in ('chalice.cli', 'inquirer', 'blessed') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
