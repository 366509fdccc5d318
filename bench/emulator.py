"""The embedded emulator's own speed, the local stack's ceiling: the tables as infra/ makes
them (GSIs, streams), filled with orders.

    python -m bench.emulator [--small 500] [--large 5000] [--moto]

1. TransactWriteItems (the processor's shape: stock taken with a condition, the order
   updated with a condition) at --small and at --large orders: the ratio of the emulator's
   CPU time per transaction (read from /proc, so other work on the machine does not skew
   it) shows whether a transaction's cost grows with the tables (target <= 1.5).
2. Query (a customer's 20 orders, newest first, on by_customer) at --small and at --large
   orders: the same ratio for a read of an index (target <= 1.5; moto as shipped sorts and
   tests every item of the table for each Query).
3. Simple calls per second (GetItem, PutItem: one client in sequence, then four clients at
   once) and transactions per second at --large orders.

--moto measures moto's server as it ships instead, for comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import save

TXN_RATIO_TARGET = 1.5
CLIENTS = 4
PROBE_CUSTOMER = {"customer_id": {"S": "cus_probe"}}
# Calls per CPU figure: /proc counts CPU in 10 ms ticks, so 200 calls of ~2 ms read within 3 %.
RUNS = 200


def order_item(n: int, restaurant_id: str, product_id: str) -> dict[str, Any]:
    """An order as the app stores it, near its real size."""
    at = f"2025-01-01T12:{n // 3600 % 60:02d}:{n % 60:02d}.000Z"
    line = {"M": {"product_id": {"S": product_id}, "name": {"S": "Margherita"}, "quantity": {"N": "2"}}}
    return {
        "order_id": {"S": f"ord_{n:08d}_{uuid.uuid4().hex[:8]}"},
        "customer_id": {"S": f"cus_{n % 97:04d}"},
        "restaurant_id": {"S": restaurant_id},
        "status": {"S": "CONFIRMED"},
        "created_at": {"S": at},
        "updated_at": {"S": at},
        "items": {"L": [line, line]},
        "subtotal_cents": {"N": "2400"},
        "total_cents": {"N": "2950"},
        "currency": {"S": "USD"},
        "delivery_address": {"M": {"line1": {"S": "1 Main St"}, "city": {"S": "Springfield"}}},
        "status_history": {"L": [{"M": {"status": {"S": s}, "at": {"S": at}}} for s in ("PENDING", "CONFIRMED")]},
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, env: dict[str, str], session: Any, pid: int) -> None:
        self.pid = pid
        self.orders, self.products = env["ORDERS_TABLE"], env["PRODUCTS_TABLE"]
        self.session = session
        self.db = session.client("dynamodb")
        self.restaurant_id, self.product_id = "rst_bench", "prd_bench"
        self.db.put_item(
            TableName=self.products,
            Item={
                "product_id": {"S": self.product_id},
                "restaurant_id": {"S": self.restaurant_id},
                "menu_sort": {"S": "mains#bench"},
                "stock": {"N": "1000000000"},
            },
        )
        self.count = 0
        self.probe = order_item(0, self.restaurant_id, self.product_id)
        self.db.put_item(TableName=self.orders, Item=self.probe)
        # The customer whose orders the Query reads: the same 20 at every table size.
        for n in range(20):
            self.db.put_item(
                TableName=self.orders, Item={**order_item(n, self.restaurant_id, self.product_id), **PROBE_CUSTOMER}
            )

    def fill(self, total: int) -> None:
        """Orders up to ``total``, 25 per BatchWriteItem."""
        while self.count < total:
            batch = [order_item(self.count + i, self.restaurant_id, self.product_id) for i in range(25)]
            self.db.batch_write_item(RequestItems={self.orders: [{"PutRequest": {"Item": i}} for i in batch]})
            self.count += len(batch)

    def transaction(self) -> list[dict[str, Any]]:
        key = {"order_id": self.probe["order_id"]}
        return [
            {
                "Update": {
                    "TableName": self.products,
                    "Key": {"product_id": {"S": self.product_id}},
                    "UpdateExpression": "SET stock = stock - :q",
                    "ConditionExpression": "stock >= :q",
                    "ExpressionAttributeValues": {":q": {"N": "1"}},
                }
            },
            {
                "Update": {
                    "TableName": self.orders,
                    "Key": key,
                    "UpdateExpression": "SET updated_at = :now",
                    "ConditionExpression": "attribute_exists(order_id)",
                    "ExpressionAttributeValues": {":now": {"S": "2025-01-01T13:00:00.000Z"}},
                }
            },
        ]

    def cost(self, call: Callable[[], Any], runs: int) -> tuple[float, float]:
        """The median wall time of one call (ms) and the emulator's CPU per call (ms)."""
        times = []
        cpu = cpu_seconds(self.pid)
        for _ in range(runs):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000, (cpu_seconds(self.pid) - cpu) / runs * 1000

    def transaction_cost(self, runs: int) -> tuple[float, float]:
        items = self.transaction()
        return self.cost(lambda: self.db.transact_write_items(TransactItems=items), runs)

    def query_cost(self, runs: int) -> tuple[float, float]:
        """A customer's newest 20 orders (GET /orders' Query)."""
        params = {
            "TableName": self.orders,
            "IndexName": "by_customer",
            "KeyConditionExpression": "customer_id = :c",
            "ExpressionAttributeValues": {":c": PROBE_CUSTOMER["customer_id"]},
            "ScanIndexForward": False,
            "Limit": 20,
        }
        return self.cost(lambda: self.db.query(**params), runs)

    def calls(self) -> dict[str, Callable[[Any], Any]]:
        key = {"order_id": self.probe["order_id"]}
        return {
            "GetItem": lambda db: db.get_item(TableName=self.orders, Key=key),
            "PutItem": lambda db: db.put_item(TableName=self.orders, Item=self.probe),
            "TransactWriteItems": lambda db: db.transact_write_items(TransactItems=self.transaction()),
        }

    def rate(self, call: Callable[[Any], Any], seconds: float, clients: int = 1) -> tuple[float, float]:
        """Calls per second over ``seconds``, from ``clients`` clients (threads) at once, and
        the emulator's CPU milliseconds per call (what bounds it on a busy machine)."""
        dbs = [self.db] + [self.session.client("dynamodb") for _ in range(clients - 1)]
        for db in dbs:
            call(db)  # connect outside the timed window

        def loop(db: Any) -> int:
            done, deadline = 0, time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                call(db)
                done += 1
            return done

        started, cpu = time.perf_counter(), cpu_seconds(self.pid)
        with ThreadPoolExecutor(clients) as pool:
            total = sum(pool.map(loop, dbs))
        return total / (time.perf_counter() - started), (cpu_seconds(self.pid) - cpu) / total * 1000


