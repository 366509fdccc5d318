"""Catalog benchmark, against its own emulator:

    python -m bench.catalog [--reads 3000] [--large 50000]

1. Warm, cached menu reads per second through the Lambda handler (``app.app(event,
   context)`` with API Gateway proxy events, in process), as a ratio to a bare Chalice
   route measured in the same run, in alternating blocks, per second of this thread's CPU
   time (other work on a shared machine does not skew it), and the DynamoDB calls those
   reads made (expected: 0).
2. ScannedCount per menu page with 1K and with 50K products in the table: one Query on
   by_restaurant reads only the page it returns, whatever the table holds (ratio 1.0).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from devtools.lambda_context import LambdaContext

ROOT = Path(__file__).resolve().parent.parent
PAGE = 20
MENU_SIZE = 100
RATIO_TARGET = 0.8


def proxy_event(resource: str, path_params: dict[str, str] | None = None, query: dict[str, str] | None = None) -> dict:
    """An API Gateway (REST) proxy event, as Lambda receives it."""
    path = resource
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", value)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": "GET",
        "headers": {"Accept": "application/json", "Host": "api.example.com"},
        "multiValueHeaders": {"Accept": ["application/json"], "Host": ["api.example.com"]},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": "GET",
            "path": f"/api{path}",
            "stage": "api",
            "requestId": "bench-request",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def rate(handler: Any, event: dict, count: int, expect: int = 200) -> float:
    """Best of three runs, in calls per second."""
    context = LambdaContext()
    assert handler(event, context)["statusCode"] == expect
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(count):
            handler(event, context)
        best = max(best, count / (time.perf_counter() - started))
    return best


def cpu_rates(handlers: dict[str, tuple[Any, dict]], count: int, rounds: int = 5) -> dict[str, float]:
    """Calls per CPU second of each handler: the best of ``rounds`` blocks of ``count`` calls,
    the handlers taking turns block by block."""
    context = LambdaContext()
    best = dict.fromkeys(handlers, 0.0)
    for handler, event in handlers.values():
        for _ in range(200):  # warm
            handler(event, context)
    for _ in range(rounds):
        for name, (handler, event) in handlers.items():
            started = time.thread_time()
            for _ in range(count):
                handler(event, context)
            best[name] = max(best[name], count / max(time.thread_time() - started, 1e-9))
    return best


def bare_app() -> Any:
    from chalice import Chalice

    bare = Chalice(app_name="bare")

    @bare.route("/ping")
    def ping() -> dict:
        return {"ok": True}

    return bare


def start_stack() -> tuple[Any, dict[str, str]]:
    from devtools.emulator import Emulator, client_env, free_port

    port = free_port()
    emulator = Emulator(port).start()
    os.environ.update(client_env(port))
    import boto3

    from bench.common import lambda_env
    from devtools.provision import provision

    provisioned = {**client_env(port), **provision(boto3.session.Session())}
    env = {
        **provisioned,
        # Logging and metrics as deployed, so the ratio is the one production sees.
        **lambda_env(provisioned),
        "CATALOG_CACHE_SECONDS": "600",  # nothing expires during the run
    }
    os.environ.update(env)
    return emulator, env


def fill(env: dict[str, str], restaurant_ids: list[str], per_restaurant: int, start: int = 0) -> int:
    """Writes products straight to the table (batch_write_item, in parallel); returns how many."""
    import boto3

    from chalicelib.adapters.dynamo import to_item
    from chalicelib.domain import catalog as model

    def write(restaurant_id: str) -> None:
        client = boto3.session.Session().client("dynamodb")
        items = [
            to_item(
                model.new_product(
                    model.ProductCreate(name=f"Dish {n}", price_cents=100 + n % 900, stock=50, category=f"C{n % 5}"),
                    restaurant_id,
                    f"{restaurant_id[:8]}-{n:06d}",
                    "2026-01-01T00:00:00.000Z",
                )
            )
            for n in range(start, start + per_restaurant)
        ]
        for offset in range(0, len(items), 25):
            pending = {env["PRODUCTS_TABLE"]: [{"PutRequest": {"Item": i}} for i in items[offset : offset + 25]]}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, restaurant_ids))
    return len(restaurant_ids) * per_restaurant


class QueryProbe:
    """Collects (ScannedCount, Count) of every Query the app's DynamoDB client makes, and counts calls."""

    def __init__(self, client: Any) -> None:
        self.queries: list[tuple[int, int]] = []
        self.calls = 0
        client.meta.events.register("after-call.dynamodb.Query", self._query)
        client.meta.events.register("before-call.dynamodb", self._call)

    def _query(self, parsed: dict, **_: Any) -> None:
        self.queries.append((int(parsed.get("ScannedCount", 0)), int(parsed.get("Count", 0))))

    def _call(self, **_: Any) -> None:
        self.calls += 1


