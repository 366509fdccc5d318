"""The order pipeline under load on the local stack: 500 orders over HTTP, processed by the
pipeline's pollers and notified from the stream.

    python -m bench.pipeline [--orders 500]

Reports orders/s (placement and end to end), p50/p95 of 202 -> CONFIRMED (from the order's
own timestamps: created_at and the CONFIRMED history entry), and the AWS calls per order of
each phase (placement, processing, notification), counted with botocore event hooks on the
app's clients. The baseline is the same pipeline measured idle in the same run (one order
at a time), so the load figures read as ratios to it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

import requests

from bench.common import delivery_address
from devtools.api_keys import DEMO_API_KEYS

PHASE = threading.local()
BENCH_KITCHEN = {"lat": 39.7907, "lng": -89.6501}  # Springfield; orders go to its door


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_stack() -> tuple[Any, Any, Any, int, dict[str, str]]:
    from devtools.emulator import free_port
    from devtools.run import start_stack as start

    emulator, env = start(free_port())
    from devtools.localserver import create_server
    from devtools.pipeline import Pipeline

    pipeline = Pipeline(env)
    pipeline.prepare()
    port = free_port()
    server = create_server("127.0.0.1", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pipeline.start()
    return emulator, server, pipeline, port, env


def count_calls(counts: Counter[str]) -> None:
    """Every AWS call the app makes, by the phase of the thread making it."""
    from chalicelib.bootstrap import container

    def record(**_: Any) -> None:
        counts[getattr(PHASE, "name", "placement")] += 1

    for service in ("dynamodb", "sqs", "sns", "lambda"):
        container().clients.get(service).meta.events.register("before-call", record)

    import app

    for name, phase in (("process_order", "processing"), ("notify", "notification")):
        handler = getattr(app, name)

        def wrapped(event: Any, context: Any, _handler: Any = handler, _phase: str = phase) -> Any:
            PHASE.name = _phase
            try:
                return _handler(event, context)
            finally:
                PHASE.name = "placement"

        setattr(app, name, wrapped)


def seed(env: dict[str, str], stock: int) -> tuple[str, str, str]:
    import boto3

    session = boto3.session.Session()
    idp = session.client("cognito-idp")
    user = idp.admin_get_user(UserPoolId=env["USER_POOL_ID"], Username="owner@demo.chowline.dev")
    owner = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    db = session.client("dynamodb")
    restaurant, limited, unlimited = (f"{p}_{uuid.uuid4().hex[:10]}" for p in ("rst", "prd", "prd"))
    now = "2025-01-01T00:00:00.000Z"
    db.put_item(
        TableName=env["RESTAURANTS_TABLE"],
        Item={
            "restaurant_id": {"S": restaurant},
            "owner_id": {"S": owner},
            "name": {"S": "Bench Bistro"},
            "city": {"S": "Springfield"},
            "cuisine": {"S": "bench"},
            "address": {"S": "1 Main St"},
            "is_open": {"BOOL": True},
            "location": {"M": {"lat": {"N": str(BENCH_KITCHEN["lat"])}, "lng": {"N": str(BENCH_KITCHEN["lng"])}}},
            "delivery_radius_km": {"N": "5"},
            "listing": {"S": "restaurants"},
            "name_sort": {"S": f"bench bistro#{restaurant}"},
            "created_at": {"S": now},
            "updated_at": {"S": now},
        },
    )
    for product_id, extra in ((limited, {"stock": {"N": str(stock)}}), (unlimited, {})):
        db.put_item(
            TableName=env["PRODUCTS_TABLE"],
            Item={
                "product_id": {"S": product_id},
                "restaurant_id": {"S": restaurant},
                "name": {"S": product_id},
                "description": {"S": ""},
                "price_cents": {"N": "1000"},
                "currency": {"S": "USD"},
                "category": {"S": "mains"},
                "available": {"BOOL": True},
                "menu_sort": {"S": f"mains#{product_id}#{product_id}"},
                "created_at": {"S": now},
                "updated_at": {"S": now},
                **extra,
            },
        )
    return restaurant, limited, unlimited


def place_orders(url: str, token: str, restaurant: str, lines: list[tuple[str, int]], count: int) -> list[str]:
    # One client at a time: chalice's local server shares app.current_request between threads.
    session = requests.Session()
    session.headers["X-Api-Key"] = DEMO_API_KEYS["web"]
    body = {
        "restaurant_id": restaurant,
        "items": [{"product_id": p, "quantity": q} for p, q in lines],
        "delivery_address": delivery_address({"location": BENCH_KITCHEN}),
        "payment_token": "tok_visa",
    }
    ids = []
    for _ in range(count):
        response = session.post(
            f"{url}/orders",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"bench-{uuid.uuid4().hex}"},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["order_id"])
    return ids


def settle(env: dict[str, str], ids: list[str], timeout: float) -> list[dict[str, Any]]:
    from chalicelib.bootstrap import container

    repo = container().orders_repo
    PHASE.name = "observer"  # the bench's own reads are not the app's
    deadline = time.monotonic() + timeout
    pending = set(ids)
    orders: dict[str, dict[str, Any]] = {}
    while pending and time.monotonic() < deadline:
        for order_id in list(pending):
            order = repo.get(order_id)
            if order and order.status != "PENDING":
                orders[order_id] = order.item()
                pending.discard(order_id)
        if pending:
            time.sleep(0.25)
    if pending:
        raise TimeoutError(f"{len(pending)} orders still PENDING")
    return [orders[i] for i in ids]


def latencies(orders: list[dict[str, Any]]) -> list[float]:
    out = []
    for order in orders:
        confirmed = next(h["at"] for h in order["status_history"] if h["status"] == "CONFIRMED")
        out.append(_stamp(confirmed) - _stamp(order["created_at"]))
    return out


def emulator_transaction_ms(env: dict[str, str], product_id: str, order_id: str) -> float:
    """The emulator's own cost of one small transaction over Products and Orders."""
    import boto3

    db = boto3.session.Session().client("dynamodb")
    items = [
        {
            "ConditionCheck": {
                "TableName": env["ORDERS_TABLE"],
                "Key": {"order_id": {"S": order_id}},
                "ConditionExpression": "attribute_exists(order_id)",
            }
        },
        {
            "Update": {
                "TableName": env["PRODUCTS_TABLE"],
                "Key": {"product_id": {"S": product_id}},
                "UpdateExpression": "SET stock = stock + :z",
                "ExpressionAttributeValues": {":z": {"N": "0"}},
            }
        },
    ]
    started = time.monotonic()
    for _ in range(5):
        db.transact_write_items(TransactItems=items)
    return (time.monotonic() - started) / 5 * 1000