def measure(small: int, large: int, moto: bool, seconds: float) -> dict[str, Any]:
    from devtools.emulator import Emulator, client_env, free_port

    port = free_port()
    emulator = Emulator(port, patched=not moto).start()
    try:
        os.environ.update(client_env(port))
        import boto3

        from devtools.provision import provision

        session = boto3.session.Session()
        bench = Bench(provision(session), session, emulator.pid)
        bench.fill(small)
        at_small, query_small = bench.transaction_cost(RUNS), bench.query_cost(RUNS)
        started = time.perf_counter()
        bench.fill(large)
        fill_s = time.perf_counter() - started
        at_large, query_large = bench.transaction_cost(5 if moto else RUNS), bench.query_cost(RUNS)
        calls = bench.calls()
        rates = {f"{name}, 1 client": bench.rate(call, seconds) for name, call in calls.items()}
        for name in ("GetItem", "PutItem"):
            rates[f"{name}, {CLIENTS} clients"] = bench.rate(calls[name], seconds, CLIENTS)
    finally:
        emulator.stop()
        os.environ.pop("AWS_ENDPOINT_URL", None)
    return {
        "server": "moto.server as shipped" if moto else "devtools.emulator_server",
        "orders_small": small,
        "orders_large": large,
        "transaction_ms_small": at_small[0],
        "transaction_ms_large": at_large[0],
        "transaction_cpu_ms_small": at_small[1],
        "transaction_cpu_ms_large": at_large[1],
        "transaction_ratio": at_large[1] / at_small[1],
        "transaction_wall_ratio": at_large[0] / at_small[0],
        "query_ms_small": query_small[0],
        "query_ms_large": query_large[0],
        "query_cpu_ms_small": query_small[1],
        "query_cpu_ms_large": query_large[1],
        "query_ratio": query_large[1] / query_small[1],
        "fill_orders_per_s": (large - small) / fill_s,
        "calls_per_s": {name: rate for name, (rate, _) in rates.items()},
        "cpu_ms_per_call": {name: cpu for name, (_, cpu) in rates.items()},
    }


