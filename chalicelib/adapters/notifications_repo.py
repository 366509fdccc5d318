"""Notifications table: each user's inbox (user_id + sent_at), expiring through TTL.

An inbox record doubles as the "this notification was sent" marker: its key is derived
from the order and the status, so a status change can be claimed once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.adapters.aws import AwsClients, aws_errors, error_code
from chalicelib.adapters.dynamo import CursorCodec, batch_write, from_item, query_page, to_item

CLAIMED = "claimed"
SENT = "sent"
_BATCH = 25  # BatchWriteItem's most
_STORE = "The notification store"


class NotificationsRepository:
    def __init__(self, clients: AwsClients, cursors: CursorCodec, table: str) -> None:
        self._clients = clients
        self._cursors = cursors
        self._table = table

    def claim(self, record: Mapping[str, Any], now_epoch: int, lease_seconds: int, token: str) -> dict[str, Any] | None:
        """Writes the record as CLAIMED unless it exists (sent, or claimed by another live
        attempt). Returns None when the claim is this attempt's (``token``: a retried
        request whose first try did land finds its own claim), else the existing record."""
        item = {**record, "state": CLAIMED, "claim_expires": now_epoch + lease_seconds, "claim_token": token}
        try:
            with aws_errors(_STORE):
                self._clients.get("dynamodb").put_item(
                    TableName=self._table,
                    Item=to_item(item),
                    ConditionExpression="attribute_not_exists(sent_at) OR (#st = :claimed AND claim_expires < :now)",
                    ExpressionAttributeNames={"#st": "state"},
                    ExpressionAttributeValues={":claimed": {"S": CLAIMED}, ":now": {"N": str(now_epoch)}},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                existing = getattr(exc, "response", {}).get("Item")
                found = from_item(existing) if existing else {"state": SENT}
                if found.get("state") == CLAIMED and found.get("claim_token") == token:
                    return None
                return found
            raise
        return None

    def mark_sent(self, sent: list[tuple[Mapping[str, Any], str]]) -> None:
        """Writes each claimed record (as given to ``claim``) as SENT with its message id:
        one BatchWriteItem for up to 25 (a status change's recipients). A claimed record is
        its claimant's alone, so writing it whole leaves what an update of its state would."""
        items = [
            {"PutRequest": {"Item": to_item({**record, "state": SENT, "message_id": message_id or "-"})}}
            for record, message_id in sent
        ]
        db = self._clients.get("dynamodb")
        with aws_errors(_STORE):
            for start in range(0, len(items), _BATCH):
                batch_write(db, {self._table: items[start : start + _BATCH]}, _STORE)

    def release(self, user_id: str, sent_at: str) -> None:
        """Ends a claim at once (its attempt failed before sending anything)."""
        with aws_errors(_STORE):
            self._clients.get("dynamodb").update_item(
                TableName=self._table,
                Key={"user_id": {"S": user_id}, "sent_at": {"S": sent_at}},
                UpdateExpression="SET claim_expires = :zero",
                ConditionExpression="#st = :claimed",
                ExpressionAttributeNames={"#st": "state"},
                ExpressionAttributeValues={":zero": {"N": "0"}, ":claimed": {"S": CLAIMED}},
            )

    def inbox(self, user_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return query_page(
            self._clients,
            self._cursors,
            table=self._table,
            key_condition="user_id = :u",
            values={":u": user_id},
            limit=limit,
            cursor=cursor,
            scope=f"inbox:{user_id}",
            key_attributes=("user_id", "sent_at"),
            newest_first=True,
        )
