"""Warm overhead and memory, measured inside one process.

- Requests per second of a warm cached read through the app's Lambda handler (all
  middleware, logging and metrics included) against a bare Chalice route returning the
  same body, in the same process, in alternating blocks.
- Peak RSS after 10K warm requests through the handler, and its growth from 1K to 10K.
"""

from __future__ import annotations

from typing import Any

from bench.common import run_child

WARM = """
import json, os, sys, time
from bench.common import MENU_RESOURCE, proxy_event
from devtools.lambda_context import LambdaContext
ARGS = json.load(open(os.environ["BENCH_ARGS"]))
RID = ARGS["restaurant_id"]
import app
from chalice import Chalice
if MENU_RESOURCE in app.app.routes:
    mode, event = "menu", proxy_event(f"/restaurants/{RID}/products", MENU_RESOURCE, {"restaurant_id": RID})
else:
    mode, event = "health", proxy_event("/health", "/health")
ctx = LambdaContext()
first = app.app(event, ctx)
assert first["statusCode"] == 200, first
body = json.loads(first["body"])
bare = Chalice(app_name="bare", configure_logs=False)
bare.route(event["resource"])(lambda **params: body)
for handler in (app.app, bare):  # warm both paths
    for _ in range(200):
        handler(event, ctx)

def rate(handler, n):
    started = time.perf_counter()
    for _ in range(n):
        handler(event, ctx)
    return n, time.perf_counter() - started

totals = {"app": [0, 0.0], "bare": [0, 0.0]}
for _ in range(ARGS["blocks"]):
    for name, handler in (("app", app.app), ("bare", bare)):
        n, seconds = rate(handler, ARGS["block"])
        totals[name][0] += n
        totals[name][1] += seconds
result = {name: n / seconds for name, (n, seconds) in totals.items()}
result["mode"] = mode
result["app_ms_per_request"] = totals["app"][1] * 1000 / totals["app"][0]
json.dump(result, open(os.environ["BENCH_RESULT"], "w"))
"""

MEMORY = """
import json, os
from bench.common import MENU_RESOURCE, proxy_event
from devtools.lambda_context import LambdaContext
ARGS = json.load(open(os.environ["BENCH_ARGS"]))
RID = ARGS["restaurant_id"]

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024

import app
if MENU_RESOURCE in app.app.routes:
    event = proxy_event(f"/restaurants/{RID}/products", MENU_RESOURCE, {"restaurant_id": RID})
else:
    event = proxy_event("/health", "/health")
    # what a menu read would hold in memory: boto3 and one DynamoDB client
    from chalicelib.bootstrap import container
    container().clients.get("dynamodb").describe_limits()
ctx = LambdaContext()
rss = {}
for i in range(1, ARGS["requests"] + 1):
    response = app.app(event, ctx)
    if i in (1000, ARGS["requests"]):
        rss[i] = status("VmRSS")
assert response["statusCode"] == 200
json.dump({"rss_1k_mb": rss[1000], "rss_end_mb": rss[ARGS["requests"]], "peak_mb": status("VmHWM")},
          open(os.environ["BENCH_RESULT"], "w"))
"""


def warm(env: dict[str, str], restaurant_id: str, blocks: int = 5, block: int = 600) -> dict[str, Any]:
    out = run_child(WARM, env, {"restaurant_id": restaurant_id, "blocks": blocks, "block": block})
    out["ratio"] = out["app"] / out["bare"]
    return out


def memory(env: dict[str, str], restaurant_id: str, requests: int = 10_000) -> dict[str, Any]:
    out = run_child(MEMORY, env, {"restaurant_id": restaurant_id, "requests": requests}, timeout=600)
    out["growth"] = (out["rss_end_mb"] - out["rss_1k_mb"]) / out["rss_1k_mb"]
    return out
