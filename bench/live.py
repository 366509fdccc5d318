"""Live updates under load: 200 WebSocket clients connected to the local bridge (customers,
owners and couriers, all on shift), orders walked from CONFIRMED to DELIVERED (claimed while
READY) by writing them to the Orders table, each change notified from the stream.

    python -m bench.live [--customers 120] [--owners 40] [--couriers 40] [--orders 15]

For each status change: the time from the status write to the last frame received by the
sockets it is meant for (p50/p95, overall and for the courier fan-outs READY and the claim),
and the AWS calls the notifier makes (counted with botocore hooks on the app's clients).
The baseline, measured in the same run, is one management-API post to one socket: the
transport's own cost, so the figures read as ratios to it. Goal: p95 under 500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
import uuid
from collections import Counter, defaultdict
from typing import Any

from bench.common import save, stack

# (status, claimed): the claim keeps the order READY and tells the other couriers it is taken.
WALK = (
    ("CONFIRMED", False),
    ("ACCEPTED", False),
    ("PREPARING", False),
    ("READY", False),
    ("READY", True),
    ("PICKED_UP", True),
    ("DELIVERED", True),
)
# The one line of every order written (the typed order needs its lines).
LINE = {"product_id": "prd_bench", "name": "Bench", "quantity": 1, "unit_price_cents": 1000, "line_total_cents": 1000}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Listeners:
    """Every socket in one event loop thread; each frame's arrival time by (user, event_id)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.arrivals: dict[tuple[str, str], float] = {}
        self.frames: Counter[str] = Counter()
        self._loop = asyncio.new_event_loop()
        self._sockets: list[Any] = []
        threading.Thread(target=self._loop.run_forever, daemon=True).start()

    def connect(self, tokens: dict[str, str]) -> None:
        async def open_all() -> None:
            from websockets.asyncio.client import connect

            for user_id, token in tokens.items():
                ws = await connect(f"{self.url}/?token={token}", ping_interval=None)
                self._sockets.append(ws)
                self._loop.create_task(self._listen(user_id, ws))

        asyncio.run_coroutine_threadsafe(open_all(), self._loop).result(timeout=300)

    async def _listen(self, user_id: str, ws: Any) -> None:
        async for frame in ws:
            received = time.perf_counter()
            message = json.loads(frame)
            self.frames[user_id] += 1
            self.arrivals.setdefault((user_id, message.get("event_id", "")), received)

    def close(self) -> None:
        async def close_all() -> None:
            for ws in self._sockets:
                await ws.close()

        asyncio.run_coroutine_threadsafe(close_all(), self._loop).result(timeout=60)


