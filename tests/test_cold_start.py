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
