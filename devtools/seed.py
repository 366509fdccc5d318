"""Demo data for the local stack: the four demo accounts of API.md (and, through the
catalog service, the demo restaurants and menus)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.entry.examples import DEMO_CUSTOMER, DEMO_PASSWORD


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    groups: tuple[str, ...]


DEMO_ACCOUNTS = (
    DemoAccount(DEMO_CUSTOMER, "Casey Customer", ("customers",)),
    DemoAccount("owner@demo.chowline.dev", "Olive Owner", ("customers", "restaurant_owners")),
    DemoAccount("courier@demo.chowline.dev", "Cory Courier", ("customers", "couriers")),
    DemoAccount("courier2@demo.chowline.dev", "Cleo Courier", ("customers", "couriers")),
    DemoAccount("admin@demo.chowline.dev", "Ada Admin", ("customers", "admins")),
)


def create_user(session: Any, env: dict[str, str], account: DemoAccount, password: str = DEMO_PASSWORD) -> str:
    """Creates a confirmed user with a permanent password; returns its ``sub``."""
    idp = session.client("cognito-idp")
    pool = env["USER_POOL_ID"]
    user = idp.admin_create_user(
        UserPoolId=pool,
        Username=account.email,
        MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "email", "Value": account.email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": account.name},
        ],
    )["User"]
    idp.admin_set_user_password(UserPoolId=pool, Username=account.email, Password=password, Permanent=True)
    for group in account.groups:
        idp.admin_add_user_to_group(UserPoolId=pool, Username=account.email, GroupName=group)
    sub = next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")
    session.client("dynamodb").put_item(
        TableName=env["USERS_TABLE"],
        Item={"user_id": {"S": sub}, "email": {"S": account.email}, "name": {"S": account.name}},
    )
    return sub


def seed_accounts(session: Any, env: dict[str, str]) -> dict[str, str]:
    """Returns ``{email: user_id}`` of the demo accounts."""
    return {account.email: create_user(session, env, account) for account in DEMO_ACCOUNTS}
