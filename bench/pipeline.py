"""The order pipeline end to end on the local stack, against the emulator's own ceiling
measured in the same run.

    python -m bench.pipeline [--orders 500] [--clients 8] [--seconds 3]

1. The ceiling: the emulator's simple-call rate (GetItem and PutItem in turn, from as many
   clients as the load has, on a table without a stream; measured before and after the
   load, the higher of the two) divided by the AWS calls one order costs (3.). The emulator
   serves DynamoDB one call at a time, so this is the most orders per second the local
   stack could settle.
2. The load: ``--clients`` HTTP clients at once place ``--orders`` orders through the local
   API (the concurrent local server), each waiting for its order's confirmation (reading it
   every 100 ms) before placing the next; the pipeline's pollers pay and confirm them
   (process_order: payment in process, the stock transaction) and the stream poller
   notifies (notify: live channel, push, inbox, topic). End to end runs from the first
   placement to the last order's last stream record delivered to notify.
3. AWS calls per order: every call any AWS client of the stack makes during the load, in
   this process and in the stream's (the API's, the handlers', and the pollers' own
   receives, deletes and stream reads, as the Lambda service makes them on AWS), counted
   in botocore and divided by the orders; the benchmark's own reads are not counted.

Reports orders/s end to end and its ratio to the ceiling (target >= 70 %), p50/p95 of
202 -> CONFIRMED under that load (from the order's own timestamps: created_at and the
CONFIRMED history entry; target p95 <= 1 s), and the calls per order by phase and by call.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from bench.common import delivery_address, save
from bench.report import Figure, table
from devtools.api_keys import DEMO_API_KEYS

BENCH_KITCHEN = {"lat": 39.7907, "lng": -89.6501}  # Springfield; orders go to its door
CLIENTS = 8
ORDERS = 500
CEILING_SHARE_TARGET = 0.70
P95_TARGET_MS = 1000.0
SETTLE_TIMEOUT_S = 600.0
WATCH_EVERY_S = 0.1

# The benchmark's own calls (its set-up and its reads of the outcome) are not the pipeline's.
OBSERVER = threading.local()


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class CallCounter:
    """Every AWS API call made in this process, by phase (from the calling thread) and by
    operation; threads marked ``OBSERVER.active`` are left out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_phase: Counter[str] = Counter()
        self.by_call: Counter[str] = Counter()

    def install(self) -> Callable[[], None]:
        """Counts from now on; returns what stops it."""
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        counter = self

        def counted(client: Any, operation: str, params: Any) -> Any:
            if not getattr(OBSERVER, "active", False):
                counter.add(client.meta.service_model.service_name, operation)
            return original(client, operation, params)

        BaseClient._make_api_call = counted  # type: ignore[method-assign]

        def uninstall() -> None:
            BaseClient._make_api_call = original  # type: ignore[method-assign]

        return uninstall

    def add_counts(self, calls: Mapping[str, int], phase: str) -> None:
        """Calls counted elsewhere (the stream process's), all of one phase."""
        with self._lock:
            self.by_phase[phase] += sum(calls.values())
            self.by_call.update(calls)

    def add(self, service: str, operation: str) -> None:
        name = threading.current_thread().name
        if name.startswith("orders-poller"):
            phase = "processing"
        elif name.startswith(("orders-stream", "ThreadPoolExecutor")):  # notify and its fan-out
            phase = "notification"
        elif name.startswith("sweeper"):
            phase = "sweeper"
        else:
            phase = "api"  # the local server's request threads: placements and the clients' reads
        with self._lock:
            self.by_phase[phase] += 1
            self.by_call[f"{service}.{operation}"] += 1


def count_stream_calls() -> Callable[[], dict[str, int]]:
    """Run in the stream process (devtools/pipeline_processes.py): its AWS calls, by call."""
    counter = CallCounter()
    counter.install()
    return lambda: dict(counter.by_call)


def start_stack() -> tuple[Any, Any, list[Any], Any, int, dict[str, str]]:
    """The stack as ``make run`` starts it (emulator, seed, WebSocket API, pipeline, API),
    with logs at warnings only (the terminal is not what is measured)."""
    from devtools.emulator import free_port
    from devtools.run import BACKGROUND, configure_logging
    from devtools.run import start_stack as start

    os.environ.update({"ACCESS_LOG": "errors", "POWERTOOLS_LOG_LEVEL": "WARNING"})
    configure_logging()
    OBSERVER.active = True
    emulator, env = start(free_port())
    from devtools.api_keys import hand_out_web_key
    from devtools.localserver import create_server
    from devtools.pipeline_processes import PipelineProcesses

    hand_out_web_key()
    port = free_port()
    args = argparse.Namespace(port=port, instrument=count_stream_calls)
    services = [launch(env, args) for _, launch in BACKGROUND]
    pipeline = next(s for s in services if isinstance(s, PipelineProcesses))
    server = create_server("127.0.0.1", port)
    threading.Thread(target=server.serve_forever, name="local-api", daemon=True).start()
    return emulator, server, services, pipeline, port, env


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


