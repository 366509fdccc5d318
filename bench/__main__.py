"""Core benchmarks: cold start, warm overhead and memory, printed as one table of ratios
against baselines measured in the same run (`make bench` also runs bench.catalog and bench.pipeline).

    python -m bench [--runs 10] [--requests 10000]
"""

from __future__ import annotations

import argparse
from typing import Any

from bench import cold_start, overhead
from bench.common import RESULTS, first_restaurant, save, stack

COLD_TARGET = 1.15
WARM_TARGET = 0.80
RSS_TARGET_MB = 160.0
GROWTH_TARGET = 0.02


def verdict(ok: bool, miss: str) -> str:
    return "ok" if ok else f"MISSED by {miss}"


def core_rows(env: dict[str, str], runs: int, requests: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    restaurant_id = first_restaurant(env)
    cold = cold_start.measure(env, restaurant_id, runs)
    warm = overhead.warm(env, restaurant_id)
    memory = overhead.memory(env, restaurant_id, requests)
    rows = [
        {
            "metric": f"cold start ({cold['mode']}, median of {cold['runs']})",
            "value": f"{cold['app_ms']:.0f} ms",
            "baseline": f"{cold['baseline_ms']:.0f} ms",
            "ratio": f"{cold['ratio']:.2f}x",
            "target": f"<= {COLD_TARGET:.2f}x",
            "verdict": verdict(cold["ratio"] <= COLD_TARGET, f"{cold['ratio'] / COLD_TARGET - 1:.0%}"),
        },
        {
            "metric": f"warm cached read ({warm['mode']}), req/s",
            "value": f"{warm['app']:.0f}",
            "baseline": f"{warm['bare']:.0f} bare",
            "ratio": f"{warm['ratio']:.2f}x",
            "target": f">= {WARM_TARGET:.2f}x",
            "verdict": verdict(warm["ratio"] >= WARM_TARGET, f"{1 - warm['ratio'] / WARM_TARGET:.0%}"),
        },
        {
            "metric": f"peak RSS after {requests // 1000}K requests",
            "value": f"{memory['peak_mb']:.0f} MB",
            "baseline": "-",
            "ratio": "-",
            "target": f"<= {RSS_TARGET_MB:.0f} MB",
            "verdict": verdict(memory["peak_mb"] <= RSS_TARGET_MB, f"{memory['peak_mb'] - RSS_TARGET_MB:.0f} MB"),
        },
        {
            "metric": f"RSS growth 1K -> {requests // 1000}K",
            "value": f"{memory['rss_end_mb'] - memory['rss_1k_mb']:+.1f} MB",
            "baseline": f"{memory['rss_1k_mb']:.0f} MB at 1K",
            "ratio": f"{memory['growth']:+.1%}",
            "target": f"<= {GROWTH_TARGET:.0%}",
            "verdict": verdict(memory["growth"] <= GROWTH_TARGET, f"{memory['growth'] - GROWTH_TARGET:.1%} points"),
        },
    ]
    measured = {
        "cold_start": cold,
        "warm": warm,
        "memory": memory,
        "api_ms_per_request": warm["app_ms_per_request"],
        "cold_start_ms": cold["app_ms"],
    }
    return rows, measured


def table(rows: list[dict[str, Any]]) -> str:
    columns = ("metric", "value", "baseline", "ratio", "target", "verdict")
    cells = [[str(row.get(c, "-")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    notes = [f"  {row['metric']}: {row['note']}" for row in rows if row.get("note")]
    return "\n".join(out + notes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=cold_start.RUNS)
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args(argv)
    with stack() as env:
        rows, measured = core_rows(env, args.runs, args.requests)
    save("core", measured)
    print(table(rows))
    print("catalog reads and ScannedCount: python -m bench.catalog; the order pipeline: python -m bench.pipeline")
    print(f"measured inputs for `make cost`: {RESULTS.relative_to(RESULTS.parent.parent)}")


if __name__ == "__main__":
    main()
