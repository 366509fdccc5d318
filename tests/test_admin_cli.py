"""The operator commands of a first deployment (devtools/admin.py) against the emulator:
the first admin, finding users, and seeding real restaurants with their owners."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devtools import admin
from devtools.seed import DEMO_PASSWORD


def command(stack: dict[str, Any], *argv: str) -> Any:
    return admin.run(admin.parser().parse_args(list(argv)), stack["session"], stack["env"])


def fresh_email(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:10]}@ops.chowline.dev"


def set_password(stack: dict[str, Any], email: str) -> None:
    """What the invitee does at the first sign-in with the e-mailed temporary password."""
    stack["session"].client("cognito-idp").admin_set_user_password(
        UserPoolId=stack["env"]["USER_POOL_ID"], Username=email, Password=DEMO_PASSWORD, Permanent=True
    )


def test_create_admin_invites_a_user_who_can_then_add_restaurants(
    stack: dict[str, Any], client: Any, headers_for: Callable[..., dict[str, str]]
) -> None:
    email = fresh_email("admin")
    created = command(stack, "create-admin", email, "--name", "First Admin")
    assert created["groups"] == ["admins", "customers"]
    assert created["status"] == "FORCE_CHANGE_PASSWORD"  # the invitation's temporary password
    assert command(stack, "create-admin", email) == created  # repeatable: found, not duplicated
    assert command(stack, "find-user", email)["user_id"] == created["user_id"]

    set_password(stack, email)
    profile = client.http.get("/users/me", headers=headers_for(email))
    assert profile.status_code == 200
    assert json.loads(profile.body)["name"] == "First Admin"
    owner = command(stack, "find-user", "owner@demo.chowline.dev")
    body = {
        "name": "Ops Diner",
        "city": "Lisbon",
        "cuisine": "portuguese",
        "address": "1 Rua Nova",
        "owner_id": owner["user_id"],
    }
    response = client.http.post("/restaurants", headers=headers_for(email), body=json.dumps(body))
    assert response.status_code == 201, response.body


def test_an_invited_courier_goes_on_shift(
    stack: dict[str, Any], client: Any, headers_for: Callable[..., dict[str, str]]
) -> None:
    email = fresh_email("courier")
    invited = command(stack, "invite-courier", email, "--name", "New Courier")
    assert invited["groups"] == ["couriers", "customers"]
    set_password(stack, email)
    shift = client.http.put("/couriers/me", headers=headers_for(email), body=json.dumps({"available": True}))
    assert shift.status_code == 200 and json.loads(shift.body)["courier_id"] == invited["user_id"]


def test_find_user_of_an_unknown_email_fails_clearly(stack: dict[str, Any]) -> None:
    with pytest.raises(SystemExit, match="no user signed up"):
        command(stack, "find-user", fresh_email("nobody"))


def test_add_restaurant_needs_an_existing_owner(stack: dict[str, Any]) -> None:
    with pytest.raises(SystemExit, match="invite the owner first"):
        command(
            stack, "add-restaurant", "--owner-email", fresh_email("ghost"),
            "--name", "Nowhere", "--city", "Porto", "--cuisine", "pizza", "--address", "2 Rua",
        )  # fmt: skip


def test_seed_restaurants_invites_the_owners_and_serves_the_menus(
    stack: dict[str, Any], client: Any, tmp_path: Path
) -> None:
    owner_email = fresh_email("owner")
    entries = [
        {
            "owner_email": owner_email,
            "owner_name": "Rita Owner",
            "name": "Tasca da Rita",
            "city": "Porto",
            "cuisine": "portuguese",
            "address": "5 Rua das Flores",
            "products": [{"name": "Francesinha", "price_cents": 1250}, {"name": "Caldo verde", "price_cents": 450}],
        }
    ]
    seed_file = tmp_path / "restaurants.json"
    seed_file.write_text(json.dumps(entries))
    [added] = command(stack, "seed-restaurants", str(seed_file))

    owner = command(stack, "find-user", owner_email)
    assert owner["groups"] == ["customers", "restaurant_owners"]
    restaurant = json.loads(client.http.get(f"/restaurants/{added['restaurant_id']}").body)
    assert restaurant["name"] == "Tasca da Rita"
    assert added["owner_id"] == owner["user_id"] and added["products"] == 2
    menu = json.loads(client.http.get(f"/restaurants/{added['restaurant_id']}/products").body)
    assert sorted(p["name"] for p in menu["items"]) == ["Caldo verde", "Francesinha"]


def test_the_cli_reads_the_local_stacks_environment_file(
    stack: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = tmp_path / "stack.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in stack["env"].items()))
    admin.main(["--env", str(env_file), "find-user", "admin@demo.chowline.dev"])
    printed = json.loads(capsys.readouterr().out)
    assert printed["email"] == "admin@demo.chowline.dev" and "admins" in printed["groups"]
