"""A small in-process TTL cache for hot, public catalog reads.

It lives as long as the Lambda container (warm invocations hit it without any AWS call).
Entries carry tags so a write can drop everything it made stale in this process; other
containers see the change when their entries expire (``ttl_seconds``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

Value = TypeVar("Value")


class TtlCache:
    def __init__(
        self, ttl_seconds: float, max_entries: int = 2048, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, Any, tuple[str, ...]]] = {}
        self._tagged: dict[str, set[Hashable]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    def get(self, key: Hashable) -> Any:
        """The cached value, or ``None`` when absent or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            with self._lock:
                self._drop(key)
            return None
        return entry[1]

    def put(self, key: Hashable, value: Any, tags: Iterable[str] = ()) -> None:
        if not self.enabled:
            return
        tags = tuple(tags)
        with self._lock:
            self._drop(key)
            while len(self._entries) >= self._max:
                self._drop(next(iter(self._entries)))  # the oldest insertion goes first
            self._entries[key] = (self._clock() + self._ttl, value, tags)
            for tag in tags:
                self._tagged.setdefault(tag, set()).add(key)

    def get_or_load(self, key: Hashable, load: Callable[[], Value], tags: Iterable[str] = ()) -> Value:
        value = self.get(key)
        if value is None:
            value = load()
            if value is not None:
                self.put(key, value, tags)
        return value

    def invalidate(self, *tags: str) -> None:
        with self._lock:
            for tag in tags:
                for key in self._tagged.pop(tag, set()):
                    self._drop(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._tagged.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for tag in entry[2]:
            keys = self._tagged.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._tagged[tag]
