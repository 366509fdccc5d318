"""The benchmarks' own tools: the unpacked Lambda zip runs with this machine's builds of its
compiled extensions, and the pipeline benchmark counts every AWS call by phase."""

from __future__ import annotations

import importlib.metadata
import sysconfig
import threading
from pathlib import Path

import pytest

SITE = Path(sysconfig.get_paths()["purelib"])
ARM64 = b"\x7fELF arm64 build"


def zipped(code: Path, relative: str, distribution: str, version: str | None = None) -> Path:
    """An arm64 extension as the zip holds it, beside its distribution's metadata."""
    path = code / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ARM64)
    version = version or importlib.metadata.version(distribution)
    (code / f"{distribution}-{version}.dist-info").mkdir(exist_ok=True)
    return path


def test_top_level_and_abi3_extensions_swap_for_this_machines_build(tmp_path):
    from bench.package import native_extensions

    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    zipped(tmp_path, "_cffi_backend.cpython-311-aarch64-linux-gnu.so", "cffi")
    rust = "cryptography/hazmat/bindings/_rust.abi3.so"  # an abi3 name tells no machine
    zipped(tmp_path, rust, "cryptography")

    swapped = native_extensions(tmp_path)

    assert sorted(swapped) == ["_cffi_backend.cpython-311-aarch64-linux-gnu.so", rust]
    assert (tmp_path / f"_cffi_backend{suffix}").read_bytes() == (SITE / f"_cffi_backend{suffix}").read_bytes()
    assert not (tmp_path / "_cffi_backend.cpython-311-aarch64-linux-gnu.so").exists()
    assert (tmp_path / rust).read_bytes() == (SITE / rust).read_bytes()


def test_an_extension_of_another_version_is_refused(tmp_path):
    from bench.package import native_extensions

    zipped(tmp_path, "_cffi_backend.cpython-311-aarch64-linux-gnu.so", "cffi", version="0.0.1")
    with pytest.raises(SystemExit, match="no build of _cffi_backend"):
        native_extensions(tmp_path)


def test_calls_are_counted_by_the_phase_of_the_calling_thread(stack, aws):
    from bench.pipeline import OBSERVER, CallCounter

    db = aws("dynamodb")
    table = stack["env"]["USERS_TABLE"]
    key = {"user_id": {"S": "bench-counter"}}
    counter = CallCounter()
    uninstall = counter.install()
    try:
        db.get_item(TableName=table, Key=key)  # a request thread of the local server
        for name in ("orders-poller-0", "orders-stream-shard_1"):
            thread = threading.Thread(target=db.get_item, kwargs={"TableName": table, "Key": key}, name=name)
            thread.start()
            thread.join()
        OBSERVER.active = True
        db.get_item(TableName=table, Key=key)  # the benchmark's own read
    finally:
        OBSERVER.active = False
        uninstall()
    db.get_item(TableName=table, Key=key)  # after uninstalling

    assert counter.by_phase == {"api": 1, "processing": 1, "notification": 1}
    assert counter.by_call == {"dynamodb.GetItem": 3}
