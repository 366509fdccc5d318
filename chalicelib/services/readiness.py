"""Readiness: whether every store the API uses answers now (``GET /ready``).

``/health`` is the liveness probe and calls nothing. Readiness runs every store's probe at
once and keeps the verdict for a few seconds, so however often it is asked (it is public),
each container probes at most once per interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.operations import Readiness

log = logging.getLogger(__name__)
Probe = Callable[[], None]


class NotReady(ServiceUnavailable):
    type = "not-ready"
    title = "Not ready"


class ReadinessService:
    def __init__(
        self,
        probes: Mapping[str, Probe],
        version: str,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.probes = dict(probes)
        self._version = version
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._verdict: tuple[float, list[str]] | None = None

    def check(self) -> Readiness:
        """Every store's name and "ok"; NotReady (a 503) naming the stores that failed."""
        with self._lock:
            if self._verdict is None or self._clock() - self._verdict[0] >= self._cache_seconds:
                self._verdict = (self._clock(), self._failing())
            failing = self._verdict[1]
        if failing:
            raise NotReady(f"Not ready: {', '.join(failing)} did not answer; retry shortly")
        return Readiness(status="ready", version=self._version, checks=dict.fromkeys(self.probes, "ok"))

    def _failing(self) -> list[str]:
        from concurrent.futures import ThreadPoolExecutor

        from botocore.exceptions import BotoCoreError, ClientError

        def run(name: str) -> str | None:
            try:
                self.probes[name]()
                return None
            except (ClientError, BotoCoreError) as error:  # unreachable, missing, denied, throttled
                log.warning("readiness probe failed", extra={"store": name, "error": type(error).__name__})
                return name

        with ThreadPoolExecutor(max_workers=len(self.probes) or 1) as pool:
            return [name for name in pool.map(run, self.probes) if name]
