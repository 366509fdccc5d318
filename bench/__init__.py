"""Benchmarks: ``make bench`` (``python -m bench``) prints one table of ratios, each measured
against a baseline in the same run; ``make cost`` (``python -m bench.cost``) prices a month.

A benchmark module beside these (``bench/catalog.py``, ``bench/pipeline.py``) joins the
table by exposing ``rows(env: dict[str, str]) -> list[dict]``, called with the running
emulator's environment; each row is a dict with ``metric`` and any of ``value``,
``baseline``, ``ratio``, ``target``, ``verdict``, ``note``. It may also expose
``cost_inputs() -> dict`` (merged into ``.local/bench.json`` for the cost model).
"""
