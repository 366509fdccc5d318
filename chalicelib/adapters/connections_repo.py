"""Connections table: one row per live WebSocket (connection_id), found by user (by_user)
and, for couriers, by audience (by_audience, sparse). TTL removes rows API Gateway has
long closed; reads skip rows past their expiry, which TTL deletes only eventually."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.aws import AwsClients, aws_errors
from chalicelib.adapters.dynamo import from_item, to_item

COURIERS_AUDIENCE = "couriers"
_STORE = "The connection store"


class ConnectionsRepository:
    def __init__(self, clients: AwsClients, table: str) -> None:
        self._clients = clients
        self._table = table

    def put(self, connection_id: str, user_id: str, audience: str | None, connected_at: int, expires_at: int) -> None:
        row = {
            "connection_id": connection_id,
            "user_id": user_id,
            "audience": audience,
            "connected_at": connected_at,
            "expires_at": expires_at,
        }
        with aws_errors(_STORE):
            self._clients.get("dynamodb").put_item(TableName=self._table, Item=to_item(row))

    def delete(self, connection_id: str) -> None:
        with aws_errors(_STORE):
            self._clients.get("dynamodb").delete_item(
                TableName=self._table, Key={"connection_id": {"S": connection_id}}
            )

    def of_user(self, user_id: str, now_epoch: int) -> list[str]:
        return [row["connection_id"] for row in self._query("by_user", "user_id", user_id, now_epoch)]

    def couriers(self, now_epoch: int) -> list[dict[str, Any]]:
        """Every live courier connection: ``{connection_id, user_id}``."""
        return self._query("by_audience", "audience", COURIERS_AUDIENCE, now_epoch)

    def _query(self, index: str, key: str, value: str, now_epoch: int) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": "#k = :v",
            "FilterExpression": "expires_at > :now",
            "ProjectionExpression": "connection_id, user_id",
            "ExpressionAttributeNames": {"#k": key},
            "ExpressionAttributeValues": {":v": {"S": value}, ":now": {"N": str(now_epoch)}},
        }
        rows: list[dict[str, Any]] = []
        with aws_errors(_STORE):
            while True:
                out = self._clients.get("dynamodb").query(**params)
                rows += [from_item(item) for item in out.get("Items", [])]
                if not out.get("LastEvaluatedKey"):
                    return rows
                params["ExclusiveStartKey"] = out["LastEvaluatedKey"]
