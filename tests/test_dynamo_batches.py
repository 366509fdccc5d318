"""Batch reads and writes under throttling: DynamoDB answers with what it left unprocessed
(the emulator never does, so a client that throttles stands in for it here)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.dynamo import BATCH_ATTEMPTS, batch_get, batch_write
from chalicelib.domain.errors import ServiceUnavailable


class Throttling:
    """Answers each batch call with its first request processed and the rest left over,
    for ``times`` calls, then processes everything."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.calls: list[dict[str, Any]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(RequestItems)
        keys = RequestItems["t"]["Keys"]
        if len(self.calls) <= self.times:
            return {"Responses": {"t": keys[:1]}, "UnprocessedKeys": {"t": {"Keys": keys[1:]}}}
        return {"Responses": {"t": keys}, "UnprocessedKeys": {}}

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(RequestItems)
        if len(self.calls) <= self.times:
            return {"UnprocessedItems": {"t": RequestItems["t"][1:]}}
        return {"UnprocessedItems": {}}


KEYS = [{"id": {"S": str(n)}} for n in range(5)]


def test_a_read_asks_again_for_what_was_left_and_returns_everything():
    db = Throttling(times=2)
    found = batch_get(db, {"t": {"Keys": KEYS}}, "The store")
    assert found == {"t": KEYS}
    assert [len(call["t"]["Keys"]) for call in db.calls] == [5, 4, 3]


def test_a_write_sends_again_only_what_was_left():
    db = Throttling(times=1)
    batch_write(db, {"t": [{"PutRequest": {"Item": k}} for k in KEYS]}, "The store")
    assert [len(call["t"]) for call in db.calls] == [5, 4]


@pytest.mark.parametrize("call", [batch_get, batch_write])
def test_keys_left_after_every_attempt_are_a_503_never_a_shorter_answer(call):
    db = Throttling(times=BATCH_ATTEMPTS)
    requests: dict[str, Any] = (
        {"t": {"Keys": KEYS}} if call is batch_get else {"t": [{"PutRequest": {"Item": k}} for k in KEYS]}
    )
    with pytest.raises(ServiceUnavailable, match="The store is busy"):
        call(db, requests, "The store")
    assert len(db.calls) == BATCH_ATTEMPTS
