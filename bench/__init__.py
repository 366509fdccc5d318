"""Benchmarks: ``make bench`` (``python -m bench``) prints one table of figures, each ratio
measured against a baseline in the same run, and writes it to ``.local/bench.json``;
``make cost`` (``python -m bench.cost``) prices a month; ``make load`` runs a lunch rush.

A benchmark module joins the table by exposing ``figures() -> list[bench.report.Figure]``
and being listed in ``bench/__main__.py``'s ``BENCHMARKS``; it may also save measured
inputs for the cost model with ``bench.common.save``.
"""
