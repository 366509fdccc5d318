"""Devices table: a user's push devices (user_id + device_id), each with its SNS endpoint."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.aws import AwsClients, aws_errors, error_code
from chalicelib.adapters.dynamo import from_item, to_item

_STORE = "The device store"


class DevicesRepository:
    def __init__(self, clients: AwsClients, table: str) -> None:
        self._clients = clients
        self._table = table

    def add(self, device: dict[str, Any]) -> dict[str, Any] | None:
        """Writes the device unless it is registered already; returns the existing one then."""
        try:
            with aws_errors(_STORE):
                self._clients.get("dynamodb").put_item(
                    TableName=self._table,
                    Item=to_item(device),
                    ConditionExpression="attribute_not_exists(device_id)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                old = getattr(exc, "response", {}).get("Item")
                return from_item(old) if old else self.get(device["user_id"], device["device_id"])
            raise
        return None

    def get(self, user_id: str, device_id: str) -> dict[str, Any] | None:
        with aws_errors(_STORE):
            out = self._clients.get("dynamodb").get_item(TableName=self._table, Key=_key(user_id, device_id))
        item = out.get("Item")
        return from_item(item) if item else None

    def of_user(self, user_id: str) -> list[dict[str, Any]]:
        """A user has a handful of devices: one Query, paged through if it ever is not."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "user_id = :u",
            "ExpressionAttributeValues": {":u": {"S": user_id}},
        }
        devices: list[dict[str, Any]] = []
        with aws_errors(_STORE):
            while True:
                out = self._clients.get("dynamodb").query(**params)
                devices += [from_item(item) for item in out.get("Items", [])]
                if not out.get("LastEvaluatedKey"):
                    return devices
                params["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def remove(self, user_id: str, device_id: str) -> dict[str, Any] | None:
        """Deletes the device; returns what was deleted (None: there was none)."""
        with aws_errors(_STORE):
            out = self._clients.get("dynamodb").delete_item(
                TableName=self._table, Key=_key(user_id, device_id), ReturnValues="ALL_OLD"
            )
        old = out.get("Attributes")
        return from_item(old) if old else None


def _key(user_id: str, device_id: str) -> dict[str, Any]:
    return {"user_id": {"S": user_id}, "device_id": {"S": device_id}}
