"""The local pipeline as ``make run`` runs it: orders.fifo -> process_order beside the API,
the Orders stream -> notify in a process of its own (devtools/pipeline_processes.py)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from chalicelib.bootstrap import container
from devtools.pipeline_processes import PipelineProcesses

WAIT = 30  # seconds; never reached when the test passes


def process_id() -> Callable[[], int]:
    """Run in the stream process: reports which process it is."""
    return os.getpid


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