def ceiling_rate(env: dict[str, str], clients: int, seconds: float) -> float:
    """Simple DynamoDB calls per second the emulator answers: GetItem and PutItem in turn on
    a scratch item per client of the Users table (no stream, so the pipeline sees nothing),
    ``clients`` clients at once, each with its own connection pool."""
    import boto3

    session = boto3.session.Session()
    table = env["USERS_TABLE"]
    dbs = [session.client("dynamodb") for _ in range(clients)]  # made here: a session is not thread-safe

    def loop(index: int) -> int:
        OBSERVER.active = True
        db = dbs[index]
        key = {"user_id": {"S": f"bench-ceiling-{index}"}}
        item = {**key, "name": {"S": "Ceiling"}, "email": {"S": f"ceiling-{index}@example.com"}}
        db.put_item(TableName=table, Item=item)  # connect outside the timed window
        barrier.wait()
        done, deadline = 0, time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            if done % 2:
                db.put_item(TableName=table, Item=item)
            else:
                db.get_item(TableName=table, Key=key)
            done += 1
        return done

    barrier = threading.Barrier(clients + 1)
    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(loop, i) for i in range(clients)]
        barrier.wait()
        started = time.perf_counter()
        total = sum(f.result() for f in futures)
    return total / (time.perf_counter() - started)


def login(url: str) -> str:
    out = requests.post(
        f"{url}/auth/login",
        json={"email": "customer@demo.chowline.dev", "password": "Chowline-demo-1"},
        headers={"X-Api-Key": DEMO_API_KEYS["web"]},
        timeout=30,
    )
    out.raise_for_status()
    return str(out.json()["id_token"])


def clients_process() -> Any:
    """A process of their own for the clients (as the users of ``make run`` are: the
    clients' own work must not take the stack's interpreter lock), started before the timed
    load: the load's time starts with its first placement, not with a new interpreter."""
    import multiprocessing

    return multiprocessing.get_context("spawn").Pool(1)


def place_orders(
    pool: Any, url: str, token: str, body: dict[str, Any], count: int, clients: int, watch: bool = True
) -> list[str]:
    """``count`` orders from ``clients`` clients at once, in ``pool``'s process. Each client
    places an order and, with ``watch``, reads it every WATCH_EVERY_S until it is no longer
    PENDING before placing the next, as a customer at the checkout waits for the
    confirmation: the load is 8 customers ordering at once, not a queue filled faster than
    any pipeline drains it."""
    return list(pool.apply(_place_orders, (url, token, body, count, clients, watch)))


def _place_orders(url: str, token: str, body: dict[str, Any], count: int, clients: int, watch: bool) -> list[str]:
    def client(share: int) -> list[str]:
        api = ApiClient(url, {"X-Api-Key": DEMO_API_KEYS["web"], "Authorization": f"Bearer {token}"})
        ids = []
        try:
            for _ in range(share):
                status, placed = api.call("POST", "/orders", body, {"Idempotency-Key": f"bench-{uuid.uuid4().hex}"})
                if status != 202:
                    raise RuntimeError(f"POST /orders: {status} {str(placed)[:300]}")
                order_id = placed["order_id"]
                ids.append(order_id)
                while watch and api.call("GET", f"/orders/{order_id}")[1]["status"] == "PENDING":
                    time.sleep(WATCH_EVERY_S)
        finally:
            api.close()
        return ids

    shares = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        return [order_id for ids in pool.map(client, shares) for order_id in ids]


