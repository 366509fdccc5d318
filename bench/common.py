"""What the benchmarks share: the emulator stack, Lambda-shaped events, child processes."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / ".local" / "bench.json"
MENU_RESOURCE = "/restaurants/{restaurant_id}/products"


@contextmanager
def stack() -> Iterator[dict[str, str]]:
    """The emulator on a free port, provisioned and seeded as ``make run`` does."""
    from devtools.emulator import free_port
    from devtools.run import start_stack

    emulator, env = start_stack(free_port())
    try:
        yield {**env, **lambda_env(env)}
    finally:
        emulator.stop()


def lambda_env(env: dict[str, str]) -> dict[str, str]:
    """The api_handler's environment as deployed (compact logs, metrics on), on the local tables."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage = dict(config["stages"]["local"]["environment_variables"])
    stage.update({"VERIFY_TOKENS": "false", "POWERTOOLS_DEV": "false", "POWERTOOLS_METRICS_DISABLED": "false"})
    return stage


def first_restaurant(env: dict[str, str]) -> str:
    """The first seeded restaurant (by the by_name index) that delivers somewhere and is open
    now, or a made-up id when none is seeded."""
    import boto3

    from chalicelib.adapters.dynamo import from_item
    from chalicelib.domain import zones
    from chalicelib.domain.clock import now

    client = boto3.session.Session().client("dynamodb")
    out = client.query(
        TableName=env["RESTAURANTS_TABLE"],
        IndexName="by_name",
        KeyConditionExpression="listing = :l",
        ExpressionAttributeValues={":l": {"S": "restaurants"}},
    )
    items = [from_item(item) for item in out.get("Items", [])]
    ready = [i for i in items if i.get("location") and zones.open_at(i, now())]
    chosen = ready or items
    return str(chosen[0]["restaurant_id"]) if chosen else "r-" + uuid.uuid4().hex[:8]


def delivery_address(restaurant: dict[str, Any]) -> dict[str, Any]:
    """An address the restaurant delivers to: at its own door (or anywhere, if it has no location)."""
    location = restaurant.get("location") or {"lat": 0.0, "lng": 0.0}
    return {"label": "work", "line1": "1 Bench St", "city": "Springfield", "postcode": "1", **location}


def proxy_event(path: str, resource: str, params: dict[str, str] | None = None, method: str = "GET") -> dict[str, Any]:
    """An API Gateway REST proxy event, as Lambda receives it."""
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Accept": "application/json", "Host": "api.example.com"},
        "multiValueHeaders": {"Accept": ["application/json"], "Host": ["api.example.com"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": "/api" + path,
            "stage": "api",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.9"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def run_child(
    code: str,
    env: dict[str, str],
    args: dict[str, Any],
    timeout: float = 300,
    cwd: Path | None = None,
    python: list[str] | None = None,
) -> dict[str, Any]:
    """Runs ``code`` in a fresh interpreter (``python``: its command line, default this one,
    in ``cwd``, default the project); it reads ``ARGS`` and writes ``RESULT`` (JSON files)."""
    with tempfile.TemporaryDirectory() as tmp:
        arg_file, out_file = Path(tmp) / "args.json", Path(tmp) / "result.json"
        arg_file.write_text(json.dumps(args))
        child_env = {**os.environ, **env, "BENCH_ARGS": str(arg_file), "BENCH_RESULT": str(out_file)}
        done = subprocess.run(
            [*(python or [sys.executable]), "-c", code],
            cwd=cwd or ROOT,
            env=child_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"benchmark child failed:\n{done.stderr[-3000:]}")
        return json.loads(out_file.read_text())


def median(values: list[float]) -> float:
    return statistics.median(values)


def save(section: str, data: dict[str, Any]) -> None:
    """Merges measured inputs into .local/bench.json (read by the cost model)."""
    RESULTS.parent.mkdir(exist_ok=True)
    current = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    current[section] = data
    RESULTS.write_text(json.dumps(current, indent=2, sort_keys=True))
