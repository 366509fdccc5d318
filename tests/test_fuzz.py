"""Fuzzing the published contract: schemathesis generates requests from the served
/openapi.json and sends them to the real local stack (``devtools.run`` in a subprocess).

Every check runs (no 5xx, responses and status codes as documented, invalid input
rejected, valid input accepted, protected operations refusing a missing token, methods a
path lacks answered with 405). Every run sends the web app's API key. Public operations
are fuzzed once without a token; the protected ones once per demo role, signed in through
POST /auth/login. Each run goes on after a failure (``--continue-on-failure``) so one report lists everything it found.

``FUZZ_EXAMPLES`` (default 50) and ``FUZZ_SEED`` (default fixed, so CI is reproducible;
``FUZZ_SEED=random`` explores new inputs) tune it. No example database is kept between
runs, so a seed names one run everywhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import requests

from devtools.api_keys import DEMO_API_KEYS
from tests.localstack import LocalStack

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / ".local" / "fuzz"
ROLES = ("customer", "owner", "courier", "admin")
PASSWORD = "Chowline-demo-1"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
SEED = os.environ.get("FUZZ_SEED", "20261127")
PUBLIC = "/x-roles == []"
# Each run is long: under xdist they go to whichever worker is free (tests/conftest.py).
pytestmark = pytest.mark.spread

# Failures found in code other areas own, reported to them, and verdicts no schema can
# predict; each is listed with what it needs. Delete an entry once fixed: the run then
# guards against its return.
KNOWN: dict[tuple[str, str], str] = {
    ("ST202", "POST /auth/signup"): (
        "the pool's password policy (upper, lower, digit, symbol) cannot be said in JSON Schema; "
        "such passwords get a 400 that names the password field"
    ),
    ("ST202", "POST /auth/reset"): (
        "the password policy cannot be said in JSON Schema (as for sign-up), and whether a code is right no "
        "schema can say: a wrong code, or an unknown email, is the contract's 400 naming the code"
    ),
    ("ST202", "POST /auth/confirm"): (
        "whether a code is right no schema can say: a wrong code, or an unknown email (no account "
        "enumeration), is a 400 naming the code"
    ),
    ("ST202", "POST /payments/webhook"): (
        "whether a signature is right no schema can say: one that does not sign the body with the "
        "endpoint's secret (or any, on a stage without one) is the documented 400 naming Stripe-Signature"
    ),
    ("ST202", "POST /orders"): (
        "one product on two lines cannot be said in JSON Schema (uniqueItems compares whole lines); "
        "it gets a 400 that names the repeated line; and whether the address is inside the restaurant's "
        "radius, or the restaurant open at that instant, is the catalog's to say (422 out_of_delivery_area, "
        "422 restaurant_closed)"
    ),
    ("ST202", "GET /restaurants"): (
        "lat and lng go together, which OpenAPI cannot say of two query parameters: one alone is a 400 naming the other"
    ),
    ("ST202", "POST /restaurants"): (
        "a time zone must be one the IANA database has, and an opening range cannot open and close at "
        "the same minute: no pattern says either; each gets a 400 naming the field"
    ),
    ("ST202", "PATCH /restaurants/{restaurant_id}"): (
        "as for POST /restaurants: an unknown time zone or a range that opens and closes at the same "
        "minute is a 400 naming the field"
    ),
    ("ST202", "POST /promo-codes"): (
        "a validity window must run forward (ends_at after starts_at), which JSON Schema cannot compare; "
        "a backward window is a 400 naming the body"
    ),
    ("ST202", "POST /orders/quote"): (
        "the lines of a quote are an order's (as for POST /orders): one product on two lines is a 400 naming the line"
    ),
}


@pytest.fixture(scope="module")
def fuzz_stack():
    stack = LocalStack().start()
    yield stack
    stack.stop()


def _login(url: str, who: str) -> str:
    response = requests.post(
        f"{url}/auth/login",
        json={"email": who if "@" in who else f"{who}@demo.chowline.dev", "password": PASSWORD},
        headers={"X-Api-Key": DEMO_API_KEYS["web"]},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["id_token"]


def _schemathesis(stack: LocalStack, name: str, *options: str) -> dict:
    REPORTS.mkdir(parents=True, exist_ok=True)
    report = REPORTS / f"{name}.json"
    report.unlink(missing_ok=True)
    seed = [] if SEED == "random" else ["--seed", SEED]
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{stack.url}/openapi.json",
        "--url",
        stack.url,
        "--header",
        f"X-Api-Key: {DEMO_API_KEYS['web']}",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(EXAMPLES),
        "--continue-on-failure",
        # One worker: generating the cases takes most of a run's time, and schemathesis'
        # workers are threads of one interpreter (two took 34.3 s here, one 34.7 s).
        "--workers",
        "1",
        "--request-timeout",
        "15",
        # No example database: with the fixed seed a run is the same run on every machine
        # (a database replays and pareto-optimises what earlier runs found: a quarter of the time).
        "--generation-database",
        "none",
        "--no-color",
        "--output-truncate",
        "true",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        *seed,
        *options,
    ]
    # run inside .local/ (ignored by git): schemathesis keeps its cache in the working directory
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, cwd=REPORTS, env=env, capture_output=True, text=True, timeout=900, check=False)
    (REPORTS / f"{name}.txt").write_text(result.stdout + result.stderr)
    assert report.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    outcome = json.loads(report.read_text())
    outcome["output"] = result.stdout
    return outcome


def _verdict(outcome: dict, name: str) -> None:
    operations = outcome["operations"]
    assert operations["tested"] == operations["selected"] > 0, operations
    assert operations["errored"] == 0, outcome["output"][-4000:]
    assert outcome["test_cases"]["generated"] >= operations["tested"]
    found = {(f["code"], op) for f in outcome["failures"] for op in f["operations"]}
    for key in sorted(found & set(KNOWN)):
        warnings.warn(f"fuzz [{name}] known failure {key[0]} {key[1]}: {KNOWN[key]}", stacklevel=2)
    unexpected = sorted(found - set(KNOWN))
    assert not unexpected, f"{unexpected}\n\n{outcome['output'][-12000:]}"


def test_public_operations_without_a_token(fuzz_stack):
    outcome = _schemathesis(fuzz_stack, "public", "--include-by", PUBLIC)
    _verdict(outcome, "public")


# Deleting the account would end the demo account's run: fuzzed with a throwaway account.
ACCOUNT_DELETION = "DELETE /users/me"


@pytest.mark.parametrize("role", ROLES)
def test_protected_operations_as_each_role(fuzz_stack, role):
    token = _login(fuzz_stack.url, role)
    outcome = _schemathesis(
        fuzz_stack,
        role,
        "--exclude-by",
        PUBLIC,
        "--exclude-name",
        ACCOUNT_DELETION,
        "--header",
        f"Authorization: Bearer {token}",
    )
    _verdict(outcome, role)


def test_account_deletion_as_a_throwaway_account(fuzz_stack):
    email = f"fuzz-{os.getpid()}-{id(fuzz_stack)}@test.chowline.dev"
    signed = fuzz_stack.http.post(
        f"{fuzz_stack.url}/auth/signup", json={"email": email, "password": PASSWORD, "name": "Fuzz"}, timeout=10
    )
    assert signed.status_code == 201, signed.text
    confirmed = fuzz_stack.http.post(f"{fuzz_stack.url}/auth/confirm", json={"email": email, "code": "1"}, timeout=10)
    assert confirmed.status_code == 204, confirmed.text
    token = _login(fuzz_stack.url, email)
    outcome = _schemathesis(
        fuzz_stack, "deletion", "--include-name", ACCOUNT_DELETION, "--header", f"Authorization: Bearer {token}"
    )
    _verdict(outcome, "deletion")
