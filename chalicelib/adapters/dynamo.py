"""DynamoDB plumbing shared by the repositories: (de)serialisation and opaque cursors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed

_serializer: Any = None
_deserializer: Any = None


def _codecs() -> tuple[Any, Any]:
    global _serializer, _deserializer
    if _serializer is None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        _serializer, _deserializer = TypeSerializer(), TypeDeserializer()
    return _serializer, _deserializer


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [_plain(v) for v in value]
    return value


def _dynamo_value(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_dynamo_value(v) for v in value]
    return value


def to_item(data: Mapping[str, Any]) -> dict[str, Any]:
    serializer, _ = _codecs()
    return {k: serializer.serialize(_dynamo_value(v)) for k, v in data.items() if v is not None}


def to_value(value: Any) -> dict[str, Any]:
    serializer, _ = _codecs()
    return serializer.serialize(_dynamo_value(value))


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    _, deserializer = _codecs()
    return {k: _plain(deserializer.deserialize(v)) for k, v in item.items()}


class CursorCodec:
    """Opaque, tamper-evident pagination cursors: the LastEvaluatedKey, signed with HMAC.

    A cursor is bound to the list it came from (``scope``), so one list's cursor cannot be
    replayed against another partition, and its key must have exactly the attributes of the
    list's key schema (the table's key plus the index's; all strings here), so even a
    validly signed cursor of another shape is refused here, not by DynamoDB.
    """

    def __init__(self, key: str) -> None:
        self._key = key.encode() or b"chowline-unsigned"

    def encode(self, last_key: Mapping[str, Any] | None, scope: str) -> str | None:
        if not last_key:
            return None
        payload = json.dumps({"k": last_key, "s": scope}, separators=(",", ":"), sort_keys=True).encode()
        token = base64.urlsafe_b64encode(payload).rstrip(b"=")
        return f"{token.decode()}.{self._sign(token)}"

    def decode(self, cursor: str | None, scope: str, key_attributes: Collection[str]) -> dict[str, Any] | None:
        if not cursor:
            return None
        invalid = ValidationFailed(
            "The cursor is not valid for this list", [FieldError("cursor", "invalid or tampered cursor")]
        )
        token, _, signature = cursor.partition(".")
        if not token or not hmac.compare_digest(signature, self._sign(token.encode())):
            raise invalid
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except ValueError as exc:
            raise invalid from exc
        if not isinstance(data, dict) or data.get("s") != scope or not _is_key(data.get("k"), key_attributes):
            raise invalid
        return data["k"]

    def _sign(self, token: bytes) -> str:
        digest = hmac.new(self._key, token, hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _is_key(key: Any, attributes: Collection[str]) -> bool:
    """``{"order_id": {"S": "..."}, ...}`` with exactly ``attributes``, each a non-empty string."""
    if not isinstance(key, dict) or set(key) != set(attributes):
        return False
    return all(
        isinstance(value, dict) and list(value) == ["S"] and isinstance(value["S"], str) and value["S"]
        for value in key.values()
    )


def query_page(
    clients: Any,
    cursors: CursorCodec,
    *,
    table: str,
    key_condition: str,
    values: Mapping[str, Any],
    limit: int,
    cursor: str | None,
    scope: str,
    key_attributes: Collection[str],
    index: str | None = None,
    names: Mapping[str, str] | None = None,
    newest_first: bool = False,
    filter_expression: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One Query for one page: returns the items and the signed cursor of the next page.

    ``scope`` binds the cursor to this list (index + partition + filters), so a cursor from
    one list is rejected by another; ``key_attributes`` are the attributes of its
    LastEvaluatedKey (the table's key and the index's), which a cursor must carry exactly.
    """
    from chalicelib.adapters.aws import aws_errors

    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": key_condition,
        "ExpressionAttributeValues": {k: to_value(v) for k, v in values.items()},
        "Limit": limit,
        "ScanIndexForward": not newest_first,
    }
    if index:
        params["IndexName"] = index
    if names:
        params["ExpressionAttributeNames"] = dict(names)
    if filter_expression:
        params["FilterExpression"] = filter_expression
    start = cursors.decode(cursor, scope, key_attributes)
    if start:
        params["ExclusiveStartKey"] = start
    with aws_errors("The data store"):
        out = clients.get("dynamodb").query(**params)
    items = [from_item(item) for item in out.get("Items", [])]
    return items, cursors.encode(out.get("LastEvaluatedKey"), scope)


def profile_probe(user_id: str) -> dict[str, Any]:
    """A BatchGetItem request for whether ``user_id`` has a profile, to ride along with the
    read a write makes anyway: the key only, eventually consistent (half a read unit; a
    profile deleted a second ago may still be seen)."""
    return {"Keys": [{"user_id": {"S": user_id}}], "ProjectionExpression": "user_id"}
