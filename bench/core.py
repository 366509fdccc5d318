"""Core benchmarks, against their own emulator: cold start of every function, warm overhead
of a cached read through all middleware, and memory over 10K requests.

    python -m bench.core [--runs 10] [--requests 10000]
"""

from __future__ import annotations

import argparse
from typing import Any

from bench import cold_start, overhead
from bench.common import first_restaurant, save, stack
from bench.report import Figure, table

COLD_TARGET = 1.15
WARM_TARGET = 0.80
RSS_TARGET_MB = 160.0
GROWTH_TARGET = 0.02


def measure(runs: int = cold_start.RUNS, requests: int = 10_000) -> dict[str, Any]:
    with stack() as env:
        restaurant_id = first_restaurant(env)
        cold = cold_start.measure(env, restaurant_id, runs)
        warm = overhead.warm(env, restaurant_id)
        memory = overhead.memory(env, restaurant_id, requests)
    api = cold["api_handler"]
    measured = {
        "cold_start": {k: v for k, v in cold.items() if k != "modules"},
        "warm": warm,
        "memory": memory,
        "requests": requests,
        "api_ms_per_request": warm["app_ms_per_request"],
        "cold_start_ms": api["ms"],
    }
    save("core", measured)
    return measured


def figures_of(m: dict[str, Any]) -> list[Figure]:
    warm, memory, requests = m["warm"], m["memory"], m["requests"]
    rows = cold_start.figures_of(m["cold_start"], api_target=COLD_TARGET)
    rows += [
        Figure.measured(
            f"warm cached read ({warm['mode']}) through all middleware, req/s",
            warm["app"],
            baseline=warm["bare"],
            at_least=WARM_TARGET,
            note="baseline: a bare Chalice route returning the same body, same process",
        ),
        Figure.measured(f"peak RSS after {requests // 1000}K requests", memory["peak_mb"], "MB", at_most=RSS_TARGET_MB),
        Figure.measured(
            f"RSS growth 1K -> {requests // 1000}K, % of RSS at 1K",
            100 * memory["growth"],
            "%",
            at_most=100 * GROWTH_TARGET,
            digits=1,
        ),
    ]
    return rows


def figures() -> list[Figure]:
    return figures_of(measure())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=cold_start.RUNS)
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args(argv)
    print(table(figures_of(measure(args.runs, args.requests))))


if __name__ == "__main__":
    main()
