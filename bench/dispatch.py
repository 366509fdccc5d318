"""Dispatch under contention, against its own emulator:

    python -m bench.dispatch [--orders 20] [--couriers 10] [--rounds 30]

1. The claim race: for each of ``--orders`` READY orders, ``--couriers`` couriers on shift
   claim it at once (threads on the dispatch service, one barrier per order): the number of
   winners per order (exactly 1) and each claim's latency.
2. Per request, through the Lambda handler (``app.app(event, context)``, API Gateway proxy
   events with the authorizer's claims): the DynamoDB calls and the median latency of
   ``GET /deliveries`` (with a position: nearest first), ``POST /deliveries/{id}/claim``,
   ``PUT /couriers/me/location`` (carrying one order) and ``PUT /couriers/me``, against the
   baseline ``GET /orders/{id}`` (one GetItem), measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import uuid
from collections import Counter
from typing import Any

from bench.common import proxy_event, save, stack
from bench.report import Figure, table
from devtools.lambda_context import LambdaContext

HOME = {"label": "home", "line1": "1 Main St", "city": "Austin", "postcode": "78701", "lat": 30.2672, "lng": -97.7431}


def _event(method: str, path: str, resource: str, user_id: str, group: str, body: Any = None) -> dict[str, Any]:
    params = {"order_id": path.split("/")[2]} if "{order_id}" in resource else None
    event = proxy_event(path, resource, params, method=method)
    event["requestContext"]["authorizer"] = {"claims": {"sub": user_id, "cognito:groups": group}}
    if body is not None:
        event["body"] = json.dumps(body)
        event["headers"] = {**event["headers"], "Content-Type": "application/json"}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    return event


def _ready_order(db: Any, env: dict[str, str], restaurant_id: str, customer_id: str) -> str:
    from chalicelib.adapters.dynamo import to_item

    order_id = f"ord_{uuid.uuid4().hex[:24]}"
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    order = {
        "order_id": order_id,
        "customer_id": customer_id,
        "restaurant_id": restaurant_id,
        "status": "READY",
        "offer": "READY",
        "items": [],
        "total_cents": 1000,
        "currency": "USD",
        "delivery_address": HOME,
        "status_history": [{"status": "READY", "at": now}],
        "created_at": now,
        "updated_at": now,
    }
    db.put_item(TableName=env["ORDERS_TABLE"], Item=to_item(order))
    return order_id


def _race(dispatch: Any, order_id: str, riders: list[str]) -> list[tuple[int, float]]:
    """Every rider claims ``order_id`` at once: (status, ms) per claim."""
    from chalicelib.domain.errors import ChowlineError
    from chalicelib.domain.principal import Principal

    barrier = threading.Barrier(len(riders))
    outcomes: list[tuple[int, float]] = []
    lock = threading.Lock()

    def claim(user_id: str) -> None:
        principal = Principal(user_id=user_id, roles=frozenset({"couriers"}))
        barrier.wait()
        started = time.perf_counter()
        try:
            dispatch.claim(principal, order_id)
            status = 200
        except ChowlineError as refused:
            status = refused.status
        with lock:
            outcomes.append((status, (time.perf_counter() - started) * 1000))

    threads = [threading.Thread(target=claim, args=(rider,)) for rider in riders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def measure(orders: int, couriers: int, rounds: int) -> dict[str, Any]:
    with stack() as env:
        os.environ.update(env)
        import boto3

        from chalicelib import bootstrap
        from chalicelib.adapters.dynamo import to_item
        from chalicelib.domain.principal import Principal

        bootstrap.reset()
        import app as app_module

        container = bootstrap.container()
        db = boto3.session.Session().client("dynamodb")
        restaurant_id = f"rst_{uuid.uuid4().hex[:10]}"
        restaurant = {
            "restaurant_id": restaurant_id,
            "owner_id": "bench-owner",
            "location": {"lat": 30.27, "lng": -97.74},
        }
        db.put_item(TableName=env["RESTAURANTS_TABLE"], Item=to_item(restaurant))
        riders = [f"bench-courier-{i}-{uuid.uuid4().hex[:6]}" for i in range(couriers)]
        for user_id in riders:
            db.put_item(TableName=env["USERS_TABLE"], Item={"user_id": {"S": user_id}})
            container.couriers_repo.set_available(user_id, True, "2026-01-01T00:00:00.000Z")

        # 1. The race.
        winners: list[int] = []
        claim_ms: list[float] = []
        for _ in range(orders):
            outcomes = _race(container.dispatch, _ready_order(db, env, restaurant_id, "bench-customer"), riders)
            winners.append(sum(1 for status, _ in outcomes if status == 200))
            claim_ms.extend(ms for _, ms in outcomes)
            if {status for status, _ in outcomes} - {200, 409}:
                raise RuntimeError(f"unexpected claim outcomes {Counter(s for s, _ in outcomes)}")

        # 2. Per request, through the handler.
        calls = Counter[str]()
        dynamodb = container.clients.get("dynamodb")
        dynamodb.meta.events.register("before-call.dynamodb", lambda model, **_: calls.update([model.name]))
        context = LambdaContext()
        rider = riders[0]
        timings: dict[str, list[float]] = {}
        aws_calls: dict[str, float] = {}

        def timed(name: str, event_of: Any) -> None:
            spent, counted = [], []
            for index in range(rounds):
                event = event_of(index)
                before = sum(calls.values())
                started = time.perf_counter()
                response = app_module.app(event, context)
                spent.append((time.perf_counter() - started) * 1000)
                counted.append(sum(calls.values()) - before)
                if response["statusCode"] != 200:
                    raise RuntimeError(f"{name}: {response['statusCode']} {response['body'][:300]}")
            timings[name] = spent
            aws_calls[name] = statistics.mean(counted)

        carried = _ready_order(db, env, restaurant_id, "bench-customer")
        container.dispatch.claim(Principal(user_id=rider, roles=frozenset({"couriers"})), carried)
        db.update_item(
            TableName=env["ORDERS_TABLE"],
            Key={"order_id": {"S": carried}},
            UpdateExpression="SET #s = :p",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":p": {"S": "PICKED_UP"}},
        )
        order_path = f"/orders/{carried}"
        timed("GET /orders/{id}", lambda _: _event("GET", order_path, "/orders/{order_id}", rider, "couriers"))
        clock = [time.time()]
        container.dispatch._clock = lambda: clock[0]  # each report lands after the rate limit's interval

        def report(index: int) -> dict[str, Any]:
            clock[0] += 6
            position = {"lat": 30.27 + index / 1e4, "lng": -97.74}
            return _event("PUT", "/couriers/me/location", "/couriers/me/location", rider, "couriers", position)

        timed("PUT /couriers/me/location", report)
        fresh = [_ready_order(db, env, restaurant_id, "bench-customer") for _ in range(rounds)]
        timed(
            "GET /deliveries",
            lambda _: _event("GET", "/deliveries", "/deliveries", rider, "couriers"),
        )
        timed(
            "PUT /couriers/me",
            lambda _: _event("PUT", "/couriers/me", "/couriers/me", rider, "couriers", {"available": True}),
        )
        timed(
            "POST /deliveries/{id}/claim",
            lambda i: _event(
                "POST", f"/deliveries/{fresh[i]}/claim", "/deliveries/{order_id}/claim", riders[1], "couriers"
            ),
        )
    return {
        "orders": orders,
        "couriers": couriers,
        "winners_per_order": sorted(set(winners)),
        "claim_p50_ms": round(statistics.median(claim_ms), 2),
        "claim_max_ms": round(max(claim_ms), 2),
        "requests_p50_ms": {name: round(statistics.median(v), 2) for name, v in timings.items()},
        "aws_calls_per_request": {name: round(v, 2) for name, v in aws_calls.items()},
    }


def figures_of(m: dict[str, Any]) -> list[Figure]:
    base = m["requests_p50_ms"]["GET /orders/{id}"]
    rows = [
        Figure.measured(
            f"claim race: winners per order ({m['couriers']} couriers x {m['orders']} orders)",
            max(m["winners_per_order"]),
            at_most=1,
            note=f"every order had exactly one winner: {m['winners_per_order'] == [1]}",
        )
    ]
    for name in ("POST /deliveries/{id}/claim", "GET /deliveries", "PUT /couriers/me/location", "PUT /couriers/me"):
        rows.append(
            Figure.measured(
                f"{name}: p50 latency, DynamoDB calls {m['aws_calls_per_request'][name]:g}",
                m["requests_p50_ms"][name],
                "ms",
                baseline=base,
                digits=2,
                note="baseline: GET /orders/{id} (one GetItem), same run",
            )
        )
    return rows


def figures() -> list[Figure]:
    return figures_of(measure(20, 10, 30))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--couriers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    result = measure(args.orders, args.couriers, args.rounds)
    save("dispatch", result)
    print(json.dumps(result, indent=2))
    print(table(figures_of(result)))


if __name__ == "__main__":
    main()
