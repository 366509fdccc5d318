"""Order writes take turns in a process only against moto as shipped: the emulator devtools/
starts rolls a cancelled transaction back item by item (tests/test_emulator.py), so writes
beside it survive and need no lock."""

from __future__ import annotations

from chalicelib.settings import Settings

EMULATOR = {"AWS_ENDPOINT_URL": "http://127.0.0.1:5600"}


def test_writes_need_no_lock_against_the_local_emulator():
    assert Settings.from_env(EMULATOR).serialize_writes is False
    assert Settings.from_env({}).serialize_writes is False


def test_moto_as_shipped_can_have_them_take_turns():
    assert Settings.from_env({**EMULATOR, "SERIALIZE_WRITES": "true"}).serialize_writes is True
