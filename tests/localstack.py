"""Runs the real local stack (``python -m devtools.run``) as a subprocess on free ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from devtools.api_keys import DEMO_API_KEYS
from devtools.emulator import SIGNING_KEY_FILE_VARIABLE, free_port

ROOT = Path(__file__).resolve().parent.parent


class LocalStack:
    def __init__(self) -> None:
        self.port = free_port()
        self.emulator_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # What a client application sends: its API key on every request (devtools.api_keys).
        self.http = requests.Session()
        self.http.headers["X-Api-Key"] = DEMO_API_KEYS["web"]
        self.emulator_url = f"http://127.0.0.1:{self.emulator_port}"
        self._process: subprocess.Popen[str] | None = None
        self.log_path = ROOT / ".local" / f"stack-{self.port}.log"
        self._key_dir = tempfile.TemporaryDirectory(prefix="chowline-stack-")
        self.signing_key_file = Path(self._key_dir.name) / "signing-key.json"

    def signing_key(self) -> dict[str, Any]:
        """The private JWK the stack's emulator signs with this run (to mint bad-claim tokens)."""
        return json.loads(self.signing_key_file.read_text())

    def start(self, timeout: float = 60.0, wait: bool = True) -> LocalStack:
        self.log_path.parent.mkdir(exist_ok=True)
        log = self.log_path.open("w")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("PORT", "LOG_FORMAT")}
        env[SIGNING_KEY_FILE_VARIABLE] = str(self.signing_key_file)
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devtools.run",
                "--port",
                str(self.port),
                "--emulator-port",
                str(self.emulator_port),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, as in a terminal: see interrupt()
        )
        if not wait:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the stack exited: {self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/health", timeout=1).status_code == 200:
                    self.started_in = timeout - (deadline - time.monotonic())
                    return self
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the stack did not serve /health within {timeout:.0f} s")

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def log(self) -> str:
        return self.log_path.read_text()

    def wait(self, timeout: float = 30.0) -> int:
        assert self._process is not None
        return self._process.wait(timeout=timeout)

    def interrupt(self, timeout: float = 30.0) -> int:
        """Ctrl-C as a terminal sends it: SIGINT to the whole process group."""
        assert self._process is not None
        os.killpg(self._process.pid, signal.SIGINT)
        try:
            return self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise

    def stop(self) -> int | None:
        if self._process is None:
            return None
        self._process.terminate()
        try:
            return self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            return self._process.wait()
