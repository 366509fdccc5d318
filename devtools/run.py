"""``make run``: emulator, provisioning, demo data, event pipeline and the API, in one go.

    python -m devtools.run [--port 8000] [--emulator-port 5000] [--no-api]

It says what it is doing, one line per step, then logs one line per request and per queue
or stream batch. Ctrl-C stops everything quietly; so does the emulator's death, with a
message and exit code 1 (every route would be a 503 without it). The emulator keeps its
data in memory only, so the next run starts clean. The stack's environment is written to
``.local/stack-<port>.env`` while it runs (devtools/stackenv.py).
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import socket
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any, Protocol

from devtools import stackenv
from devtools.emulator import Emulator, client_env, port_in_use
from devtools.seed import DEMO_ACCOUNTS, DEMO_PASSWORD

log = logging.getLogger("chowline.run")


class StackError(RuntimeError):
    """The stack cannot start or keep running: the message says why and what to do."""


class Service(Protocol):
    def stop(self) -> None: ...


def say(text: str) -> None:
    print(f"· {text}", flush=True)


def start_stack(emulator_port: int, step: Callable[[str], None] = lambda _: None) -> tuple[Emulator, dict[str, str]]:
    """Starts and provisions the emulator, seeds it; returns it and the app's environment."""
    step(f"Starting the AWS emulator on 127.0.0.1:{emulator_port}")
    emulator = Emulator(emulator_port).start()
    try:
        os.environ.update(client_env(emulator_port))
        import boto3

        from devtools.provision import provision
        from devtools.seed import seed_accounts

        step("Provisioning it from infra/template.json (tables, queues, topic, bucket, user pool)")
        session = boto3.session.Session()
        env = {**client_env(emulator_port), **provision(session)}
        os.environ.update(env)
        step(f"Creating the demo accounts (password {DEMO_PASSWORD})")
        seed_accounts(session, env)
        from devtools.seed_catalog import seed_catalog

        step("Seeding the demo restaurants and menus")
        seed_catalog(env)
    except BaseException:
        emulator.stop()
        raise
    return emulator, env


def start_pipeline(env: dict[str, str], args: argparse.Namespace) -> Service:
    from devtools.pipeline_processes import PipelineProcesses

    return PipelineProcesses(env, instrument=getattr(args, "instrument", None)).start()


def start_websocket(env: dict[str, str], args: argparse.Namespace) -> Service:
    from devtools.websocket_bridge import start_bridge

    bridge = start_bridge(args.port)  # the WebSocket API: sets WS_URL and WEBSOCKET_ENDPOINT
    env.update(bridge.env)
    return bridge


# What runs beside the API, started in this order once the emulator is seeded and stopped
# in reverse: (what the step line says, how to start it).
BACKGROUND: list[tuple[str, Callable[[dict[str, str], argparse.Namespace], Service]]] = [
    ("Serving the WebSocket API (the live channel) and its management endpoint", start_websocket),
    (
        "Starting the event pipeline: orders.fifo → process_order, sweeper; Orders stream → notify (its own process)",
        start_pipeline,
    ),
]