class ApiClient:
    """One customer's kept-alive HTTP/1.1 connection to the local API, on http.client: the
    load's clients share the stack's 2 cores, so they spend as little of them as a client
    can (requests took about three times the CPU per call), and send what the web app sends."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        address = urlsplit(url)
        self._connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=60)
        self._headers = {"Accept": "application/json", **headers}

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """The status and the decoded JSON answer."""
        payload = None if body is None else json.dumps(body).encode()
        sent = {**self._headers, **(headers or {})}
        if payload is not None:
            sent["Content-Type"] = "application/json"
        try:
            return self._exchange(method, path, payload, sent)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self._connection.close()  # the server ended the kept connection: once more, on a new one
            return self._exchange(method, path, payload, sent)

    def _exchange(self, method: str, path: str, payload: bytes | None, headers: dict[str, str]) -> tuple[int, Any]:
        self._connection.request(method, path, payload, headers)
        response = self._connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None

    def close(self) -> None:
        self._connection.close()


def wait_for(pipeline: Any, stream_records: int, timeout: float) -> None:
    """Until notify has had ``stream_records`` records (each order makes two: placed, then
    confirmed or failed)."""
    deadline = time.monotonic() + timeout
    while pipeline.stats["stream_records"] < stream_records:
        if time.monotonic() > deadline:
            raise TimeoutError(f"notify had {pipeline.stats['stream_records']} of {stream_records} stream records")
        time.sleep(0.05)


def read_orders(env: dict[str, str], ids: list[str]) -> list[dict[str, Any]]:
    """The orders as stored (BatchGetItem, 100 at a time), decoded."""
    import boto3

    from chalicelib.adapters.dynamo import from_item

    db = boto3.session.Session().client("dynamodb")
    table = env["ORDERS_TABLE"]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 100):
        keys = [{"order_id": {"S": i}} for i in ids[start : start + 100]]
        request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
        while request:
            out = db.batch_get_item(RequestItems=request)
            for item in out["Responses"].get(table, []):
                order = from_item(item)
                found[order["order_id"]] = order
            request = out.get("UnprocessedKeys") or {}
    return [found[i] for i in ids if i in found]


def confirmation_latency(order: dict[str, Any]) -> float | None:
    """Seconds from the 202 (created_at) to CONFIRMED, from the order's own history."""
    confirmed = next((h["at"] for h in order.get("status_history", []) if h["status"] == "CONFIRMED"), None)
    return _stamp(confirmed) - _stamp(order["created_at"]) if confirmed else None


def measure(orders: int = ORDERS, clients: int = CLIENTS, seconds: float = 3.0) -> dict[str, Any]:
    emulator, server, services, pipeline, port, env = start_stack()
    pool = clients_process()
    try:
        url = f"http://127.0.0.1:{port}"
        token = login(url)
        restaurant, limited, unlimited = seed(env, stock=2 * (orders + clients))
        body = {
            "restaurant_id": restaurant,
            "items": [{"product_id": limited, "quantity": 2}, {"product_id": unlimited, "quantity": 1}],
            "delivery_address": delivery_address({"location": BENCH_KITCHEN}),
            "payment_token": "tok_visa",
        }
        place_orders(pool, url, token, body, clients, clients)  # warm: first requests, the clients' imports
        wait_for(pipeline, 2 * clients, 60)
        ceilings = [ceiling_rate(env, clients, seconds)]
        one_client_per_s = ceiling_rate(env, 1, seconds)

        counter = CallCounter()
        counter.install()
        before = pipeline.stats
        records_before, stream_calls = before["stream_records"], Counter(before["stream_report"])
        stock_before = read_stock(env, limited)
        stream_pid = pipeline.stream_pid
        emulator_cpu, stack_cpu = _cpu_seconds(emulator.pid), time.process_time() + _cpu_seconds(stream_pid)
        started = time.monotonic()
        ids = place_orders(pool, url, token, body, orders, clients)
        placed_in = time.monotonic() - started
        wait_for(pipeline, records_before + 2 * orders, SETTLE_TIMEOUT_S)
        done_in = time.monotonic() - started
        emulator_cpu = _cpu_seconds(emulator.pid) - emulator_cpu
        stack_cpu = time.process_time() + _cpu_seconds(stream_pid) - stack_cpu
        counter.add_counts(Counter(pipeline.stats["stream_report"]) - stream_calls, "notification")
        calls = dict(counter.by_call)
        phases = dict(counter.by_phase)
        # Measured again after the load (the tables are fuller, the machine's load has moved):
        # the higher of the two is the ceiling, the stricter verdict.
        ceilings.append(ceiling_rate(env, clients, seconds))
        calls_per_s = max(ceilings)

        found = read_orders(env, ids)
        statuses = Counter(o["status"] for o in found)
        confirmed = [t for t in map(confirmation_latency, found) if t is not None]
        stock_sold = stock_before - read_stock(env, limited)
    finally:
        pool.terminate()
        for service in reversed(services):
            service.stop()
        server.shutdown()
        emulator.stop()
        os.environ.pop("AWS_ENDPOINT_URL", None)
    per_order = sum(calls.values()) / orders
    ceiling = calls_per_s / per_order
    return {
        "orders": orders,
        "clients": clients,
        "statuses": dict(statuses),
        "stock_sold": stock_sold,
        "placement_orders_per_s": orders / placed_in,
        "orders_per_s": orders / done_in,
        "p50_ms": 1000 * statistics.median(confirmed) if confirmed else None,
        "p95_ms": 1000 * _percentile(confirmed, 0.95) if confirmed else None,
        "calls_per_order": per_order,
        "calls_per_order_by_phase": {k: v / orders for k, v in sorted(phases.items())},
        "calls_per_order_by_call": {k: v / orders for k, v in sorted(calls.items(), key=lambda kv: -kv[1])},
        "emulator_calls_per_s": calls_per_s,
        "emulator_calls_per_s_before_and_after": ceilings,
        "emulator_calls_per_s_one_client": one_client_per_s,
        "emulator_cpu_ms_per_order": 1000 * emulator_cpu / orders,
        "stack_cpu_ms_per_order": 1000 * stack_cpu / orders,
        "elapsed_s": done_in,
        "ceiling_orders_per_s": ceiling,
        "share_of_ceiling": orders / done_in / ceiling,
        "pipeline": dict(pipeline.stats),
    }


