"""``make bench``: every benchmark, one table of figures with targets and verdicts, written
to ``.local/bench.json`` (see bench/report.py for how a benchmark joins).

    python -m bench [name ...]      (default: all of BENCHMARKS; e.g. ``python -m bench catalog``)
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from bench.common import ROOT
from bench.report import Figure, publish, run, table, verdict_of

# Each exposes figures() -> list[Figure] and runs in its own interpreter, one after another.
BENCHMARKS = (
    "bench.core",
    "bench.catalog",
    "bench.package",
    "bench.pipeline",
    "bench.emulator",
    "bench.web",
    "bench.live",
    "bench.accounts",
    "bench.dispatch",
)

# Kept for benchmarks that format their own rows.
verdict = verdict_of
__all__ = ["table", "verdict"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="benchmarks to run (module names, with or without bench.)")
    args = parser.parse_args(argv)
    chosen = [n if n.startswith("bench.") else f"bench.{n}" for n in args.names] or list(BENCHMARKS)
    figures: list[Figure] = []
    for module in chosen:
        print(f"--- {module}", flush=True)
        if _has_figures(module):
            figures += run(module)
        else:  # not on the figures API yet: run it as it is, its own output stands
            done = subprocess.run([sys.executable, "-m", module], cwd=ROOT, check=False)
            figures.append(
                Figure(metric=module, value="see its output", verdict="ok" if done.returncode == 0 else "FAILED")
            )
    print()
    publish(figures)


def _has_figures(module: str) -> bool:
    import importlib

    return callable(getattr(importlib.import_module(module), "figures", None))


if __name__ == "__main__":
    main()