def rows(m: dict[str, Any]) -> list[dict[str, Any]]:
    from bench.__main__ import verdict

    ratio = m["transaction_ratio"]
    out = [
        {
            "metric": f"emulator TransactWriteItems CPU at {m['orders_large']:,} orders / at {m['orders_small']:,}",
            "value": f"{m['transaction_cpu_ms_large']:.1f} ms",
            "baseline": f"{m['transaction_cpu_ms_small']:.1f} ms",
            "ratio": f"{ratio:.2f}x",
            "target": f"<= {TXN_RATIO_TARGET:.1f}x",
            "verdict": verdict(ratio <= TXN_RATIO_TARGET, f"{ratio / TXN_RATIO_TARGET - 1:.0%}"),
            "note": f"the emulator's CPU per transaction; wall-clock medians {m['transaction_ms_large']:.1f} ms"
            f" / {m['transaction_ms_small']:.1f} ms = {m['transaction_wall_ratio']:.2f}x (wall time follows the load"
            " of the machine)",
        },
        {
            "metric": f"emulator Query (a customer's newest 20 orders) CPU at {m['orders_large']:,} orders / at"
            f" {m['orders_small']:,}",
            "value": f"{m['query_cpu_ms_large']:.1f} ms",
            "baseline": f"{m['query_cpu_ms_small']:.1f} ms",
            "ratio": f"{m['query_ratio']:.2f}x",
            "target": f"<= {TXN_RATIO_TARGET:.1f}x",
            "verdict": verdict(m["query_ratio"] <= TXN_RATIO_TARGET, f"{m['query_ratio'] / TXN_RATIO_TARGET - 1:.0%}"),
            "note": f"on by_customer; wall-clock medians {m['query_ms_large']:.1f} ms / {m['query_ms_small']:.1f} ms",
        },
    ]
    for name, rate in m["calls_per_s"].items():
        out.append(
            {
                "metric": f"emulator {name} at {m['orders_large']:,} orders, calls/s",
                "value": f"{rate:.0f}",
                "baseline": f"{m['cpu_ms_per_call'][name]:.2f} ms CPU/call",
            }
        )
    out[-len(m["calls_per_s"]) :][0]["note"] = (
        "calls/s is the local ceiling (TransactWriteItems: transactions/s); CPU/call is the emulator's own"
        " cost per call, which holds when the machine is busy"
    )
    return out


def figures() -> list[dict[str, Any]]:
    """``make bench``'s rows (bench/report.py): the defaults of ``main``."""
    measured = measure(500, 5000, False, 3.0)
    save("emulator", measured)
    return rows(measured)


def main(argv: list[str] | None = None) -> None:
    from bench.__main__ import table

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--large", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each rate measurement")
    parser.add_argument("--moto", action="store_true", help="moto's server as it ships, for comparison")
    args = parser.parse_args(argv)
    measured = measure(args.small, args.large, args.moto, args.seconds)
    save("emulator_moto" if args.moto else "emulator", measured)
    print(f"server: {measured['server']}")
    print(table(rows(measured)))


if __name__ == "__main__":
    main()
