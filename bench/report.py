"""The one table of ``make bench``: every figure with its baseline, target and verdict.

A benchmark joins it by exposing ``figures() -> list[Figure]`` in its module and being
listed in ``BENCHMARKS`` (``bench/__main__.py``). Each module runs in its own interpreter
(its own emulator, environment and imports); ``python -m bench`` prints the table and
writes it to ``.local/bench.json`` under ``"figures"``, beside the measured inputs each
benchmark saves for the cost model (``bench.common.save``).

A figure with a baseline is judged by its ratio to the baseline (measured in the same
run), otherwise by its value. ``Figure.measured`` builds one from numbers; a plain dict
with the same keys (``metric``, ``value``, ``baseline``, ``ratio``, ``target``,
``verdict``, ``note``: strings) is accepted as well.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from bench.common import ROOT, save

COLUMNS = ("metric", "value", "baseline", "ratio", "target", "verdict")


@dataclass(frozen=True)
class Figure:
    metric: str
    value: str
    baseline: str = "-"
    ratio: str = "-"
    target: str = "-"
    verdict: str = "-"
    note: str = ""

    @classmethod
    def measured(
        cls,
        metric: str,
        value: float,
        unit: str = "",
        *,
        baseline: float | None = None,
        at_most: float | None = None,
        at_least: float | None = None,
        digits: int = 0,
        note: str = "",
    ) -> Figure:
        """``value`` (and ``baseline``) in ``unit``; the target bounds the ratio when there is a
        baseline, else the value."""
        suffix = f" {unit}" if unit else ""
        judged = value / baseline if baseline else value
        target, verdict = "-", "-"
        if at_most is not None:
            target = _bound("<=", at_most, bool(baseline), suffix, digits)
            verdict = verdict_of(judged <= at_most, _miss(judged, at_most, bool(baseline), suffix, digits))
        elif at_least is not None:
            target = _bound(">=", at_least, bool(baseline), suffix, digits)
            verdict = verdict_of(judged >= at_least, _miss(judged, at_least, bool(baseline), suffix, digits))
        return cls(
            metric=metric,
            value=f"{value:,.{digits}f}{suffix}",
            baseline=f"{baseline:,.{digits}f}{suffix}" if baseline else "-",
            ratio=f"{judged:.2f}x" if baseline else "-",
            target=target,
            verdict=verdict,
            note=note,
        )

    @classmethod
    def of(cls, row: Figure | dict[str, Any]) -> Figure:
        if isinstance(row, Figure):
            return row
        known = {f.name for f in fields(cls)}
        return cls(**{k: str(v) for k, v in row.items() if k in known})


def _bound(op: str, bound: float, ratio: bool, suffix: str, digits: int) -> str:
    return f"{op} {bound:.2f}x" if ratio else f"{op} {bound:,.{digits}f}{suffix}"


def _miss(judged: float, bound: float, ratio: bool, suffix: str, digits: int) -> str:
    if ratio or not bound:
        return f"{abs(judged - bound) / (bound or 1):.0%}"
    return f"{abs(judged - bound):,.{digits}f}{suffix}"


def verdict_of(ok: bool, miss: str) -> str:
    return "ok" if ok else f"MISSED by {miss}"


def table(rows: list[Figure] | list[dict[str, Any]]) -> str:
    figures = [Figure.of(row) for row in rows]
    cells = [[getattr(f, c) for c in COLUMNS] for f in figures]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(COLUMNS)]
    out = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    out += [f"  {f.metric}: {f.note}" for f in figures if f.note]
    return "\n".join(out)


def run(module: str, timeout: float = 1800) -> list[Figure]:
    """``module.figures()`` in a fresh interpreter."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        code = f"import sys; from bench.report import dump; dump({module!r}, sys.argv[1])"
        done = subprocess.run([sys.executable, "-c", code, str(out)], cwd=ROOT, timeout=timeout, check=False)
        if done.returncode != 0 or not out.exists():
            return [Figure(metric=module, value="failed", verdict=f"FAILED (exit {done.returncode})")]
        return [Figure.of(row) for row in json.loads(out.read_text())]


def dump(module: str, path: str) -> None:
    figures = [Figure.of(row) for row in importlib.import_module(module).figures()]
    Path(path).write_text(json.dumps([asdict(f) for f in figures]))


def publish(figures: list[Figure]) -> None:
    """Prints the table and writes it to .local/bench.json."""
    save("figures", [asdict(f) for f in figures])
    print(table(figures))
