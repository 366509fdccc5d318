"""End to end over HTTP: the real local stack (emulator + provisioning + seed + chalice's
local server) in a subprocess, as ``make run`` starts it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from chalicelib.domain.errors import PROBLEMS
from devtools import stackenv
from devtools.emulator import free_port
from tests.localstack import ROOT, LocalStack
from tests.tokens import expired, forged, minted_with_moto_key, resign, signing_key


@pytest.fixture(scope="module")
def local_stack():
    stack = LocalStack().start()
    yield stack
    assert stack.interrupt() == 0, "Ctrl-C must stop the stack cleanly"
    log = stack.log()
    assert "Traceback" not in log, log[-3000:]
    assert log.rstrip().endswith("Chowline stopped.")
    assert not stackenv.path_for(stack.port).exists(), "a stopped stack leaves no environment file"


def test_serves_health_within_60_seconds(local_stack):
    assert local_stack.started_in < 60
    response = local_stack.http.get(f"{local_stack.url}/health", timeout=5)
    assert response.json()["status"] == "ok"
    assert response.headers["X-Request-Id"]


def test_signup_confirm_login_me_refresh_and_token_attacks(local_stack):
    url = local_stack.url
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    password = "E2e-secret-pass"
    signed = local_stack.http.post(
        f"{url}/auth/signup", json={"email": email, "password": password, "name": "E2E"}, timeout=10
    )
    assert signed.status_code == 201, signed.text
    assert (
        local_stack.http.post(f"{url}/auth/confirm", json={"email": email, "code": "123456"}, timeout=10).status_code
        == 204
    )
    tokens = local_stack.http.post(f"{url}/auth/login", json={"email": email, "password": password}, timeout=10).json()

    me = local_stack.http.get(f"{url}/users/me", headers={"Authorization": f"Bearer {tokens['id_token']}"}, timeout=10)
    assert me.status_code == 200
    assert me.json()["user_id"] == signed.json()["user_id"]
    assert me.json()["roles"] == ["customers"]

    refreshed = local_stack.http.post(
        f"{url}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, timeout=10
    )
    assert refreshed.status_code == 200
    assert local_stack.http.get(
        f"{url}/users/me", headers={"Authorization": refreshed.json()["id_token"]}, timeout=10
    ).ok

    good = tokens["id_token"]
    key = signing_key(local_stack.signing_key())
    for name, token in {
        "garbage": "not-a-jwt",
        "forged": forged(good),
        "admin minted with moto's shipped key": minted_with_moto_key(good, **{"cognito:groups": ["admins"]}),
        "expired": expired(good, key),
        "wrong audience": resign(good, key, aud="another-app-client"),
    }.items():
        response = local_stack.http.get(f"{url}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 401, name
        assert response.headers["Content-Type"] == "application/problem+json", name
    assert local_stack.http.get(f"{url}/users/me", timeout=10).status_code == 401
    admin = minted_with_moto_key(good, **{"cognito:groups": ["admins"]})
    restaurant = {"name": "Forged", "city": "Springfield", "cuisine": "x", "address": "1 Main St", "owner_id": "x"}
    created = local_stack.http.post(f"{url}/restaurants", json=restaurant, headers={"Authorization": admin}, timeout=10)
    assert created.status_code == 401, created.text


def test_demo_accounts_log_in(local_stack):
    for who in ("customer", "owner", "courier", "admin"):
        response = local_stack.http.post(
            f"{local_stack.url}/auth/login",
            json={"email": f"{who}@demo.chowline.dev", "password": "Chowline-demo-1"},
            timeout=10,
        )
        assert response.status_code == 200, who


def test_no_cross_origin_access_locally(local_stack):
    """The web app is same-origin: no response, error or preflight, grants another origin."""
    origin = {"Origin": "https://elsewhere.example"}
    preflight = local_stack.http.options(
        f"{local_stack.url}/restaurants",
        headers={**origin, "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    answers = [
        preflight,
        local_stack.http.get(f"{local_stack.url}/restaurants", headers=origin, timeout=10),
        local_stack.http.get(f"{local_stack.url}/no-such-path", headers=origin, timeout=10),
        local_stack.http.get(f"{local_stack.url}/users/me", headers=origin, timeout=10),
    ]
    assert preflight.status_code == 405
    assert [r.status_code for r in answers[1:]] == [200, 404, 401]
    for response in answers:
        assert not [h for h in response.headers if h.lower().startswith("access-control-")], response.url


def test_api_keys_are_enforced_as_the_gateway_does(local_stack):
    from devtools.api_keys import DEMO_API_KEYS

    url = local_stack.url
    for headers in ({}, {"X-Api-Key": "not-a-key-of-ours"}):
        refused = requests.get(f"{url}/restaurants", headers=headers, timeout=10)
        assert refused.status_code == 403, refused.text
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["title"] == PROBLEMS[403].title and refused.json()["status"] == 403
        # The key is checked before the token, and before the body is looked at.
        assert requests.get(f"{url}/users/me", headers=headers, timeout=10).status_code == 403
        assert requests.post(f"{url}/auth/login", data=b"{", headers=headers, timeout=10).status_code == 403
    for app, key in DEMO_API_KEYS.items():
        assert requests.get(f"{url}/restaurants", headers={"X-Api-Key": key}, timeout=10).status_code == 200, app
    assert requests.get(f"{url}/users/me", headers={"X-Api-Key": DEMO_API_KEYS["web"]}, timeout=10).status_code == 401
    # What monitors and clients need before they hold a key; an unknown path stays a 404.
    assert requests.get(f"{url}/health", timeout=10).status_code == 200
    assert requests.get(f"{url}/openapi.json", timeout=10).status_code == 200
    assert requests.get(f"{url}/no-such-path", timeout=10).status_code == 404
    # The web app's files are not API routes; /client-config hands the web app its key.
    for path in ("/", "/index.html", "/js/api.js", "/css/app.css"):
        assert requests.get(f"{url}{path}", timeout=10).status_code == 200, path
    config = requests.get(f"{url}/client-config", timeout=10)
    assert config.status_code == 200 and config.json()["web_api_key"] == DEMO_API_KEYS["web"]


def test_make_run_says_what_it_does_in_compact_lines(local_stack):
    requests.get(f"{local_stack.url}/health", headers={"X-Request-Id": "talk-1"}, timeout=10)
    requests.head(f"{local_stack.url}/health", timeout=10)
    head_line = re.compile(r"^\d\d:\d\d:\d\d gateway +HEAD /health 404 \d+ ms$", re.MULTILINE)
    deadline = time.monotonic() + 10  # the line is written just after the response is sent
    while not head_line.search(log := local_stack.log()) and time.monotonic() < deadline:
        time.sleep(0.1)
    for step in ("Starting the AWS emulator", "Provisioning", "demo accounts", "event pipeline", "Serving the API"):
        assert f"· {step}" in log or step in log, step
    assert re.search(r"^\d\d:\d\d:\d\d api_handler +GET /health 200 \d+ ms$", log, re.MULTILINE), log[-2000:]
    assert head_line.search(log)
    assert '"message"' not in log, "no JSON log records locally"
    assert '"GET /health HTTP/1.1"' not in log, "no second access line from http.server"
    assert "\x1b" not in log, "nothing probes the terminal with escape sequences"


def test_the_api_answers_under_api_and_ready_checks_the_stores(local_stack):
    assert requests.get(f"{local_stack.url}/api/health", timeout=10).json()["status"] == "ok"
    ready = local_stack.http.get(f"{local_stack.url}/api/ready", timeout=10)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_each_stack_writes_its_own_environment_file(local_stack):
    env = stackenv.read(stackenv.path_for(local_stack.port))
    assert env["AWS_ENDPOINT_URL"] == local_stack.emulator_url
    assert env[stackenv.PORT] == str(local_stack.port)
    assert env[stackenv.PID] == str(local_stack.pid)


def _redrive(*args: str, port: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ORDERS_"))}
    env.pop("PORT", None)
    if port:
        env["PORT"] = port
    return subprocess.run(
        [sys.executable, "-m", "devtools.redrive", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_redrive_picks_the_stack_by_port_and_refuses_to_guess(local_stack):
    other = LocalStack().start()
    try:
        _dead_letter(local_stack)
        out = _redrive(port=str(other.port))
        assert out.returncode == 0, out.stderr
        assert "redrove 0 message(s)" in out.stdout and other.emulator_url in out.stdout
        out = _redrive("--port", str(local_stack.port))
        assert out.returncode == 0, out.stderr
        assert "redrove 1 message(s)" in out.stdout and local_stack.emulator_url in out.stdout
        ambiguous = _redrive()
        assert ambiguous.returncode != 0
        assert "PORT=" in ambiguous.stderr and str(local_stack.port) in ambiguous.stderr
        assert str(other.port) in ambiguous.stderr

        # The other stack's emulator dies: that stack says so and exits, instead of serving 503s.
        emulator_pid = _child_listening_on(other.pid, other.emulator_port)
        os.kill(emulator_pid, signal.SIGKILL)
        assert other.wait(timeout=30) == 1
        assert "emulator" in other.log() and "has exited" in other.log()
        assert "Traceback" not in other.log()
    finally:
        other.stop()
    # One stack left: redrive finds it without being told.
    alone = _redrive()
    assert alone.returncode == 0, alone.stderr
    assert f"{local_stack.emulator_port}" in alone.stdout


def _dead_letter(stack: LocalStack) -> None:
    """One message in that stack's orders DLQ (it names no order: it is only moved)."""
    import boto3

    env = stackenv.read(stackenv.path_for(stack.port))
    sqs = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("sqs", endpoint_url=env["AWS_ENDPOINT_URL"])
    body = '{"order_id": "redrive-probe"}'
    sqs.send_message(
        QueueUrl=env["ORDERS_DLQ_URL"],
        MessageBody=body,
        MessageGroupId="probe",
        MessageDeduplicationId=uuid.uuid4().hex,
    )


def _child_listening_on(parent: int, port: int) -> int:
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    for child in children:
        if f"-p {port}" in Path(f"/proc/{child}/cmdline").read_text().replace("\0", " "):
            return int(child)
    raise AssertionError(f"no child of {parent} serves port {port}")


@pytest.mark.parametrize(("flag", "variable"), [("--port", "PORT"), ("--emulator-port", "EMULATOR_PORT")])
def test_a_taken_port_is_named_with_the_variable_to_change(flag, variable):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        other = "--emulator-port" if flag == "--port" else "--port"
        out = subprocess.run(
            [sys.executable, "-m", "devtools.run", flag, str(port), other, str(free_port())],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 1
    assert f"port {port}" in out.stderr and f"{variable}=" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
