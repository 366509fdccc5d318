"""Logs, metrics and traces: what the observability middleware writes, and what it never writes."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from chalice import Chalice
from chalice.test import Client

import app as app_module
from chalicelib.adapters.metrics import Metrics
from chalicelib.entry import observability

ROOT = Path(__file__).resolve().parent.parent


def json_lines(text: str) -> list[dict]:
    """Log records, compact or pretty-printed (POWERTOOLS_DEV), one after another."""
    decoder = json.JSONDecoder()
    records, index = [], 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return records
        record, index = decoder.raw_decode(text, index)
        records.append(record)


@pytest.fixture
def logs(stack):
    stream = io.StringIO()
    observability.configure(stream=stream, app=app_module.app)
    yield stream
    observability.configure(app=app_module.app)


def test_no_password_token_or_payment_token_reaches_the_logs(client, logs, headers_for):
    email = f"redact-{uuid.uuid4().hex[:8]}@example.com"
    password = "Sup3r-secret-Passw0rd"
    signed = client.http.post(
        "/auth/signup",
        headers=headers_for(),
        body=json.dumps({"email": email, "password": password, "name": "Redact Me"}),
    )
    assert signed.status_code == 201
    client.http.post("/auth/confirm", headers=headers_for(), body=json.dumps({"email": email, "code": "123456"}))
    login = client.http.post(
        "/auth/login", headers=headers_for(), body=json.dumps({"email": email, "password": password})
    )
    assert login.status_code == 200
    tokens = json.loads(login.body)
    me = client.http.get("/users/me", headers={"Authorization": f"Bearer {tokens['id_token']}"})
    assert me.status_code == 200
    payment_token = "tok_live_4242_do_not_log"
    order = {
        "restaurant_id": "r-1",
        "items": [{"product_id": "p-1", "quantity": 1}],
        "delivery_address": "1 Main St",
        "payment_token": payment_token,
    }
    client.http.post(
        "/orders",
        headers=headers_for("customer", **{"Idempotency-Key": uuid.uuid4().hex}),
        body=json.dumps(order),
    )
    # Whatever a service might log by mistake is masked too.
    observability.logger().info(
        "debugging a body", extra={"body": order, "login": {"email": email, "password": password}}
    )
    observability.logger().warning(f"header was Bearer {tokens['access_token']}")

    text = logs.getvalue()
    for secret in (password, tokens["id_token"], tokens["access_token"], tokens["refresh_token"], payment_token):
        assert secret not in text
    assert "[redacted]" in text
    records = json_lines(text)
    assert {r["message"] for r in records} >= {"request", "debugging a body"}
    assert next(r for r in records if r["message"] == "debugging a body")["body"]["restaurant_id"] == "r-1"


def test_request_lines_carry_ids_function_cold_start_and_principal(client, logs, token_for):
    response = client.http.get(
        "/users/me", headers={"Authorization": token_for("customer"), "X-Request-Id": "trace-me-1"}
    )
    assert response.status_code == 200
    user_id = json.loads(response.body)["user_id"]
    client.http.get("/health")
    records = [r for r in json_lines(logs.getvalue()) if r["message"] == "request"]
    me, health = records[-2], records[-1]
    assert me["x_request_id"] == "trace-me-1" == response.headers["X-Request-Id"]
    assert me["principal_id"] == user_id
    assert me["route"] == "/users/me" and me["status"] == 200 and me["duration_ms"] >= 0
    assert me["function_name"] == "api_handler"
    assert me["request_id"] and me["request_id"] != me["x_request_id"]
    assert me["cold_start"] is False and health["cold_start"] is False
    assert "principal_id" not in health and health["x_request_id"] != "trace-me-1"
    assert me["timestamp"][10] == "T"


def test_unhandled_errors_are_logged_as_json_and_answered_as_problems():
    from chalicelib.entry import middleware

    toy = Chalice(app_name="toy-crash")
    stream = io.StringIO()

    @toy.middleware("all")
    def observe(event, get_response):
        return observability.handle(toy, event, get_response)

    @toy.middleware("http")
    def problems(event, get_response):
        return middleware.handle(toy, event, get_response, lambda: None)

    @toy.route("/boom")
    def boom():
        raise RuntimeError("unexpected input_value='hunter2'")

    observability.configure(stream=stream, app=toy)
    try:
        with Client(toy) as client:
            response = client.http.get("/boom")
    finally:
        observability.configure(app=app_module.app)
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/problem+json"
    records = json_lines(stream.getvalue())
    failed = [r for r in records if r.get("status") == 500]
    assert failed and failed[-1]["level"] == "ERROR" and failed[-1]["route"] == "/boom"
    crash = [r for r in records if "RuntimeError" in json.dumps(r)]
    assert crash and crash[0]["x_request_id"] == response.headers["X-Request-Id"]
    assert "hunter2" not in stream.getvalue()


def test_redact_masks_by_key_and_by_shape():
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    out = observability.redact(
        {
            "password": "x",
            "nested": [{"paymentToken": "tok_1", "refresh_token": "r"}],
            "note": f"Authorization: Bearer {jwt}",
            "error": "1 validation error input_value='p4ss', input_type=str",
            "email": "a@b.co",
            "session": None,
        }
    )
    assert out["password"] == "[redacted]"
    assert out["nested"][0] == {"paymentToken": "[redacted]", "refresh_token": "[redacted]"}
    assert jwt not in out["note"] and "p4ss" not in out["error"]
    assert out["email"] == "a@b.co" and out["session"] is None


def emf_records(text: str) -> list[dict]:
    return [r for r in json_lines(text) if "_aws" in r]


@pytest.fixture
def emf_enabled(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("POWERTOOLS_DEV", "false")


def test_metrics_facade_writes_emf(capsys, emf_enabled):
    from aws_lambda_powertools import Metrics as PowertoolsMetrics

    # Powertools keeps one buffer per namespace for all instances: start from an empty one.
    PowertoolsMetrics(namespace="Chowline").clear_metrics()
    metrics = Metrics(stage="test")
    metrics.order_placed()
    metrics.order_placed()
    metrics.order_confirmed()
    metrics.dlq_sent()
    metrics.order_failed("out_of_stock")
    metrics.payment_latency(123.4, outcome="approved")
    metrics.flush()
    metrics.flush()  # nothing pending: prints nothing
    records = emf_records(capsys.readouterr().out)
    assert len(records) == 3
    by_name = {m["Name"]: r for r in records for m in r["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert by_name["OrdersPlaced"]["OrdersPlaced"] == [1.0, 1.0]
    assert by_name["OrdersFailed"]["reason"] == "out_of_stock"
    assert by_name["PaymentLatency"]["outcome"] == "approved"
    assert by_name["PaymentLatency"]["PaymentLatency"] in (123.4, [123.4])
    for record in records:
        assert record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Chowline"
        assert record["stage"] == "test" and record["service"] == "chowline"


def test_metrics_switched_off_are_neither_kept_nor_printed(capsys, monkeypatch):
    """The local stage's setting: Powertools would keep every value and print its buffer
    whole, pretty, once a metric held 100 of them (a lunch rush's terminal full of EMF)."""
    from aws_lambda_powertools import Metrics as PowertoolsMetrics

    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    PowertoolsMetrics(namespace="Chowline").clear_metrics()
    metrics = Metrics(stage="test")
    for _ in range(150):
        metrics.order_placed()
        metrics.flush()
    assert emf_records(capsys.readouterr().out) == []
    assert not PowertoolsMetrics(namespace="Chowline").metric_set


def test_event_functions_get_logs_and_metrics_through_the_same_middleware(capsys, emf_enabled):
    toy = Chalice(app_name="toy-events")
    metrics = Metrics(stage="test")
    stream = io.StringIO()
    observability.configure(stream=stream, app=toy)

    @toy.middleware("all")
    def observe(event, get_response):
        return observability.handle(toy, event, get_response, lambda: metrics)

    @toy.lambda_function(name="charge")
    def charge(event, context):
        metrics.payment_latency(42.0, outcome="declined")
        metrics.order_confirmed()
        return {"ok": True}

    @toy.on_sqs_message(queue="orders.fifo", name="process")
    def process(event):
        return {"batchItemFailures": [{"itemIdentifier": "m-2"}]}

    @toy.lambda_function(name="crash")
    def crash(event, context):
        raise ValueError("payment_token=tok_crash should never be logged as a value")

    try:
        with Client(toy) as client:
            assert client.lambda_.invoke("charge", {"password": "not-logged"}).payload == {"ok": True}
            sqs = client.events.generate_sqs_event(message_bodies=["a", "b"], queue_name="orders.fifo")
            client.lambda_.invoke("process", sqs)
            with pytest.raises(ValueError):
                client.lambda_.invoke("crash", {})
    finally:
        observability.configure(app=app_module.app)
    lines = [r for r in json_lines(stream.getvalue()) if r["message"] == "invocation"]
    assert [(r["event"], r["outcome"]) for r in lines] == [
        ("LambdaFunctionEvent", "ok"),
        ("SQSEvent", "partial"),
        ("LambdaFunctionEvent", "error"),
    ]
    assert lines[1]["records"] == 2
    assert lines[0]["cold_start"] is True or lines[0]["cold_start"] is False
    assert "not-logged" not in stream.getvalue()
    names = {
        m["Name"] for r in emf_records(capsys.readouterr().out) for m in r["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    assert names == {"PaymentLatency", "OrdersConfirmed"}


TRACE_PROBE = """
import json, os, socket, sys
from chalice import Chalice
from chalice.test import Client
from chalicelib.adapters.aws import AwsClients
from chalicelib.entry import observability

toy = Chalice(app_name="traced")

@toy.middleware("all")
def observe(event, get_response):
    return observability.handle(toy, event, get_response)

@toy.route("/tables")
def tables():
    return {"tables": AwsClients("us-east-1").get("dynamodb").list_tables()["TableNames"]}

with Client(toy) as client:
    response = client.http.get("/tables")
    assert response.status_code == 200, response.body
print("aws_xray_sdk" in sys.modules)
"""


def test_aws_calls_are_traced_on_lambda_only(stack):
    local = subprocess.run(
        [sys.executable, "-c", TRACE_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert local.returncode == 0, local.stderr
    assert local.stdout.strip().splitlines()[-1] == "False", "no X-Ray outside Lambda"

    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(10)
    env = {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": "chowline-test-api_handler",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
        "LAMBDA_TASK_ROOT": str(ROOT),
    }
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    try:
        on_lambda = subprocess.run(
            [sys.executable, "-c", TRACE_PROBE],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert on_lambda.returncode == 0, on_lambda.stderr
        documents = []
        while True:
            try:
                payload = daemon.recv(65536).decode()
            except TimeoutError:
                break
            documents.append(json.loads(payload.split("\n", 1)[1]))
            if any(d.get("name") == "## GET /tables" for d in documents):
                break
    finally:
        daemon.close()
    traced = json.dumps(documents)
    assert "## GET /tables" in traced
    calls = [d for d in documents if d.get("namespace") == "aws"]
    assert calls, traced
    assert calls[0]["name"] == "dynamodb" and calls[0]["aws"]["operation"] == "ListTables", traced
