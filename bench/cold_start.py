"""Cold start: a fresh process importing the app and serving its first menu request through
the Lambda handler, against a baseline process (chalice + boto3, one DynamoDB client, the
same Query) answering the same API Gateway event. Both talk to the emulator.

Until the menu route exists, the app serves GET /health and makes the same Query through
its own clients; it switches to the menu by itself once the route is declared.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import median, run_child

RUNS = 10

_PRELUDE = """
import json, os
from bench.common import MENU_RESOURCE, proxy_event
from devtools.lambda_context import LambdaContext
ARGS = json.load(open(os.environ["BENCH_ARGS"]))
RID = ARGS["restaurant_id"]
QUERY = dict(
    TableName=ARGS["products_table"], IndexName="by_restaurant",
    KeyConditionExpression="restaurant_id = :r", ExpressionAttributeValues={":r": {"S": RID}}, Limit=100,
)
MENU = proxy_event(f"/restaurants/{RID}/products", MENU_RESOURCE, {"restaurant_id": RID})
import time
T0 = time.perf_counter()
"""

APP = (
    _PRELUDE
    + """
import app
if MENU_RESOURCE in app.app.routes:
    mode, response = "menu", app.app(MENU, LambdaContext())
else:
    mode, response = "health+query", app.app(proxy_event("/health", "/health"), LambdaContext())
    from chalicelib.bootstrap import container
    container().clients.get("dynamodb").query(**QUERY)
elapsed = time.perf_counter() - T0
assert response["statusCode"] == 200, response
json.dump({"ms": elapsed * 1000, "mode": mode}, open(os.environ["BENCH_RESULT"], "w"))
"""
)

BASELINE = (
    _PRELUDE
    + """
import boto3
from chalice import Chalice
bare = Chalice(app_name="baseline")
clients = []

@bare.route(MENU_RESOURCE)
def menu(restaurant_id):
    if not clients:
        clients.append(boto3.session.Session().client("dynamodb"))
    return {"items": clients[0].query(**QUERY)["Items"]}

response = bare(MENU, LambdaContext())
elapsed = time.perf_counter() - T0
assert response["statusCode"] == 200, response
json.dump({"ms": elapsed * 1000, "mode": "baseline"}, open(os.environ["BENCH_RESULT"], "w"))
"""
)


def measure(env: dict[str, str], restaurant_id: str, runs: int = RUNS) -> dict[str, Any]:
    args = {"restaurant_id": restaurant_id, "products_table": env["PRODUCTS_TABLE"]}
    run_child(APP, env, args)  # first runs write the bytecode caches: not counted
    run_child(BASELINE, env, args)
    app_ms: list[float] = []
    base_ms: list[float] = []
    app_wall: list[float] = []
    mode = ""
    for _ in range(runs):  # interleaved, so drift in machine load hits both alike
        started = time.perf_counter()
        out = run_child(APP, env, args)
        app_wall.append((time.perf_counter() - started) * 1000)
        app_ms.append(out["ms"])
        mode = out["mode"]
        base_ms.append(run_child(BASELINE, env, args)["ms"])
    return {
        "mode": mode,
        "runs": runs,
        "app_ms": median(app_ms),
        "baseline_ms": median(base_ms),
        "ratio": median(app_ms) / median(base_ms),
        "app_process_ms": median(app_wall),
    }
