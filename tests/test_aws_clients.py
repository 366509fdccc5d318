"""Every AWS call is bounded: timeouts and attempts that fit the API's time limits."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from chalicelib.adapters.aws import (
    AWS_LIMITS,
    EMULATOR_LIMITS,
    SERVICE_LIMITS,
    AwsClients,
    CallLimits,
    aws_errors,
)
from chalicelib.domain.errors import ServiceUnavailable
from devtools.emulator import client_env

ROOT = Path(__file__).resolve().parent.parent
GATEWAY_LIMIT_SECONDS = 29  # API Gateway's integration timeout


def _functions(stage: str) -> dict[str, dict]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return config["stages"][stage]["lambda_functions"]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_one_hanging_call_ends_within_the_api_functions_timeout(stage):
    api_timeout = _functions(stage)["api_handler"]["lambda_timeout"]
    assert api_timeout < GATEWAY_LIMIT_SECONDS
    clients = AwsClients("us-east-1")
    for service in ("dynamodb", "sqs", "cognito-idp", "lambda"):
        assert clients.limits(service).worst_case_seconds() < api_timeout, service


def test_the_payment_invoke_waits_as_long_as_the_payment_function_runs():
    payment_timeout = _functions("prod")["payment"]["lambda_timeout"]
    assert SERVICE_LIMITS["lambda"].read_timeout > payment_timeout
    assert AwsClients("us-east-1").limits("lambda").read_timeout > payment_timeout


def test_the_emulator_gets_its_own_bounded_limits():
    assert AwsClients("us-east-1", emulator=True).limits("dynamodb") == EMULATOR_LIMITS
    assert AwsClients("us-east-1").limits("dynamodb") == AWS_LIMITS
    assert EMULATOR_LIMITS.worst_case_seconds() < GATEWAY_LIMIT_SECONDS


@pytest.fixture
def silent_endpoint(monkeypatch):
    """A TCP endpoint that accepts connections and never answers; counts the connections."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    for name, value in client_env(listener.getsockname()[1]).items():
        monkeypatch.setenv(name, value)
    yield accepted
    stop.set()
    thread.join(5)
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_store_that_never_answers_is_a_503_after_the_bounded_attempts(silent_endpoint):
    limits = CallLimits(connect_timeout=0.5, read_timeout=0.3, max_attempts=2)
    db = AwsClients("us-east-1", limits=limits).get("dynamodb")
    with pytest.raises(ServiceUnavailable), aws_errors("The test store"):
        db.get_item(TableName="any", Key={"id": {"S": "x"}})
    assert len(silent_endpoint) == limits.max_attempts


def test_the_default_clients_try_twice_and_no_more(silent_endpoint):
    # The real defaults (AWS_LIMITS: 2 s reads), one call: a few seconds at most.
    db = AwsClients("us-east-1").get("dynamodb")
    with pytest.raises(ServiceUnavailable), aws_errors("The test store"):
        db.get_item(TableName="any", Key={"id": {"S": "x"}})
    assert len(silent_endpoint) == AWS_LIMITS.max_attempts == 2
