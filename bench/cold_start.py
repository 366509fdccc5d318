"""Cold starts: a fresh interpreter importing the app and serving one first invocation
through each function's Lambda handler, against a baseline interpreter (bare chalice +
boto3, one DynamoDB client, the same Query) answering the same API Gateway event. All of
them talk to the emulator.

- api_handler: GET of a menu page (the cached read's cold path);
- process_order: one SQS record of a freshly placed order (paid in process, as locally);
- notify: one stream record (the INSERT of a freshly placed order);
- payment: one authorize call.

Each run gets fresh input, so no run finds the work done. Both CPU time and wall-clock
time are measured from ``import app`` to the handler's return; the verdict uses CPU time
(user + system: what the cold start spends, whatever else the machine runs), the wall
clock is in the note. ``measure(..., project=...)`` runs the same from another copy of
the code (the unpacked Lambda zip: bench/package.py).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import MENU_RESOURCE, delivery_address, median, proxy_event, run_child

RUNS = 10
FUNCTIONS = ("api_handler", "process_order", "notify", "payment")

_PRELUDE = """
import json, os, sys, time
ARGS = json.load(open(os.environ["BENCH_ARGS"]))
os.environ.setdefault("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")  # set in every Lambda environment

class Context:  # what Lambda passes to the handler
    def __init__(self, function):
        self.function_name = f"chowline-bench-{function}"
        self.aws_request_id = os.urandom(8).hex()
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "bench"

    def get_remaining_time_in_millis(self):
        return 30_000

def done(response, ok):
    elapsed, cpu = time.perf_counter() - T0, time.process_time() - C0
    assert ok, response
    result = {"ms": elapsed * 1000, "cpu_ms": cpu * 1000, "modules": sorted(sys.modules)}
    json.dump(result, open(os.environ["BENCH_RESULT"], "w"))

T0, C0 = time.perf_counter(), time.process_time()
"""

APP = (
    _PRELUDE
    + """
import app
function = ARGS["function"]
handler = app.app if function == "api_handler" else getattr(app, function)
response = handler(ARGS["event"], Context(function))
if function == "api_handler":
    ok = response["statusCode"] == 200
elif function == "payment":
    ok = response.get("status") not in (None, "error")
else:
    ok = response.get("batchItemFailures") == []
done(response, ok)
"""
)

BASELINE = (
    _PRELUDE
    + """
import boto3
from chalice import Chalice
bare = Chalice(app_name="baseline")
clients = []

@bare.route(ARGS["resource"])
def menu(restaurant_id):
    if not clients:
        clients.append(boto3.session.Session().client("dynamodb"))
    query = dict(
        TableName=ARGS["products_table"], IndexName="by_restaurant", KeyConditionExpression="restaurant_id = :r",
        ExpressionAttributeValues={":r": {"S": restaurant_id}}, Limit=100,
    )
    return {"items": clients[0].query(**query)["Items"]}

