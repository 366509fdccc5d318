"""docs/api.md, the project's API guide: linked from the README, its curl walk runs as
written against the real local stack, and the examples that /docs pre-fills work."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import app as app_module
from chalicelib.entry import examples, openapi
from tests.localstack import LocalStack

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "api.md").read_text()


def walk() -> str:
    block = GUIDE.split("<!-- walk", 1)[1].split("<!-- end walk -->", 1)[0]
    return block.split("```sh\n", 1)[1].rsplit("```", 1)[0]


def test_the_readme_points_to_the_guide() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "(docs/api.md)" in readme
    assert "API contract v1" not in readme


def test_every_path_the_guide_calls_is_an_operation() -> None:
    document = openapi.generate(app_module.api)
    patterns = [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$") for path in document["paths"]]
    called = re.findall(r'"\$API(/[^"?]*)', walk())
    assert len(called) >= 8
    for path in called:
        concrete = re.sub(r"\$\w+", "x", path)
        assert any(p.match(concrete) for p in patterns), path


@pytest.fixture(scope="module")
def local_stack() -> Iterator[LocalStack]:
    stack = LocalStack().start(timeout=120)
    yield stack
    stack.stop()


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="the walk needs curl and jq")
def test_the_curl_walk_runs_from_sign_up_to_delivery(local_stack: LocalStack) -> None:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walk()],
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "API": local_stack.url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PENDING > CONFIRMED > ACCEPTED > PREPARING > READY > PICKED_UP > DELIVERED" in result.stdout


def test_the_walk_sends_the_api_key_it_reads_from_client_config() -> None:
    block = walk()
    assert '"$API/client-config"' in block and "web_api_key" in block
    assert block.count('curl -sf -H "X-Api-Key: $KEY"') == 1 and block.count("curl") == 2


# --- the examples of /docs ---------------------------------------------------------------


def request_models() -> dict[str, Any]:
    return {op.request_model.__name__: op.request_model for op in app_module.api.operations if op.request_model}


def test_every_example_is_a_valid_body_of_a_declared_operation() -> None:
    models = request_models()
    for name, example in examples.REQUEST_EXAMPLES.items():
        assert name in models, f"an example for {name}, which no operation takes"
        models[name].model_validate(example)
    document = openapi.generate(app_module.api)
    body = document["paths"]["/orders"]["post"]["requestBody"]["content"]["application/json"]
    assert body["example"]["payment_token"] == "tok_visa"


def test_the_login_and_order_examples_work_as_pre_filled(
    client: Any, headers_for: Callable[..., dict[str, str]]
) -> None:
    login = client.http.post("/auth/login", headers=headers_for(), body=json.dumps(examples.REQUEST_EXAMPLES["Login"]))
    assert login.status_code == 200 and json.loads(login.body)["id_token"]
    token = json.loads(login.body)["id_token"]
    # what /docs does: the first of ten restaurants with something on its menu, a fresh key
    restaurant, product = "", ""
    for listed in json.loads(client.http.get("/restaurants?limit=10").body)["items"]:
        menu = json.loads(client.http.get(f"/restaurants/{listed['restaurant_id']}/products?limit=1").body)["items"]
        if menu:
            restaurant, product = listed["restaurant_id"], menu[0]["product_id"]
            break
    assert product, "a restaurant with a menu among the first ten"
    order = json.loads(json.dumps(examples.REQUEST_EXAMPLES["PlaceOrder"]))
    order["restaurant_id"], order["items"][0]["product_id"] = restaurant, product
    placed = client.http.post(
        "/orders",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": str(uuid.uuid4()),
        },
        body=json.dumps(order),
    )
    assert placed.status_code == 202, placed.body


def test_docs_try_it_uses_the_examples_and_a_fresh_idempotency_key() -> None:
    script = (openapi.STATIC_DIR / "docs.js").read_text()
    assert "media.example" in script
    assert "idempotency-key" in script and "crypto.randomUUID()" in script
    assert "restaurants?limit=1" in script  # the live ids of the catalog
