"""Users table: one item per Cognito user (``user_id`` = the token's ``sub``)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.aws import AwsClients, aws_errors, error_code
from chalicelib.adapters.dynamo import from_item, to_item, to_value
from chalicelib.domain.principal import require_account


class UsersRepository:
    def __init__(self, clients: AwsClients, table: str) -> None:
        self._clients = clients
        self._table = table

    def get(self, user_id: str) -> dict[str, Any] | None:
        with aws_errors("The user store"):
            out = self._clients.get("dynamodb").get_item(TableName=self._table, Key={"user_id": {"S": user_id}})
        item = out.get("Item")
        return from_item(item) if item else None

    def put(self, profile: dict[str, Any]) -> None:
        with aws_errors("The user store"):
            self._clients.get("dynamodb").put_item(TableName=self._table, Item=to_item(profile))

    def update(
        self, user_id: str, changes: dict[str, Any], defaults: dict[str, Any], *, create: bool = False
    ) -> dict[str, Any]:
        """Sets ``changes``, fills ``defaults`` where absent; returns the whole new item. Unless
        ``create`` (the sign-up step), the profile must exist: a deleted account's token (valid
        until it expires) is a 401."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        parts: list[str] = []
        for index, (key, value) in enumerate({**defaults, **changes}.items()):
            names[f"#f{index}"] = key
            values[f":v{index}"] = to_value(value)
            if key in changes:
                parts.append(f"#f{index} = :v{index}")
            else:
                parts.append(f"#f{index} = if_not_exists(#f{index}, :v{index})")
        condition = {} if create else {"ConditionExpression": "attribute_exists(#id)"}
        if not create:
            names["#id"] = "user_id"
        try:
            with aws_errors("The user store"):
                out = self._clients.get("dynamodb").update_item(
                    TableName=self._table,
                    Key={"user_id": {"S": user_id}},
                    UpdateExpression="SET " + ", ".join(parts),
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                    **condition,
                )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                require_account(False)
            raise
        return from_item(out["Attributes"])

    def delete(self, user_id: str) -> None:
        with aws_errors("The user store"):
            self._clients.get("dynamodb").delete_item(TableName=self._table, Key={"user_id": {"S": user_id}})
