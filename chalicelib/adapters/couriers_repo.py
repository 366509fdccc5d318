"""Couriers table: per courier (``courier_id``) a ``state`` record (available or not; the
sparse ``by_shift`` index lists the available ones) and a ``position`` record (the last
position reported, with a short TTL, and the rate limit's last report time)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.aws import AwsClients, aws_errors, error_code
from chalicelib.adapters.dynamo import batch_get, from_item, profile_probe, to_value
from chalicelib.domain.errors import RateLimited

STATE = "state"
POSITION = "position"
ON_SHIFT = "available"
_STORE = "The courier store"


class CouriersRepository:
    def __init__(self, clients: AwsClients, table: str, users_table: str) -> None:
        self._clients = clients
        self._table = table
        self._users = users_table

    @property
    def _db(self) -> Any:
        return self._clients.get("dynamodb")

    def _key(self, courier_id: str, record: str) -> dict[str, Any]:
        return {"courier_id": {"S": courier_id}, "record": {"S": record}}

    def set_available(self, courier_id: str, available: bool, at: str) -> dict[str, Any]:
        """One UpdateItem; the ``shift`` attribute (the sparse index's key) exists while available."""
        values: dict[str, Any] = {":a": {"BOOL": available}, ":at": {"S": at}}
        expression = "SET #a = :a, updated_at = :at"
        if available:
            values[":shift"] = {"S": ON_SHIFT}
            expression += ", #shift = :shift"
        else:
            expression += " REMOVE #shift"
        with aws_errors(_STORE):
            out = self._db.update_item(
                TableName=self._table,
                Key=self._key(courier_id, STATE),
                UpdateExpression=expression,
                ExpressionAttributeNames={"#a": "available", "#shift": "shift"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        return from_item(out["Attributes"])

    def records(self, courier_id: str, now_epoch: int) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The state and the (unexpired) position of a courier: ONE Query on the partition."""
        with aws_errors(_STORE):
            out = self._db.query(
                TableName=self._table,
                KeyConditionExpression="courier_id = :c",
                ExpressionAttributeValues={":c": {"S": courier_id}},
                ConsistentRead=True,
            )
        found = {str(item["record"]): item for item in map(from_item, out.get("Items", []))}
        position = found.get(POSITION)
        if position is not None and int(position.get("expires_at", 0)) <= now_epoch:
            position = None  # TTL deletes expired items only eventually
        return found.get(STATE), position

    def state_with_profile(self, courier_id: str) -> tuple[dict[str, Any] | None, bool]:
        """The courier's state and whether they still have a profile: ONE BatchGetItem."""
        requests = {
            self._table: {"Keys": [self._key(courier_id, STATE)], "ConsistentRead": True},
            self._users: profile_probe(courier_id),
        }
        with aws_errors(_STORE):
            responses = batch_get(self._db, requests, _STORE)
        states = [from_item(item) for item in responses.get(self._table, [])]
        return (states[0] if states else None), bool(responses.get(self._users))

    def report_position(
        self, courier_id: str, position: dict[str, Any], now_ms: int, interval_ms: int, ttl_seconds: int
    ) -> None:
        """Stores the position unless the last one landed less than ``interval_ms`` ago: one
        conditional UpdateItem (the rate limit is the condition). Raises RateLimited."""
        try:
            with aws_errors(_STORE):
                self._db.update_item(
                    TableName=self._table,
                    Key=self._key(courier_id, POSITION),
                    UpdateExpression="SET lat = :lat, lng = :lng, #at = :at, reported_ms = :now, expires_at = :exp",
                    ConditionExpression="attribute_not_exists(reported_ms) OR reported_ms <= :due",
                    ExpressionAttributeNames={"#at": "at"},
                    ExpressionAttributeValues={
                        ":lat": to_value(position["lat"]),
                        ":lng": to_value(position["lng"]),
                        ":at": {"S": position["at"]},
                        ":now": to_value(now_ms),
                        ":due": to_value(now_ms - interval_ms),
                        ":exp": to_value(now_ms // 1000 + ttl_seconds),
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except Exception as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            old = from_item(getattr(exc, "response", {}).get("Item") or {})
            wait_ms = int(old.get("reported_ms", now_ms)) + interval_ms - now_ms
            raise RateLimited(
                f"One position every {interval_ms / 1000:g} s; retry shortly", retry_after=-(-wait_ms // 1000)
            ) from exc

    def forget(self, courier_id: str) -> None:
        """Deletes both records of a courier (their account is being deleted)."""
        with aws_errors(_STORE):
            for record in (STATE, POSITION):
                self._db.delete_item(TableName=self._table, Key=self._key(courier_id, record))

    def available(self) -> set[str]:
        """Every courier on shift: Queries on the sparse by_shift index (keys only)."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by_shift",
            "KeyConditionExpression": "#shift = :s",
            "ExpressionAttributeNames": {"#shift": "shift"},
            "ExpressionAttributeValues": {":s": {"S": ON_SHIFT}},
        }
        found: set[str] = set()
        with aws_errors(_STORE):
            while True:
                out = self._db.query(**params)
                found |= {str(item["courier_id"]["S"]) for item in out.get("Items", [])}
                if not out.get("LastEvaluatedKey"):
                    return found
                params["ExclusiveStartKey"] = out["LastEvaluatedKey"]