response = bare(ARGS["event"], Context("baseline"))
done(response, response["statusCode"] == 200)
"""
)


class FirstInvocations:
    """Fresh input for each function's first invocation, made with the app's own services."""

    def __init__(self, env: dict[str, str], restaurant_id: str) -> None:
        os.environ.update(env)
        from chalicelib.bootstrap import reset
        from chalicelib.domain.paging import ListQuery

        self._env = env
        self._restaurant_id = restaurant_id
        self._container = reset()
        menu = self._container.catalog.menu(restaurant_id, ListQuery(limit=100))
        self._product_id = next(p.product_id for p in menu.items if p.available and (p.stock is None or p.stock >= 100))
        self._address = delivery_address(self._container.catalog.get_restaurant(restaurant_id).model_dump())

    def event(self, function: str) -> dict[str, Any]:
        if function == "api_handler":
            rid = self._restaurant_id
            return proxy_event(f"/restaurants/{rid}/products", MENU_RESOURCE, {"restaurant_id": rid})
        if function == "payment":
            return {"op": "authorize", "order_id": uuid.uuid4().hex, "amount_cents": 1250, "payment_token": "tok_visa"}
        if function == "process_order":
            return {"Records": [self._queued_record(self._place())]}
        if function == "notify":
            return {"Records": [self._stream_record(self._place())]}
        raise ValueError(function)

    def _place(self) -> str:
        from chalicelib.domain import orders
        from chalicelib.domain.principal import CUSTOMERS, Principal

        customer = Principal(f"bench-{uuid.uuid4().hex[:12]}", roles=frozenset({CUSTOMERS}))
        # Orders are placed for accounts with a profile (what sign-up confirmation writes).
        self._container.users.put(
            {"user_id": customer.user_id, "email": f"{customer.user_id}@example.com", "name": "Bench Customer"}
        )
        cmd = orders.PlaceOrder.model_validate(
            {
                "restaurant_id": self._restaurant_id,
                "items": [{"product_id": self._product_id, "quantity": 1}],
                "delivery_address": self._address,
                "payment_token": "tok_visa",
            }
        )
        return self._container.orders.place(customer, uuid.uuid4().hex, cmd).order.order_id

    def _pipeline(self) -> Any:
        from devtools.pipeline import Pipeline

        return Pipeline(self._env)

    def _queued_record(self, order_id: str) -> dict[str, Any]:
        """The order's message, taken off the queue (the handler never deletes; SQS does)."""
        sqs = self._container.clients.get("sqs")
        url = self._env["ORDERS_QUEUE_URL"]
        for _ in range(50):
            out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=1)
            for message in out.get("Messages", []):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                if json.loads(message["Body"]).get("order_id") == order_id:
                    return self._pipeline()._sqs_record(message)
        raise TimeoutError(f"no message for order {order_id}")

    def _stream_record(self, order_id: str) -> dict[str, Any]:
        item = self._container.clients.get("dynamodb").get_item(
            TableName=self._env["ORDERS_TABLE"], Key={"order_id": {"S": order_id}}
        )["Item"]
        raw = {
            "eventID": uuid.uuid4().hex,
            "eventName": "INSERT",
            "dynamodb": {
                "Keys": {"order_id": {"S": order_id}},
                "NewImage": item,
                "SequenceNumber": str(time.time_ns()),
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
        }
        return self._pipeline()._stream_record(raw)


def measure(
    env: dict[str, str],
    restaurant_id: str,
    runs: int = RUNS,
    functions: tuple[str, ...] = FUNCTIONS,
    project: Path | None = None,
    python: list[str] | None = None,
    app_env: dict[str, str] | None = None,
    baseline_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Median cold start of each function and of the baseline, runs interleaved so that drift
    in machine load hits them alike. ``project``, ``python``, ``app_env``: run the app from
    another copy of the code, with another interpreter command line and more environment
    (the unpacked zip); ``baseline_env``: the baseline's, run the same way (its own
    packages only, as a zip of it would hold them)."""
    invocations = FirstInvocations(env, restaurant_id)
    base_args = {
        "event": invocations.event("api_handler"),
        "resource": MENU_RESOURCE,
        "products_table": env["PRODUCTS_TABLE"],
    }
    with tempfile.TemporaryDirectory(prefix="chowline-bytecode-") as bytecode:
        # Lambda loads compiled bytecode (the zip carries it): both sides get a bytecode cache
        # of their own, written by the first runs, whatever PYTHONDONTWRITEBYTECODE says here.
        cached = {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": bytecode}
        app_env = {**cached, **(app_env or {})}
        base_env = {**env, **cached, **(baseline_env or {})}

        def app_run(function: str) -> dict[str, Any]:
            args = {"function": function, "event": invocations.event(function)}
            return run_child(APP, {**env, **app_env}, args, cwd=project, python=python)

        def base_run() -> dict[str, Any]:
            return run_child(BASELINE, base_env, base_args, cwd=project, python=python)

        for function in functions:  # the first runs write the bytecode caches: not counted
            app_run(function)
        base_run()
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in (*functions, "baseline")}
        for _ in range(runs):
            for function in functions:
                samples[function].append(app_run(function))
            samples["baseline"].append(base_run())
    out: dict[str, Any] = {"runs": runs, "modules": {}}
    for name, results in samples.items():
        out[name] = {"ms": median([r["ms"] for r in results]), "cpu_ms": median([r["cpu_ms"] for r in results])}
        out["modules"][name] = results[-1]["modules"]
    return out


def figures_of(measured: dict[str, Any], label: str = "", api_target: float | None = None) -> list[Any]:
    from bench.report import Figure

    base = measured["baseline"]
    rows = []
    for function in FUNCTIONS:
        if function not in measured:
            continue
        m = measured[function]
        what = "menu request" if function == "api_handler" else _WHAT[function]
        rows.append(
            Figure.measured(
                f"cold start {function}{label} ({what}), CPU, median of {measured['runs']}",
                m["cpu_ms"],
                "ms",
                baseline=base["cpu_ms"],
                at_most=api_target if function == "api_handler" else None,
                note=f"wall clock {m['ms']:.0f} ms vs {base['ms']:.0f} ms = {m['ms'] / base['ms']:.2f}x",
            )
        )
    return rows


_WHAT = {"process_order": "one SQS record", "notify": "one stream record", "payment": "one authorize"}
