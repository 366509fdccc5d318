"""The benchmarks' own tools: the unpacked Lambda zip runs with this machine's builds of its
compiled extensions, and the pipeline benchmark counts every AWS call by phase."""

from __future__ import annotations

import importlib.metadata
import sysconfig
import threading
from pathlib import Path
from typing import Any

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


def test_the_pipeline_clients_keep_their_connection_and_open_one_again_once_it_is_closed():
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from bench.pipeline import ApiClient

    seen: list[tuple[int, str, str, Any]] = []

    class Echo(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            seen.append((self.client_address[1], self.command, self.path, body))
            data = json.dumps({"key": self.headers.get("X-Api-Key"), "idem": self.headers.get("Idempotency-Key")})
            self.send_response(202 if self.command == "POST" else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if len(seen) == 2:  # the server ends this connection after its answer
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data.encode())

        do_GET = do_POST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = ApiClient(f"http://127.0.0.1:{server.server_address[1]}", {"X-Api-Key": "k"})
    try:
        placed = api.call("POST", "/orders", {"items": [1]}, {"Idempotency-Key": "i-1"})
        read = api.call("GET", "/orders/o-1")
        again = api.call("GET", "/orders/o-1")
    finally:
        api.close()
        server.shutdown()

    assert placed == (202, {"key": "k", "idem": "i-1"})
    assert read == again == (200, {"key": "k", "idem": None})
    assert [(method, path, body) for _, method, path, body in seen] == [
        ("POST", "/orders", {"items": [1]}),
        ("GET", "/orders/o-1", None),
        ("GET", "/orders/o-1", None),
    ]
    connections = [connection for connection, *_ in seen]
    assert connections[0] == connections[1] != connections[2], "kept for the second call, a new one after the close"
