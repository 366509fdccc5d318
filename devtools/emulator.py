"""The embedded AWS emulator as a child process, with fake credentials: moto's server,
patched as devtools/emulator_server.py explains (``patched=False``: moto's server as it
ships, for comparisons)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # DynamoDB Streams endpoints do not take account-based endpoints.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}


# Emulator behaviour that makes it closer to AWS: TOTP codes are checked (moto accepts any
# code otherwise), against the secret AssociateSoftwareToken returns.
EMULATOR_SETTINGS = {"MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP": "true"}


def _die_with_parent() -> None:
    """Linux: the emulator gets SIGTERM when the process that started it dies, however it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def client_env(port: int) -> dict[str, str]:
    """What a process needs in its environment to talk to the emulator on ``port``."""
    return {**FAKE_ENV, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}


# Where the emulator writes this run's private signing key, when a test needs to sign tokens
# with wrong claims on a stack started by another process.
SIGNING_KEY_FILE_VARIABLE = "EMULATOR_SIGNING_KEY_FILE"


class Emulator:
    def __init__(self, port: int = 5000, *, patched: bool = True) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.patched = patched
        self._process: subprocess.Popen[bytes] | None = None
        self._key_dir: str | None = None
        self.signing_key_file: Path | None = None

    def _command(self) -> list[str]:
        address = ["-H", "127.0.0.1", "-p", str(self.port)]
        if not self.patched:
            return [sys.executable, "-m", "moto.server", *address]
        exported = os.environ.get(SIGNING_KEY_FILE_VARIABLE)
        if exported:
            self.signing_key_file = Path(exported)
        else:
            self._key_dir = tempfile.mkdtemp(prefix="chowline-emulator-")  # mode 0700
            self.signing_key_file = Path(self._key_dir) / "signing-key.json"
        return [
            sys.executable,
            "-m",
            "devtools.emulator_server",
            *address,
            "--signing-key-file",
            str(self.signing_key_file),
        ]

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def signing_key(self) -> dict[str, str]:
        """This run's private signing JWK (tests sign tokens with wrong claims with it)."""
        if self.signing_key_file is None:
            raise RuntimeError("moto's own server signs with the key moto ships")
        return json.loads(self.signing_key_file.read_text())

    def start(self, timeout: float = 30.0) -> Emulator:
        if port_in_use(self.port):
            raise RuntimeError(
                f"port {self.port} is taken: stop the other emulator or pick another port (EMULATOR_PORT=...)"
            )
        self._process = subprocess.Popen(
            self._command(),
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, **FAKE_ENV, **EMULATOR_SETTINGS},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the emulator exited with code {self._process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the emulator did not answer on {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None
        if self._key_dir:
            shutil.rmtree(self._key_dir, ignore_errors=True)
            self._key_dir = None
