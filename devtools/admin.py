"""Operator commands for a stage: the first admin, finding users, restaurant owners and
their restaurants (docs/deploy.md, "First production deployment").

    python -m devtools.admin [--stack chowline-prod | --env .local/stack.env] COMMAND ...

    create-admin EMAIL [--name NAME]    invites EMAIL as an admin (Cognito e-mails a temporary password)
    invite-owner EMAIL --name NAME      invites a restaurant owner the same way
    invite-courier EMAIL --name NAME    invites a courier the same way (they go on shift in the app)
    find-user EMAIL                     prints the user's id (the Cognito sub), e-mail and groups
    add-restaurant --owner-email EMAIL --name N --city C --cuisine K --address A
    seed-restaurants FILE.json          a list of {"owner_email", "owner_name", "name", "city",
                                        "cuisine", "address", "products": [{"name", "price_cents", ...}]}

The commands run with the operator's AWS credentials, not with a user's token. Restaurants
and products go through the same catalog service (and validation) as ``POST /restaurants``,
acting as an admin. ``--stack`` reads the stage's resources from its CloudFormation outputs;
``--env`` reads the environment file of the local stack (``make run`` writes it). Every
command prints one JSON line and can be repeated: an existing user is found, not duplicated.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from chalicelib.domain.principal import ADMINS, COURIERS, RESTAURANT_OWNERS

ENV_FILE = Path(__file__).resolve().parent.parent / ".local" / "stack.env"
CLIENT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")


class Admin:
    """The operator's view of one stage: its user pool and the app's services."""

    def __init__(self, session: Any, env: Mapping[str, str]) -> None:
        self._env = dict(env)
        self._idp = session.client("cognito-idp")
        self._pool = env["USER_POOL_ID"]

    # --- users ---------------------------------------------------------------------------

    def find_user(self, email: str) -> dict[str, Any] | None:
        """``{user_id, email, name, status, groups}`` of the user signed up with ``email``."""
        try:
            user = self._idp.admin_get_user(UserPoolId=self._pool, Username=email)
        except self._idp.exceptions.UserNotFoundException:
            return None
        attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
        groups = self._idp.admin_list_groups_for_user(UserPoolId=self._pool, Username=email)["Groups"]
        return {
            "user_id": attributes["sub"],
            "email": attributes.get("email", email),
            "name": attributes.get("name", ""),
            "status": user["UserStatus"],
            "groups": sorted(g["GroupName"] for g in groups),
        }

    def invite(self, email: str, name: str, *groups: str) -> dict[str, Any]:
        """Creates the user (Cognito e-mails the invitation with a temporary password, to be
        changed at the first sign-in) and its profile unless it exists, and adds it to
        ``customers`` and ``groups``. An existing user keeps its name and password."""
        new = self.find_user(email) is None
        if new:
            self._idp.admin_create_user(
                UserPoolId=self._pool,
                Username=email,
                DesiredDeliveryMediums=["EMAIL"],
                UserAttributes=[
                    {"Name": "email", "Value": email},
                    {"Name": "email_verified", "Value": "true"},
                    {"Name": "name", "Value": name},
                ],
            )
        user = self.find_user(email)
        assert user is not None
        if new:  # as every way of signing up ends: in customers, with a profile
            attributes = {"sub": user["user_id"], "email": email, "name": name}
            self._services.sign_up_completion.complete(self._pool, email, attributes)
        for group in groups:
            self._idp.admin_add_user_to_group(UserPoolId=self._pool, Username=email, GroupName=group)
        user = self.find_user(email)
        assert user is not None
        return user

    # --- restaurants ---------------------------------------------------------------------

    def add_restaurant(self, owner_email: str, **fields: Any) -> dict[str, Any]:
        """Adds a restaurant owned by the user with ``owner_email`` (who joins the owners)."""
        from chalicelib.domain import catalog
        from chalicelib.domain.principal import Principal

        owner = self.find_user(owner_email)
        if owner is None:
            raise SystemExit(f"no user signed up with {owner_email}: invite the owner first (invite-owner)")
        products = fields.pop("products", [])
        command = catalog.RestaurantCreate.model_validate({**fields, "owner_id": owner["user_id"]})
        service = self._services.catalog
        restaurant = service.create_restaurant(self._operator(), command)
        # The menu is the owner's to keep: added as the owner, whose account has a profile.
        owner_principal = Principal(user_id=owner["user_id"], email=owner_email, roles=frozenset({RESTAURANT_OWNERS}))
        for product in products:
            service.add_product(
                owner_principal, restaurant.restaurant_id, catalog.ProductCreate.model_validate(product)
            )
        return {**restaurant.model_dump(mode="json"), "products": len(products)}

    def seed_restaurants(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        added = []
        for entry in entries:
            entry = dict(entry)
            owner_email, owner_name = entry.pop("owner_email"), entry.pop("owner_name", "")
            self.invite(owner_email, owner_name or owner_email, RESTAURANT_OWNERS)
            added.append(self.add_restaurant(owner_email, **entry))
        return added

    def _operator(self) -> Any:
        from chalicelib.domain.principal import Principal

        return Principal(user_id="operator", email="", roles=frozenset({ADMINS}))

    @cached_property
    def _services(self) -> Any:
        from chalicelib.bootstrap import Container
        from chalicelib.settings import Settings

        return Container(Settings.from_env({**os.environ, **self._env}))


def stack_env(session: Any, stack_name: str) -> dict[str, str]:
    """The app's environment for a deployed stage, from its stack's outputs."""
    from devtools.provision import environment

    stack = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    stage = next((p["ParameterValue"] for p in stack.get("Parameters", []) if p["ParameterKey"] == "Stage"), "prod")
    return environment(outputs, stage)


def env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        raise SystemExit(f"{path} does not exist: start the local stack (make run) or pass --stack")
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = top.add_mutually_exclusive_group()
    where.add_argument("--stack", help="the stage's CloudFormation stack (e.g. chowline-prod)")
    where.add_argument("--env", type=Path, default=None, help=f"an environment file (default: {ENV_FILE})")
    commands = top.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("create-admin", help="invite an admin")
    admin.add_argument("email")
    admin.add_argument("--name", default="Administrator")
    owner = commands.add_parser("invite-owner", help="invite a restaurant owner")
    owner.add_argument("email")
    owner.add_argument("--name", required=True)
    courier = commands.add_parser("invite-courier", help="invite a courier (they go on shift in the app)")
    courier.add_argument("email")
    courier.add_argument("--name", required=True)
    find = commands.add_parser("find-user", help="a user's id and groups, by e-mail")
    find.add_argument("email")
    restaurant = commands.add_parser("add-restaurant", help="a restaurant for an existing owner")
    restaurant.add_argument("--owner-email", required=True)
    for name in ("name", "city", "cuisine", "address"):
        restaurant.add_argument(f"--{name}", required=True)
    seed = commands.add_parser("seed-restaurants", help="restaurants, their owners and menus from a JSON file")
    seed.add_argument("file", type=Path)
    return top


def run(args: argparse.Namespace, session: Any, env: Mapping[str, str]) -> Any:
    admin = Admin(session, env)
    if args.command == "create-admin":
        return admin.invite(args.email, args.name, ADMINS)
    if args.command == "invite-owner":
        return admin.invite(args.email, args.name, RESTAURANT_OWNERS)
    if args.command == "invite-courier":
        return admin.invite(args.email, args.name, COURIERS)
    if args.command == "find-user":
        user = admin.find_user(args.email)
        if user is None:
            raise SystemExit(f"no user signed up with {args.email}")
        return user
    if args.command == "add-restaurant":
        fields = {k: getattr(args, k) for k in ("name", "city", "cuisine", "address")}
        return admin.add_restaurant(args.owner_email, **fields)
    return admin.seed_restaurants(json.loads(args.file.read_text()))


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    import boto3

    if args.stack:
        session = boto3.session.Session()
        env = stack_env(session, args.stack)
    else:
        env = env_file(args.env or ENV_FILE)
        for name in CLIENT_VARIABLES:
            if name in env:
                os.environ.setdefault(name, env[name])
        session = boto3.session.Session()
    sys.stdout.write(json.dumps(run(args, session, env)) + "\n")


if __name__ == "__main__":
    main()