def read_stock(env: dict[str, str], product_id: str) -> int:
    import boto3

    db = boto3.session.Session().client("dynamodb")
    item = db.get_item(TableName=env["PRODUCTS_TABLE"], Key={"product_id": {"S": product_id}}, ConsistentRead=True)
    return int(item["Item"]["stock"]["N"])


def _cpu_seconds(pid: int | None) -> float:
    from bench.emulator import cpu_seconds

    return cpu_seconds(pid) if pid else 0.0


def figures_of(m: dict[str, Any]) -> list[Figure]:
    n, clients = m["orders"], m["clients"]
    phases = ", ".join(f"{k} {v:.1f}" for k, v in m["calls_per_order_by_phase"].items())
    top = ", ".join(f"{k} {v:.2f}" for k, v in list(m["calls_per_order_by_call"].items())[:8])
    confirmed = m["statuses"].get("CONFIRMED", 0)
    rows = [
        Figure.measured(
            f"order pipeline end to end, {n} orders from {clients} clients, orders/s vs the emulator's ceiling",
            m["orders_per_s"],
            "orders/s",
            baseline=m["ceiling_orders_per_s"],
            at_least=CEILING_SHARE_TARGET,
            digits=1,
            note=f"placement alone {m['placement_orders_per_s']:.1f} orders/s; ceiling = "
            f"{m['emulator_calls_per_s']:.0f} simple calls/s ({clients} clients, the higher of "
            f"{' and '.join(f'{c:.0f}' for c in m['emulator_calls_per_s_before_and_after'])} before and after; one client "
            f"{m['emulator_calls_per_s_one_client']:.0f}/s) / {m['calls_per_order']:.1f} AWS calls per order; "
            f"CPU per order: the emulator {m['emulator_cpu_ms_per_order']:.1f} ms, the stack's two processes (API,"
            f" pollers, handlers; notify) {m['stack_cpu_ms_per_order']:.1f} ms; {m['elapsed_s']:.0f} s in all",
        ),
        Figure.measured(
            "AWS calls per order (every client of the stack's processes, pollers included)",
            m["calls_per_order"],
            digits=1,
            note=f"by phase: {phases}; most frequent: {top}",
        ),
        Figure.measured(
            f"202 -> CONFIRMED p95 under that load ({clients} clients)",
            m["p95_ms"] if m["p95_ms"] is not None else float("inf"),
            "ms",
            at_most=P95_TARGET_MS,
            note=f"p50 {m['p50_ms']:.0f} ms" if m["p50_ms"] is not None else "no order confirmed",
        ),
        Figure(
            metric=f"orders settled of {n}, stock sold vs bought",
            value=f"{confirmed} CONFIRMED, {m['stock_sold']} sold",
            target=f"{n} CONFIRMED, {2 * n} sold",
            verdict="ok" if confirmed == n and m["stock_sold"] == 2 * n else f"MISSED: {m['statuses']}",
        ),
    ]
    return rows


def figures() -> list[Figure]:
    measured = measure()
    save("pipeline", measured)
    return figures_of(measured)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=ORDERS)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of the ceiling measurement")
    args = parser.parse_args(argv)
    measured = measure(args.orders, args.clients, args.seconds)
    save("pipeline", measured)
    print(table(figures_of(measured)))


if __name__ == "__main__":
    main()