def wait_for_notifications(pipeline: Any, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pipeline.stats["stream_records"] < expected:
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--baseline", type=int, default=20)
    args = parser.parse_args(argv)
    emulator, server, pipeline, port, env = start_stack()
    try:
        counts: Counter[str] = Counter()
        count_calls(counts)
        url = f"http://127.0.0.1:{port}"
        token = requests.post(
            f"{url}/auth/login",
            json={"email": "customer@demo.chowline.dev", "password": "Chowline-demo-1"},
            headers={"X-Api-Key": DEMO_API_KEYS["web"]},
            timeout=10,
        ).json()["id_token"]
        restaurant, limited, unlimited = seed(env, stock=10 * (args.orders + args.baseline))
        probe = time.monotonic()
        for _ in range(20):
            requests.get(f"{url}/health", timeout=10)
        health_ms = (time.monotonic() - probe) / 20 * 1000
        lines = [(limited, 2), (unlimited, 1)]

        # Baseline: one order at a time on an idle pipeline.
        idle = []
        for _ in range(args.baseline):
            [order_id] = place_orders(url, token, restaurant, lines, 1)
            idle.extend(settle(env, [order_id], 30))
        idle_latency = latencies(idle)
        wait_for_notifications(pipeline, 2 * args.baseline, 30)
        counts.clear()
        records_before = pipeline.stats["stream_records"]

        started = time.monotonic()
        ids = place_orders(url, token, restaurant, lines, args.orders)
        placed_in = time.monotonic() - started
        orders = settle(env, ids, 600)
        done_in = time.monotonic() - started
        wait_for_notifications(pipeline, records_before + 2 * args.orders, 120)
        load_latency = latencies(orders)
        confirmed = sum(o["status"] == "CONFIRMED" for o in orders)

        n = args.orders
        transact_ms = emulator_transaction_ms(env, limited, ids[0])
        p50, p95 = statistics.median(load_latency), _percentile(load_latency, 0.95)
        b50, b95 = statistics.median(idle_latency), _percentile(idle_latency, 0.95)
        print(f"orders                      {n} ({confirmed} CONFIRMED)")
        print(f"GET /health round trip      {health_ms:7.1f} ms (the local server's floor)")
        print(f"placement                   {n / placed_in:7.1f} orders/s (one HTTP client)")
        print(f"end to end                  {n / done_in:7.1f} orders/s")
        print(f"202 -> CONFIRMED idle       p50 {b50 * 1000:6.0f} ms  p95 {b95 * 1000:6.0f} ms  (baseline)")
        print(f"202 -> CONFIRMED under load p50 {p50 * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms  ({p95 / b95:.1f}x)")
        for phase in ("placement", "processing", "notification"):
            print(f"AWS calls per order         {phase:<13} {counts[phase] / n:5.2f}")
        print(f"emulator TransactWriteItems {transact_ms:7.1f} ms at the end (bench.emulator: growth with the tables)")
        print(f"pipeline                    {pipeline.stats}")
    finally:
        pipeline.stop()
        server.shutdown()
        emulator.stop()
        os.environ.pop("AWS_ENDPOINT_URL", None)


if __name__ == "__main__":
    main()