def scanned_per_page(app: Any, restaurant_id: str, probe: QueryProbe) -> tuple[float, int]:
    """Walks the whole menu page by page through the handler; returns (ScannedCount / items, pages)."""
    from chalicelib.bootstrap import container

    container().catalog_cache.clear()
    probe.queries.clear()
    cursor = None
    pages = 0
    while True:
        query = {"limit": str(PAGE), **({"cursor": cursor} if cursor else {})}
        out = app(
            proxy_event("/restaurants/{restaurant_id}/products", {"restaurant_id": restaurant_id}, query),
            LambdaContext(),
        )
        assert out["statusCode"] == 200, out
        cursor = json.loads(out["body"])["next_cursor"]
        pages += 1
        if not cursor:
            break
    scanned = sum(s for s, _ in probe.queries)
    returned = sum(c for _, c in probe.queries)
    return scanned / returned, pages


def measure(reads: int = 3000, large: int = 50_000) -> dict[str, Any]:
    emulator, env = start_stack()
    try:
        import boto3

        from devtools.seed import DemoAccount, create_user

        owner = create_user(boto3.session.Session(), env, DemoAccount("bench-owner@bench.dev", "Bench", ("customers",)))
        from app import app
        from chalicelib.bootstrap import container, reset
        from chalicelib.domain import catalog as model
        from chalicelib.domain.principal import ADMINS, Principal

        reset()
        catalog = container().catalog
        admin = Principal("bench", roles=frozenset({ADMINS}))

        def restaurant(n: int) -> str:
            cmd = model.RestaurantCreate(name=f"R{n}", city="Benchville", cuisine="any", address="1 St", owner_id=owner)
            return catalog.create_restaurant(admin, cmd).restaurant_id

        target = restaurant(0)
        fill(env, [target], MENU_SIZE)
        small_fillers = [restaurant(n) for n in range(1, 10)]
        total = MENU_SIZE + fill(env, small_fillers, 100)

        probe = QueryProbe(container().clients.get("dynamodb"))
        small_ratio, small_pages = scanned_per_page(app, target, probe)
        small_total = total

        # Throughput: warm, cached menu page vs a bare Chalice route, same process, same run.
        menu_event = proxy_event("/restaurants/{restaurant_id}/products", {"restaurant_id": target}, {"limit": "20"})
        app(menu_event, LambdaContext())
        probe.calls = 0
        rates = cpu_rates({"menu": (app, menu_event), "bare": (bare_app(), proxy_event("/ping"))}, reads)
        menu_rps, bare_rps = rates["menu"], rates["bare"]
        warm_calls = probe.calls
        container().catalog_cache.clear()
        cold_rps = rate(lambda e, c: (container().catalog_cache.clear(), app(e, c))[1], menu_event, 50)

        started = time.perf_counter()
        per = 1000
        large_fillers = [restaurant(n) for n in range(10, 10 + max(0, (large - total) // per))]
        total += fill(env, large_fillers, per)
        fill_seconds = time.perf_counter() - started
        large_ratio, large_pages = scanned_per_page(app, target, probe)

        return {
            "bare_rps": bare_rps,
            "menu_rps": menu_rps,
            "ratio": menu_rps / bare_rps,
            "warm_calls": warm_calls,
            "cold_rps": cold_rps,
            "small_total": small_total,
            "small_ratio": small_ratio,
            "small_pages": small_pages,
            "total": total,
            "large_ratio": large_ratio,
            "large_pages": large_pages,
            "fill_seconds": fill_seconds,
        }
    finally:
        emulator.stop()


def figures_of(m: dict[str, Any]) -> list[Any]:
    from bench.report import Figure

    return [
        Figure.measured(
            "cached menu page (limit 20) through the handler, calls per CPU second",
            m["menu_rps"],
            baseline=m["bare_rps"],
            at_least=RATIO_TARGET,
            note="baseline: a bare Chalice route, same process, alternating blocks",
        ),
        Figure.measured("DynamoDB calls during the warm menu reads", m["warm_calls"], at_most=0),
        Figure.measured("uncached menu page (one Query to the emulator), calls/s", m["cold_rps"]),
        Figure.measured(
            f"ScannedCount / items per menu page, {m['small_total']:,} products",
            m["small_ratio"],
            at_most=1.0,
            digits=2,
        ),
        Figure.measured(
            f"ScannedCount / items per menu page, {m['total']:,} products", m["large_ratio"], at_most=1.0, digits=2
        ),
    ]


def figures() -> list[Any]:
    return figures_of(measure())


def main(argv: list[str] | None = None) -> None:
    from bench.report import table

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=3000, help="handler calls per timed block")
    parser.add_argument("--large", type=int, default=50_000, help="products in the table for the large case")
    args = parser.parse_args(argv)
    m = measure(args.reads, args.large)
    print(table(figures_of(m)))
    print(f"large table written with batch_write_item in {m['fill_seconds']:.1f} s")
    if m["small_ratio"] != 1.0 or m["large_ratio"] != 1.0 or m["warm_calls"]:
        raise SystemExit("a menu page read more than it returned, or a warm read called DynamoDB")


if __name__ == "__main__":
    main()
