"""DynamoDB plumbing shared by the repositories: (de)serialisation and opaque cursors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

from chalicelib.domain.errors import FieldError, ServiceUnavailable, ValidationFailed

# DynamoDB's attribute values, written here rather than with boto3's TypeSerializer and
# TypeDeserializer: those need the boto3 package, ~15 ms of every cold start, while each
# function talks to AWS through botocore alone. Numbers read back as int or float.


def to_value(value: Any) -> dict[str, Any]:
    """One attribute value; ``None`` inside a map is left out (as at the top of an item)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, float, Decimal)):
        return {"N": _number_text(value)}
    if isinstance(value, (bytes, bytearray)):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_value(v) for k, v in value.items() if v is not None}}
    if isinstance(value, (set, frozenset)):
        return _set_value(value)
    if isinstance(value, (list, tuple)):
        return {"L": [to_value(v) for v in value]}
    raise TypeError(f"{type(value).__name__} cannot be stored in DynamoDB")


def from_value(value: Mapping[str, Any]) -> Any:
    ((kind, data),) = value.items()
    if kind in ("S", "BOOL", "B"):
        return data
    if kind == "N":
        return _number(data)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_value(v) for k, v in data.items()}
    if kind == "L":
        return [from_value(v) for v in data]
    if kind == "NS":
        return [_number(v) for v in data]
    if kind in ("SS", "BS"):
        return list(data)
    raise TypeError(f"unknown DynamoDB type {kind}")


def to_item(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: to_value(v) for k, v in data.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: from_value(v) for k, v in item.items()}


def _number_text(value: int | float | Decimal) -> str:
    if isinstance(value, int):
        return str(value)
    number = Decimal(str(value)) if isinstance(value, float) else value
    if not number.is_finite():
        raise ValueError("DynamoDB numbers are finite")
    return str(number)


def _number(text: str) -> int | float:
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)


def _set_value(values: set[Any] | frozenset[Any]) -> dict[str, Any]:
    if not values:
        raise ValueError("DynamoDB sets are never empty")
    if all(isinstance(v, str) for v in values):
        return {"SS": sorted(values)}
    if all(isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) for v in values):
        return {"NS": [_number_text(v) for v in values]}
    if all(isinstance(v, (bytes, bytearray)) for v in values):
        return {"BS": [bytes(v) for v in values]}
    raise TypeError("a DynamoDB set holds strings, numbers or bytes, one kind only")


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


# Under throttling a batch call answers with what it left unprocessed: asked again, those only.
BATCH_ATTEMPTS = 4


def batch_get(db: Any, requests: dict[str, Any], what: str) -> dict[str, list[dict[str, Any]]]:
    """Every item a BatchGetItem finds, raw, by table; keys still unprocessed after
    BATCH_ATTEMPTS calls are a 503 naming ``what`` (never a silently shorter answer)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for _ in range(BATCH_ATTEMPTS):
        out = db.batch_get_item(RequestItems=requests)
        for table, items in out.get("Responses", {}).items():
            found.setdefault(table, []).extend(items)
        requests = out.get("UnprocessedKeys") or {}
        if not requests:
            return found
    raise ServiceUnavailable(f"{what} is busy (BatchGetItem kept keys unprocessed); retry shortly")


def batch_write(db: Any, requests: dict[str, Any], what: str) -> None:
    """A BatchWriteItem until every request is processed; still unprocessed after
    BATCH_ATTEMPTS calls: a 503 naming ``what``."""
    for _ in range(BATCH_ATTEMPTS):
        requests = db.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
        if not requests:
            return
    raise ServiceUnavailable(f"{what} is busy (BatchWriteItem kept items unprocessed); retry shortly")


def profile_probe(user_id: str) -> dict[str, Any]:
    """A BatchGetItem request for whether ``user_id`` has a profile, to ride along with the
    read a write makes anyway: the key only, eventually consistent (half a read unit; a
    profile deleted a second ago may still be seen)."""
    return {"Keys": [{"user_id": {"S": user_id}}], "ProjectionExpression": "user_id"}
