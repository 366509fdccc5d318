"""The event pipeline of ``make run`` in two processes, as Lambda runs each function in
containers of its own: orders.fifo -> ``process_order`` and the sweeper beside the API, the
Orders stream -> ``notify`` in a process of its own.

One process has one interpreter lock. With the whole pipeline beside the API, a lunch rush
kept that lock busy (0.8 of a core for the API and process_order) and notify, which waits on
the emulator for each of its calls, fell hundreds of records behind: the last orders'
notifications came seconds after their confirmation. In a process of its own notify keeps
up better (it still trails a rush by a second or two on 2 cores: README, "Benchmarks").

The two share an Event: a DynamoDB write in this process wakes the idle stream poller there,
as one in its own process does. The stream process ignores Ctrl-C (the terminal sends it to
the whole process group) and stops when told, or when this process is gone.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from devtools.pipeline import Pipeline

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


class PipelineProcesses:
    """``stats`` as a single Pipeline's, the stream's counts from its process. ``instrument``
    (a module-level function, run in the stream process before it starts) returns what
    reports from there: its report is ``stats["stream_report"]`` (the benchmark counts the
    stream process's AWS calls this way)."""

    def __init__(
        self, env: dict[str, str], *, instrument: Callable[[], Callable[[], Any]] | None = None, **options: Any
    ) -> None:
        """``options``: Pipeline's, for both processes."""
        self._env = env
        self._instrument = instrument
        self._options = options
        self._local: Pipeline | None = None
        self._process: Any = None
        self._conn: Any = None
        self._lock = threading.Lock()
        self._running = False
        self._stream: dict[str, Any] = {"stream_records": 0, "report": None}

    def start(self) -> PipelineProcesses:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or locks copied
        wake = context.Event()
        self._conn, theirs = context.Pipe()
        self._process = context.Process(
            target=serve_stream,
            args=(self._env, wake, theirs, self._instrument, self._options),
            name="notify",
            daemon=True,
        )
        self._process.start()
        theirs.close()
        try:
            self._local = Pipeline(self._env, sources=("queue", "sweep"), stream_wake=wake, **self._options).start()
            if not self._conn.poll(READY_TIMEOUT_S) or self._conn.recv() != "ready":
                raise RuntimeError(f"the stream process did not start within {READY_TIMEOUT_S:.0f} s")
            self._running = True
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def stream_pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def stats(self) -> dict[str, Any]:
        """Once stopped, the stream's counts as they were at the end."""
        local = dict(self._local.stats) if self._local else {}
        with self._lock:
            if self._running:
                self._conn.send("stats")
                self._stream = self._conn.recv()
        return {**local, "stream_records": self._stream["stream_records"], "stream_report": self._stream["report"]}

    def stop(self) -> None:
        if self._running:
            try:
                _ = self.stats
                with self._lock:
                    self._running = False
                    self._conn.send("stop")
            except (OSError, EOFError):  # it is gone already
                self._running = False
        if self._local is not None:
            self._local.stop()
        if self._process is not None:
            self._process.join(STOP_TIMEOUT_S)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(STOP_TIMEOUT_S)
        if self._conn is not None:
            self._conn.close()


def serve_stream(
    env: dict[str, str],
    wake: Any,
    conn: Any,
    instrument: Callable[[], Callable[[], Any]] | None,
    options: dict[str, Any],
) -> None:
    """The stream process: the Orders stream -> notify until told to stop (or the parent's
    end of the pipe closes); answers "stats" with the stream's counts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it, once
    os.environ.update(env)
    from devtools.run import configure_logging

    configure_logging()
    report = instrument() if instrument else None
    pipeline = Pipeline(env, sources=("stream",), stream_wake=wake, **options).start()
    conn.send("ready")
    try:
        while True:
            try:
                command = conn.recv()
            except (EOFError, OSError):
                break
            if command != "stats":
                break
            conn.send({"stream_records": pipeline.stats["stream_records"], "report": report() if report else None})
    finally:
        pipeline.stop()
