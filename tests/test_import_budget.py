"""The cold start budget of api_handler: what ``import app`` may load, and how long it may take.

Timing is compared with a baseline measured in the same run (chalice and pydantic, which
the app needs anyway), best of several interleaved runs, so machine load cancels out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Loaded on first use, never by the import of app: the AWS SDK and its first client
# (~300 ms), the token verifier (only where no authorizer runs), Powertools and X-Ray
# (first invocation), the OpenAPI generator and the tools of tests and benchmarks.
TOOLS = ("schemathesis", "hypothesis", "requests", "moto", "yaml", "jsonschema")
# The routes' models: each is imported by the first request of a route that names it.
ROUTE_MODELS = tuple(
    f"chalicelib.domain.{name}"
    for name in (
        "accounts",
        "catalog",
        "couriers",
        "live",
        "notifications",
        "operations",
        "orders",
        "payments",
        "promos",
    )
)
FORBIDDEN = (
    "boto3",
    "botocore",
    "jwt",
    "cryptography",
    "aws_lambda_powertools",
    "aws_xray_sdk",
    "chalicelib.entry.openapi",
    "stripe",
    "chalicelib.services.live",
    *ROUTE_MODELS,
    *TOOLS,
)
# `import app` may take at most this multiple of importing chalice and pydantic's BaseModel.
IMPORT_BUDGET_RATIO = 2.5
RUNS = 5


def _import_ms(statement: str) -> float:
    """Cumulative import time (microseconds -> ms) of the top-level modules ``statement`` loads."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    total = 0
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S+)$", line)  # top level: no indent
        if match:
            total += int(match.group(1))
    return total / 1000


def test_import_of_app_loads_nothing_it_does_not_need():
    probe = f"import sys, app; print([m for m in {FORBIDDEN!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_import_of_app_stays_within_its_budget():
    app_ms, base_ms = [], []
    for _ in range(RUNS):
        app_ms.append(_import_ms("import app"))
        base_ms.append(_import_ms("import chalice.app; from pydantic import BaseModel"))
    ratio = min(app_ms) / min(base_ms)
    assert ratio <= IMPORT_BUDGET_RATIO, (
        f"import app: {min(app_ms):.0f} ms, {ratio:.2f}x the baseline ({min(base_ms):.0f} ms); "
        f"budget {IMPORT_BUDGET_RATIO}x: defer the new import to first use"
    )


# --- per function: what its first invocation loads, on AWS settings (the authorizer has
# verified the token, logs are JSON), served from the emulator -----------------------------

ANY_FUNCTION = (
    "stripe",  # the Stripe provider and the webhook route only (on the local stage: neither)
    "boto3",  # the clients are botocore's, the DynamoDB codec is the adapter's own
    "jwt",
    "cryptography",
    "aws_xray_sdk",  # traces only on Lambda
    "chalicelib.entry.openapi",
    "chalicelib.adapters.token_verifier",
    *TOOLS,
)
NOT_LOADED_BY = {
    # A cached read that succeeds writes no log line: no Powertools at all.
    "api_handler": (
        "aws_lambda_powertools",
        # A menu read builds the catalog's models only, and no user pool adapter.
        *(m for m in ROUTE_MODELS if m != "chalicelib.domain.catalog"),
        "chalicelib.adapters.identity",
        "chalicelib.services.orders",
        "chalicelib.services.notifications",
        "chalicelib.services.payments",
        "chalicelib.adapters.orders_repo",
        "chalicelib.adapters.payment_provider",
    ),
    "process_order": (
        "aws_lambda_powertools.utilities.idempotency",
        "chalicelib.services.catalog",
        "chalicelib.services.notifications",
        "chalicelib.services.accounts",
        "chalicelib.adapters.users_repo",  # a profile check is a key in its batch read, no more
    ),
    "notify": (
        "aws_lambda_powertools.utilities.idempotency",
        "chalicelib.services.orders",
        "chalicelib.services.payments",
        "chalicelib.services.catalog",
        "chalicelib.adapters.payment_provider",
    ),
    # The payment provider is all it talks to: no AWS client (Powertools' logger does import
    # the botocore package, to tag a session's user agent).
    "payment": (
        "botocore.session",
        "aws_lambda_powertools.utilities.batch",
        "chalicelib.services.orders",
        "chalicelib.services.catalog",
        "chalicelib.services.notifications",
        "chalicelib.adapters.orders_repo",
    ),
}


@pytest.fixture(scope="module")
def first_invocations(stack: dict[str, Any]) -> Iterator[tuple[dict[str, str], Any]]:
    from bench.cold_start import FirstInvocations
    from bench.common import first_restaurant, lambda_env

    # However slow this machine is today, no request gets a "slow request" line.
    env = {**stack["env"], **lambda_env(stack["env"]), "SLOW_REQUEST_MS": "600000"}
    saved = dict(os.environ)
    try:
        yield env, FirstInvocations(env, first_restaurant(env))
    finally:  # the other tests' app verifies tokens, as the local stage does
        os.environ.clear()
        os.environ.update(saved)
        from chalicelib.bootstrap import reset

        reset()


@pytest.mark.parametrize("function", sorted(NOT_LOADED_BY))
def test_each_function_loads_only_what_it_uses(first_invocations, function):
    from bench.cold_start import APP
    from bench.common import run_child

    env, invocations = first_invocations
    loaded = set(run_child(APP, env, {"function": function, "event": invocations.event(function)})["modules"])
    unwanted = [m for m in (*ANY_FUNCTION, *NOT_LOADED_BY[function]) if m in loaded]
    assert unwanted == [], f"{function}'s first invocation loads {unwanted}: import it where it is used"


def test_the_first_model_built_looks_for_no_pydantic_plugin():
    # chalicelib opts out: looking reads the metadata of every installed distribution (tens of
    # ms of a cold start in a virtualenv with the test tools).
    probe = (
        "import os; os.environ.pop('PYDANTIC_DISABLE_PLUGINS', None)\n"
        "import app\n"
        "from chalicelib.domain.catalog import Menu\n"
        "Menu.model_validate({'items': [], 'next_cursor': None})\n"
        "from pydantic.plugin import _loader\n"
        "print(_loader._plugins)"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"