class EmulatorWatch:
    """Calls ``on_death`` once when nothing listens on the emulator's port any more (a
    refused connection, twice in a row; a slow or busy emulator is alive)."""

    def __init__(self, port: int, on_death: Callable[[], None], every: float = 0.5) -> None:
        self._port = port
        self._on_death = on_death
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="emulator-watch", daemon=True)

    def start(self) -> EmulatorWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _refused(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(2)
            return sock.connect_ex(("127.0.0.1", self._port)) == errno.ECONNREFUSED

    def _watch(self) -> None:
        refusals = 0
        while not self._stop.wait(self._every):
            refusals = refusals + 1 if self._refused() else 0
            if refusals >= 2:
                self._on_death()
                return


def banner(port: int, emulator: Emulator) -> str:
    from devtools import api_keys

    accounts = "\n".join(f"    {a.email:<30} {', '.join(a.groups)}" for a in DEMO_ACCOUNTS)
    return (
        f"\nChowline is up.\n"
        f"  Web app    http://127.0.0.1:{port}/\n"
        f"  API        http://127.0.0.1:{port}  (also under /api/; try /health, /ready, /restaurants)\n"
        f"  WebSocket  {os.environ.get('WS_URL', '')}/?token=<ID token>\n"
        f"  Emulator   {emulator.url}\n"
        f"  Accounts   password {DEMO_PASSWORD}\n{accounts}\n"
        f"{api_keys.banner_lines()}"
        f"  Sign-up codes: the emulator accepts any code at POST /auth/confirm.\n"
        f"  Environment: {stackenv.path_for(port)}\n"
        f"  Ctrl-C stops everything.\n"
    )


def check_ports(args: argparse.Namespace) -> None:
    if stackenv.is_running(args.port):  # `make emulator` binds no API port, but names its file by it
        raise StackError(
            f"a local stack with PORT={args.port} is already running ({stackenv.path_for(args.port)}): "
            f"stop it, or choose another port, e.g. PORT={args.port + 1} make emulator"
        )
    wanted = [] if args.no_api else [(args.port, "PORT", "the API")]
    wanted.append((args.emulator_port, "EMULATOR_PORT", "the emulator"))
    for port, variable, what in wanted:
        if port_in_use(port):
            raise StackError(
                f"port {port} (for {what}) is already in use, perhaps by another `make run`: "
                f"stop it, or choose another port, e.g. {variable}={port + 1} make run"
            )


def configure_logging() -> None:
    # The app's own logs: one compact line each (JSON stays the format on AWS).
    os.environ.setdefault("LOG_FORMAT", "compact")
    warnings.filterwarnings("ignore", message="POWERTOOLS_DEV environment variable is enabled")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)-20s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    check_ports(args)
    emulator, env = start_stack(args.emulator_port, say)
    if not args.no_api:  # uploaded images are served by the local server under /assets/
        from devtools.webroot import assets_base_url

        os.environ.setdefault("ASSETS_BASE_URL", assets_base_url("127.0.0.1", args.port))
        from devtools.api_keys import hand_out_web_key

        hand_out_web_key()  # before the pipeline builds the app's container in this process
    services: list[Service] = []
    server: Any = None
    watch: EmulatorWatch | None = None
    stopped = threading.Event()
    outcome = {"code": 0}

    def emulator_died() -> None:
        print(
            f"\nThe AWS emulator on port {args.emulator_port} has exited; every route would be a 503 now. "
            "Stopping. Start again with `make run`.",
            file=sys.stderr,
            flush=True,
        )
        outcome["code"] = 1
        stopped.set()
        if server is not None:
            server.server.shutdown()  # serve_forever returns in the main thread

    try:
        for step, start in BACKGROUND:
            say(step)
            services.append(start(env, args))
        stackenv.write(env, args.port)
        watch = EmulatorWatch(args.emulator_port, emulator_died).start()
        if args.no_api:
            say(f"Ready: the emulator on {emulator.url}; the environment in {stackenv.path_for(args.port)}")
            while not stopped.wait(0.5):
                pass
        else:
            from devtools.localserver import create_server

            say(f"Serving the API on http://127.0.0.1:{args.port}")
            try:
                server = create_server("127.0.0.1", args.port)
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                raise StackError(
                    f"port {args.port} (for the API) is already in use: choose another, e.g. PORT={args.port + 1} make run"
                ) from None
            print(banner(args.port, emulator), flush=True)
            if not stopped.is_set():
                server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C while stopping would only leave things half stopped.
        for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(stop_signal, signal.SIG_IGN)
        print("\nStopping…", flush=True)
        if watch is not None:
            watch.stop()
        if server is not None:
            server.server.server_close()
        for service in reversed(services):
            service.stop()
        emulator.stop()
        stackenv.remove(args.port)
        print("Chowline stopped.", flush=True)
    return outcome["code"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or "8000"))
    parser.add_argument("--emulator-port", type=int, default=int(os.environ.get("EMULATOR_PORT") or "5000"))
    parser.add_argument("--no-api", action="store_true", help="emulator, data and pipeline only (make emulator)")
    args = parser.parse_args(argv)
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):  # kill, a closed terminal: as Ctrl-C
        signal.signal(stop_signal, _interrupt)
    configure_logging()
    try:
        return run(args)
    except KeyboardInterrupt:
        print("\nChowline stopped.", flush=True)
        return 0
    except StackError as error:
        print(f"make run: {error}", file=sys.stderr, flush=True)
        return 1
    except RuntimeError as error:  # the emulator would not start: its message says why
        print(f"make run: {error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