def make_users(env: dict[str, str], group: str, count: int) -> dict[str, str]:
    """``count`` confirmed users of ``group``: user id -> ID token."""
    import boto3

    from devtools.seed import DEMO_PASSWORD, DemoAccount, create_user

    session = boto3.session.Session()
    idp = session.client("cognito-idp")
    tokens = {}
    for index in range(count):
        email = f"bench-{group}-{index}-{uuid.uuid4().hex[:6]}@bench.chowline.dev"
        user_id = create_user(session, env, DemoAccount(email, "Bench", (group,)))
        auth = idp.initiate_auth(
            ClientId=env["USER_POOL_CLIENT_ID"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": DEMO_PASSWORD},
        )
        tokens[user_id] = auth["AuthenticationResult"]["IdToken"]
    return tokens


def count_calls(counts: Counter[str]) -> None:
    from chalicelib.bootstrap import container

    def record(event_name: str, **_: Any) -> None:
        counts[event_name.split(".", 1)[1]] += 1

    for service in ("dynamodb", "sns", "apigatewaymanagementapi"):
        container().clients.get(service).meta.events.register("before-call", record)


def baseline_post(listeners: Listeners, bridge: Any, user_id: str, runs: int = 30) -> float:
    """p50 of one management-API post to one socket, write to arrival."""
    from chalicelib.bootstrap import container

    live = container().live
    times = []
    for index in range(runs):
        event_id = f"baseline-{index}"
        started = time.perf_counter()
        live.post(user_id, {"type": "bench", "event_id": event_id})
        while (user_id, event_id) not in listeners.arrivals:
            time.sleep(0.0005)
        times.append(listeners.arrivals[(user_id, event_id)] - started)
    return statistics.median(times) * 1000


def run(customers: int, owners: int, couriers: int, orders: int) -> dict[str, Any]:
    with stack() as env:
        import os

        os.environ.update(env)
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # one log line per invocation would be the bench's own cost
        from devtools.websocket_bridge import WebSocketBridge

        bridge = WebSocketBridge().start()
        os.environ.update(bridge.env)
        from chalicelib import bootstrap

        bootstrap.reset()
        try:
            return _measure(env, bridge, customers, owners, couriers, orders)
        finally:
            bridge.stop()


def _measure(env: dict[str, str], bridge: Any, customers: int, owners: int, couriers: int, orders: int) -> dict:
    import boto3

    from chalicelib.adapters.dynamo import to_item
    from devtools.pipeline import Pipeline

    started = time.monotonic()
    people = {
        "customers": make_users(env, "customers", customers),
        "owners": make_users(env, "restaurant_owners", owners),
        "couriers": make_users(env, "couriers", couriers),
    }
    listeners = Listeners(bridge.url)
    for tokens in people.values():
        listeners.connect(tokens)
    sockets = sum(len(t) for t in people.values())
    setup_seconds = time.monotonic() - started

    pipeline = Pipeline(env, stream_start="LATEST", sweep_every=0)
    pipeline.prepare()
    pipeline.drain_stream()
    db = boto3.session.Session().client("dynamodb")
    owner_ids, customer_ids, courier_ids = (list(people[k]) for k in ("owners", "customers", "couriers"))
    for courier_id in courier_ids:  # on shift: offered READY orders
        shift = {"courier_id": courier_id, "record": "state", "available": True, "shift": "available"}
        db.put_item(TableName=env["COURIERS_TABLE"], Item=to_item(shift))
    restaurants = {}
    for owner_id in owner_ids:
        restaurant_id = f"rst_{uuid.uuid4().hex[:10]}"
        db.put_item(
            TableName=env["RESTAURANTS_TABLE"],
            Item=to_item(
                {"restaurant_id": restaurant_id, "owner_id": owner_id, "name": "Bench", "city": "Springfield"}
            ),
        )
        restaurants[owner_id] = restaurant_id
    baseline_ms = baseline_post(listeners, bridge, customer_ids[0])

    calls: Counter[str] = Counter()
    count_calls(calls)
    latencies: dict[str, list[float]] = defaultdict(list)
    calls_per_change: dict[str, list[int]] = defaultdict(list)
    for index in range(orders):
        customer = customer_ids[index % len(customer_ids)]
        owner = owner_ids[index % len(owner_ids)]
        carrier = courier_ids[index % len(courier_ids)]
        order_id = f"ord_{uuid.uuid4().hex[:12]}"
        history: list[dict[str, str]] = []
        claimed_at = None
        for status, claimed in WALK:
            at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{index:03d}Z"
            claim = claimed and claimed_at is None
            if claim:
                claimed_at = at
            else:
                history.append({"status": status, "at": at})
            order = {
                "order_id": order_id,
                "customer_id": customer,
                "restaurant_id": restaurants[owner],
                "status": status,
                "status_history": history,
                "items": [LINE],
                "total_cents": 1000,
                "currency": "USD",
                "created_at": history[0]["at"],
                "updated_at": at,
                "courier_id": carrier if claimed else None,
                "claimed_at": claimed_at,
            }
            intended = [(customer, "order.status"), (owner, "order.status")]
            if claim:
                intended = [(c, "delivery.taken") for c in courier_ids if c != carrier]
            elif status == "READY":
                intended += [(c, "delivery.available") for c in courier_ids]
            elif status in ("PICKED_UP", "DELIVERED"):
                intended.append((carrier, "order.status"))
            before = sum(calls.values())
            written = time.perf_counter()
            db.put_item(TableName=env["ORDERS_TABLE"], Item=to_item(order))
            pipeline.drain_stream()
            keys = [(user, f"{order_id}:{status}:{kind}") for user, kind in intended]
            deadline = time.monotonic() + 10
            while not all(k in listeners.arrivals for k in keys) and time.monotonic() < deadline:
                time.sleep(0.001)
            missing = [k for k in keys if k not in listeners.arrivals]
            if missing:
                raise RuntimeError(f"{len(missing)} intended frames never arrived for {status}")
            last = max(listeners.arrivals[k] for k in keys) - written
            kind = "fan_out" if status == "READY" else "two_ends"
            latencies[kind].append(last * 1000)
            calls_per_change[kind].append(sum(calls.values()) - before)
    by_operation = dict(calls.most_common())
    listeners.close()
    every = latencies["fan_out"] + latencies["two_ends"]

    def summary(values: list[float]) -> dict[str, float]:
        return {"p50_ms": round(_percentile(values, 0.5), 1), "p95_ms": round(_percentile(values, 0.95), 1)}

    return {
        "sockets": sockets,
        "connected_couriers": len(courier_ids),
        "status_changes": len(every),
        "setup_seconds": round(setup_seconds, 1),
        "write_to_last_delivery": summary(every),
        "two_ends": summary(latencies["two_ends"]),
        "courier_fan_out": summary(latencies["fan_out"]),
        "baseline_one_post_ms": round(baseline_ms, 2),
        "p95_vs_baseline": round(_percentile(every, 0.95) / baseline_ms, 1),
        "aws_calls_per_change": {kind: round(statistics.mean(values), 1) for kind, values in calls_per_change.items()},
        "aws_calls_by_operation": by_operation,
        "goal_p95_under_500_ms": _percentile(every, 0.95) < 500,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=120)
    parser.add_argument("--owners", type=int, default=40)
    parser.add_argument("--couriers", type=int, default=40)
    parser.add_argument("--orders", type=int, default=15)
    args = parser.parse_args(argv)
    result = run(args.customers, args.owners, args.couriers, args.orders)
    save("live", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
