"""The event sources ``chalice local`` lacks (filled in by the orders work)."""

from __future__ import annotations


class Pipeline:
    def __init__(self, env: dict[str, str]) -> None:
        self._env = env

    def start(self) -> Pipeline:
        return self

    def stop(self) -> None:
        return None
