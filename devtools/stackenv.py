"""The environment file of each local stack: ``.local/stack-<port>.env``, named by the port
of the stack's API (``PORT``), so two stacks from one checkout never share one.

``make run`` writes it once the emulator is provisioned and removes it when it stops; it
records the stack's process id, so a file left by a stack that was killed is ignored.
Tools that talk to a running stack (``make redrive``) pick the one named by ``PORT``, or
the only one running.
"""

from __future__ import annotations

import os
from pathlib import Path

# CHOWLINE_LOCAL_DIR moves them elsewhere: each test worker keeps its stacks to itself.
LOCAL_DIR = Path(os.environ.get("CHOWLINE_LOCAL_DIR") or Path(__file__).resolve().parent.parent / ".local")
PID = "CHOWLINE_STACK_PID"
PORT = "CHOWLINE_STACK_PORT"


class StackNotFound(LookupError):
    """No running stack matches, or several do: the message says what to do."""


def path_for(port: int) -> Path:
    return LOCAL_DIR / f"stack-{port}.env"


def write(env: dict[str, str], port: int) -> Path:
    path = path_for(port)
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {**env, PID: str(os.getpid()), PORT: str(port)}
    path.write_text("".join(f"{k}={v}\n" for k, v in sorted(values.items())))
    return path


def remove(port: int) -> None:
    path = path_for(port)
    if path.exists() and read(path).get(PID) == str(os.getpid()):
        path.unlink()


def read(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def is_running(port: int) -> bool:
    path = path_for(port)
    return path.exists() and _alive(read(path).get(PID, ""))


def running() -> list[Path]:
    """The env files of the stacks running now, by port."""
    files = sorted(LOCAL_DIR.glob("stack-*.env"), key=lambda p: p.stat().st_mtime)
    return [p for p in files if _alive(read(p).get(PID, ""))]


def find(port: int | None = None) -> Path:
    """The env file of the stack on ``port``, or of the only stack running."""
    if port is not None:
        path = path_for(port)
        if not is_running(port):
            raise StackNotFound(
                f"no local stack runs with PORT={port} ({path} is missing or stale): start it with `make run`"
            )
        return path
    live = running()
    if len(live) == 1:
        return live[0]
    if not live:
        raise StackNotFound("no local stack is running: start one with `make run`")
    ports = ", ".join(read(p).get(PORT, "?") for p in live)
    raise StackNotFound(
        f"{len(live)} local stacks are running (PORT={ports}): choose one, e.g. PORT=<port> make redrive"
    )
