"""Shared fixtures: one AWS emulator per test session, provisioned from infra/ exactly as
``make run`` does, and the app pointed at it. Tests isolate themselves with fresh ids."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# moto's clients must not see real credentials or a real endpoint, whatever the shell has.
from devtools.emulator import Emulator, client_env, free_port

ROOT = Path(__file__).resolve().parent.parent
# The stacks a test starts register in a folder of their own per worker (devtools/stackenv.py),
# so a test that counts the running stacks sees only its own, whatever runs beside it.
os.environ["CHOWLINE_LOCAL_DIR"] = str(ROOT / ".local" / f"tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "spread: under xdist, each test of the module may run on any worker (each sets the module up)"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``make test``'s workers (pytest-xdist, ``--dist loadgroup``) a test file is one unit
    of work, so its module fixtures (a local stack, a packaged template) are built once; a
    module marked ``spread`` gives each of its tests to whichever worker is free instead,
    and runs first, so its long tests start while the short files fill the gaps."""
    for item in items:
        if not item.get_closest_marker("spread") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    items.sort(key=lambda item: item.get_closest_marker("spread") is None)


def local_stage_env() -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return config["stages"]["local"]["environment_variables"]


@pytest.fixture(scope="session")
def stack() -> Iterator[dict[str, Any]]:
    port = free_port()
    emulator = Emulator(port).start()
    os.environ.update(client_env(port))
    import boto3

    from devtools.localserver import install_token_passthrough
    from devtools.provision import provision
    from devtools.seed import seed_accounts
    from devtools.seed_catalog import seed_catalog

    session = boto3.session.Session()
    env = {**client_env(port), **provision(session), **local_stage_env()}
    os.environ.update(env)
    users = seed_accounts(session, env)
    seed_catalog(env)
    install_token_passthrough()
    from chalicelib import bootstrap

    bootstrap.reset()
    yield {"env": env, "session": session, "users": users, "emulator": emulator}
    emulator.stop()


@pytest.fixture(scope="session")
def aws(stack: dict[str, Any]) -> Callable[[str], Any]:
    """``aws("dynamodb")``: a boto3 client on the emulator, for arranging and asserting."""
    clients: dict[str, Any] = {}

    def get(service: str) -> Any:
        if service not in clients:
            clients[service] = stack["session"].client(service)
        return clients[service]

    return get


@pytest.fixture(scope="session")
def client(stack: dict[str, Any]) -> Iterator[Any]:
    from chalice.test import Client

    import app as app_module

    with Client(app_module.app, stage_name="local", project_dir=str(ROOT)) as test_client:
        yield test_client


def login(stack: dict[str, Any], email: str, password: str) -> dict[str, Any]:
    idp = stack["session"].client("cognito-idp")
    out = idp.initiate_auth(
        ClientId=stack["env"]["USER_POOL_CLIENT_ID"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return out["AuthenticationResult"]


@pytest.fixture(scope="session")
def token_for(stack: dict[str, Any]) -> Callable[[str], str]:
    """``token_for("customer")``: the ID token of a demo account (cached for the session)."""
    from devtools.seed import DEMO_PASSWORD

    cache: dict[str, str] = {}

    def get(who: str) -> str:
        email = who if "@" in who else f"{who}@demo.chowline.dev"
        if email not in cache:
            cache[email] = login(stack, email, DEMO_PASSWORD)["IdToken"]
        return cache[email]

    return get


@pytest.fixture(scope="session")
def headers_for(token_for: Callable[[str], str]) -> Callable[..., dict[str, str]]:
    def make(who: str | None = None, **extra: str) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **extra}
        if who:
            headers["Authorization"] = f"Bearer {token_for(who)}"
        return headers

    return make


@pytest.fixture(scope="session")
def new_user(stack: dict[str, Any], token_for: Callable[[str], str]) -> Callable[..., tuple[str, str]]:
    """Creates a confirmed user in ``groups``; returns ``(user_id, email)``."""
    from devtools.seed import DemoAccount, create_user

    def make(*groups: str) -> tuple[str, str]:
        email = f"user-{uuid.uuid4().hex[:10]}@test.chowline.dev"
        user_id = create_user(stack["session"], stack["env"], DemoAccount(email, "Test User", groups or ("customers",)))
        return user_id, email

    return make
