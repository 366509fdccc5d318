"""``make run``: emulator, provisioning, demo data, event pipeline and the API, in one go.

    python -m devtools.run [--port 8000] [--emulator-port 5000] [--no-api]

Ctrl-C stops everything; the emulator keeps its data in memory only, so the next run
starts clean.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path
from typing import Any

from devtools.emulator import Emulator, client_env
from devtools.seed import DEMO_ACCOUNTS, DEMO_PASSWORD

ENV_FILE = Path(__file__).resolve().parent.parent / ".local" / "stack.env"


def start_stack(emulator_port: int) -> tuple[Emulator, dict[str, str]]:
    """Starts and provisions the emulator, seeds it; returns it and the app's environment."""
    emulator = Emulator(emulator_port).start()
    try:
        os.environ.update(client_env(emulator_port))
        import boto3

        from devtools.provision import provision
        from devtools.seed import seed_accounts

        session = boto3.session.Session()
        env = {**client_env(emulator_port), **provision(session)}
        os.environ.update(env)
        seed_accounts(session, env)
        from devtools.seed_catalog import seed_catalog

        seed_catalog(env)
    except BaseException:
        emulator.stop()
        raise
    return emulator, env


def write_env_file(env: dict[str, str], path: Path = ENV_FILE) -> None:
    path.parent.mkdir(exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in sorted(env.items())))


def banner(port: int, emulator: Emulator) -> str:
    from devtools import api_keys

    accounts = "\n".join(f"    {a.email:<30} {', '.join(a.groups)}" for a in DEMO_ACCOUNTS)
    return (
        f"\nChowline is up.\n"
        f"  API        http://127.0.0.1:{port}  (try /health, /restaurants)\n"
        f"  Emulator   {emulator.url}\n"
        f"  Accounts   password {DEMO_PASSWORD}\n{accounts}\n"
        f"{api_keys.banner_lines()}"
        f"  Sign-up codes: the emulator accepts any code at POST /auth/confirm.\n"
        f"  Ctrl-C stops everything.\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--emulator-port", type=int, default=int(os.environ.get("EMULATOR_PORT", "5000")))
    parser.add_argument("--no-api", action="store_true", help="emulator, data and pipeline only (make emulator)")
    args = parser.parse_args(argv)

    emulator, env = start_stack(args.emulator_port)
    write_env_file(env)
    stop = threading.Event()
    server: Any = None

    def shutdown(*_: object) -> None:
        stop.set()
        if server is not None:
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    from devtools.pipeline import Pipeline

    pipeline = Pipeline(env).start()
    try:
        if args.no_api:
            print(f"Emulator ready on {emulator.url}; environment in {ENV_FILE}", flush=True)
            stop.wait()
        else:
            from devtools.localserver import create_server

            server = create_server("127.0.0.1", args.port)
            print(banner(args.port, emulator), flush=True)
            server.serve_forever()
    finally:
        pipeline.stop()
        emulator.stop()
        print("Chowline stopped.", flush=True)


if __name__ == "__main__":
    main()
