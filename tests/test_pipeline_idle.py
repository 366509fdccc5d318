"""The local pipeline's stream poller when nothing happens: it reads less and less often,
each read one call to the emulator, and a DynamoDB write made by the app in the same process
wakes it at once, so notifications do not wait for the longest pause. Stopping waits for the
pipeline's threads within one deadline, not one per thread."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from chalicelib.bootstrap import container
from devtools.pipeline import STREAM_IDLE_WAITS, Pipeline

WAIT = 20  # seconds; never reached when the test passes


class RecordedWake:
    """Stands in for the poller's wake event: records each pause asked for, pauses none."""

    def __init__(self, pipe: Pipeline, pauses: int) -> None:
        self.pipe, self.pauses, self.asked = pipe, pauses, []
        self.done = threading.Event()

    def wait(self, timeout: float) -> bool:
        self.asked.append(timeout)
        if len(self.asked) >= self.pauses:
            self.pipe._stop.set()
            self.done.set()
        return False

    def clear(self) -> None:
        pass

    def set(self) -> None:
        pass


def test_an_idle_stream_poller_backs_off_to_its_longest_pause(stack: dict[str, Any]) -> None:
    pipe = Pipeline(stack["env"], stream_start="LATEST", sweep_every=0)
    pipe.prepare()
    wake = pipe._stream_wake = RecordedWake(pipe, pauses=8)  # type: ignore[assignment]
    thread = threading.Thread(target=pipe._poll_stream_forever, daemon=True)
    thread.start()
    assert wake.done.wait(WAIT)
    thread.join(WAIT)
    shortest, longest = STREAM_IDLE_WAITS
    assert wake.asked[0] == shortest
    assert wake.asked == sorted(wake.asked) and wake.asked[-1] == longest
    assert len(wake.asked) > 2, "it paused more than once before the longest pause"


def test_an_idle_read_is_one_call_and_the_next_write_is_read(stack: dict[str, Any]) -> None:
    """Each read goes on from the last one's NextShardIterator, instead of describing the
    stream and asking for an iterator first (three calls)."""
    pipe = Pipeline(stack["env"], stream_start="LATEST", sweep_every=0)
    pipe.prepare()
    calls: list[str] = []
    pipe._client("dynamodbstreams").meta.events.register(
        "before-call.dynamodbstreams", lambda model, **_: calls.append(model.name)
    )
    assert pipe.pump_stream() == 0
    calls.clear()
    assert [pipe.pump_stream() for _ in range(3)] == [0, 0, 0]
    assert calls == ["GetRecords"] * 3
    app = container()
    order_id = f"idle-{uuid.uuid4()}"
    app.clients.get("dynamodb").put_item(
        TableName=app.settings.orders_table, Item={"order_id": {"S": order_id}, "note": {"S": "no status"}}
    )
    calls.clear()
    assert pipe.pump_stream() == 1
    assert calls == ["GetRecords"]


def test_a_write_by_the_app_wakes_the_stream_poller(stack: dict[str, Any]) -> None:
    pipe = Pipeline(stack["env"], stream_start="LATEST", sweep_every=0)
    pipe.prepare()
    app = container()
    dynamodb, table = app.clients.get("dynamodb"), app.settings.orders_table
    dynamodb.get_item(TableName=table, Key={"order_id": {"S": "none"}})
    assert not pipe._stream_wake.is_set(), "a read wakes nothing"
    dynamodb.delete_item(TableName=table, Key={"order_id": {"S": f"none-{uuid.uuid4()}"}})
    assert pipe._stream_wake.is_set()


class HeldThread:
    """A thread held up in a call: ``join`` waits out whatever time it is given."""

    def __init__(self, given: list[float]) -> None:
        self.given = given

    def join(self, timeout: float | None = None) -> None:
        self.given.append(timeout or 0.0)
        threading.Event().wait(timeout)


def test_stopping_waits_for_all_threads_within_one_deadline(stack, monkeypatch):
    import devtools.pipeline

    monkeypatch.setattr(devtools.pipeline, "STOP_MARGIN_S", 0.2)
    pipe = Pipeline(stack["env"], wait_seconds=0, sweep_every=0)
    given: list[float] = []
    pipe._threads = [HeldThread(given) for _ in range(5)]
    pipe.stop()
    assert len(given) == 5 and given[0] <= 0.2
    assert sum(given) <= 0.2  # one deadline for the five, not 0.2 s each
