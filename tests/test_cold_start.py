"""Importing the app creates no AWS client and needs no credentials or network."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import botocore.session
calls = []
original = botocore.session.Session.create_client
def counting(self, *args, **kwargs):
    calls.append(args[0] if args else kwargs.get("service_name"))
    return original(self, *args, **kwargs)
botocore.session.Session.create_client = counting
import app
print(len(app.app.routes), "routes;", len(calls), "clients")
assert calls == [], calls
"""


def test_import_creates_no_client_and_needs_no_credentials():
    env = {"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "0 clients" in result.stdout


def test_import_does_not_load_boto3_or_jwt():
    probe = "import sys, app; print(sorted(m for m in ('boto3', 'jwt', 'cryptography') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


GC_PROBE = """
import gc, json, sys
import app
print("GC", json.dumps({"after_import": gc.isenabled()}))
event = {
    "resource": "/health", "path": "/health", "httpMethod": "GET", "headers": {}, "multiValueHeaders": {},
    "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
    "stageVariables": None, "body": None, "isBase64Encoded": False,
    "requestContext": {"resourcePath": "/health", "httpMethod": "GET", "requestId": "r-1", "stage": "api"},
}
class Context:
    function_name, aws_request_id, memory_limit_in_mb = "chowline-api_handler", "r-1", 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:chowline-api_handler"
    def get_remaining_time_in_millis(self):
        return 10_000
response = app.app(event, Context())
assert response["statusCode"] == 200, response
print("GC", json.dumps({"after_first": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def _gc_states(extra_env: dict[str, str]) -> list[dict[str, object]]:
    import json

    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "AWS_DEFAULT_REGION": "us-east-1", **extra_env}
    result = subprocess.run(
        [sys.executable, "-c", GC_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line[3:]) for line in result.stdout.splitlines() if line.startswith("GC ")]


def test_on_lambda_the_collector_sleeps_through_the_cold_start_then_freezes_it():
    imported, served = _gc_states({"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"})
    assert imported == {"after_import": False}
    assert served["after_first"] is True
    assert served["frozen"] > 10_000  # the cold start's modules, classes and clients


def test_anywhere_else_the_collector_stays_on():
    imported, served = _gc_states({})
    assert imported == {"after_import": True}
    assert served == {"after_first": True, "frozen": 0}
