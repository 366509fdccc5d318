"""The local pipeline as ``make run`` runs it: orders.fifo -> process_order beside the API,
the Orders stream -> notify in a process of its own (devtools/pipeline_processes.py); each
process keeps what a function's first invocation made, as a Lambda container does."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from chalicelib.bootstrap import container
from devtools.pipeline_processes import PipelineProcesses
from tests.localstack import ROOT

WAIT = 30  # seconds; never reached when the test passes


def process_id() -> Callable[[], int]:
    """Run in the stream process: reports which process it is."""
    return os.getpid


def frozen_objects() -> Callable[[], int]:
    """Run in the stream process: reports how many objects its collector has frozen."""
    return gc.get_freeze_count


def delivered(pipeline: PipelineProcesses, count: int) -> bool:
    deadline = time.monotonic() + WAIT
    while pipeline.stats["stream_records"] < count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_notify_reads_the_stream_in_a_process_of_its_own(stack: dict[str, Any]) -> None:
    pipeline = PipelineProcesses(stack["env"], instrument=process_id, stream_start="LATEST", sweep_every=0).start()
    try:
        stream_process = pipeline.stats["stream_report"]
        assert stream_process not in (None, os.getpid())
        assert pipeline.stream_pid == stream_process
        here = {t.name for t in threading.enumerate()}
        assert "orders-stream" not in here, "this process reads no stream"
        assert any(name.startswith("orders-poller") for name in here), "process_order's pollers run here"

        app = container()
        for _ in range(3):  # written here, read there
            app.clients.get("dynamodb").put_item(
                TableName=app.settings.orders_table,
                Item={"order_id": {"S": f"split-{uuid.uuid4()}"}, "note": {"S": "no status"}},
            )
        assert delivered(pipeline, 3)
    finally:
        pipeline.stop()
    assert pipeline.stats["stream_records"] == 3, "once stopped, the counts are the last ones"
    assert not pipeline._process.is_alive()


def test_a_functions_first_invocation_freezes_what_the_process_holds_once():
    """In a process of its own: the first invocation of each function freezes; later ones
    of the same function do not."""
    script = """
import gc
from devtools.lambda_context import warmed

assert gc.get_freeze_count() == 0
warmed("notify")
first = gc.get_freeze_count()
assert first > 0, first
made_since = [[] for _ in range(5000)]
warmed("notify")
assert gc.get_freeze_count() == first, "a function freezes once"
warmed("process_order")
assert gc.get_freeze_count() >= first + 5000, "another function's first invocation freezes what is alive now"
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_the_stream_process_freezes_after_notifys_first_invocation(stack: dict[str, Any]) -> None:
    pipeline = PipelineProcesses(stack["env"], instrument=frozen_objects, stream_start="LATEST", sweep_every=0).start()
    try:
        assert pipeline.stats["stream_report"] == 0, "nothing frozen before notify has run"
        app = container()
        app.clients.get("dynamodb").put_item(
            TableName=app.settings.orders_table,
            Item={"order_id": {"S": f"frozen-{uuid.uuid4()}"}, "note": {"S": "no status"}},
        )
        assert delivered(pipeline, 1)
        assert pipeline.stats["stream_report"] > 10_000, "notify's modules, clients and models"
    finally:
        pipeline.stop()
