"""PromoCodes table: a code's item (``scope`` = "code") and, beside it under the same code,
each customer's use count (``scope`` = "customer#<id>") for codes that limit uses per
customer. Uses are counted by the order transactions (``orders_repo``); this module is the
admins' side: create, list, withdraw.

A withdrawn code keeps its item (and its name: its redemptions stay on record, and a new
code by that name cannot inherit old per-customer counts); it leaves the listing.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.aws import AwsClients, aws_errors, error_code
from chalicelib.adapters.dynamo import CursorCodec, query_page, to_item
from chalicelib.domain import promos

_STORE = "The promo code store"


class PromoCodesRepository:
    def __init__(self, clients: AwsClients, cursors: CursorCodec, table: str) -> None:
        self._clients = clients
        self._cursors = cursors
        self._table = table

    def create(self, item: dict[str, Any]) -> bool:
        """Writes the code unless the name is taken (False then)."""
        try:
            with aws_errors(_STORE):
                self._clients.get("dynamodb").put_item(
                    TableName=self._table,
                    Item=to_item(item),
                    ConditionExpression="attribute_not_exists(code)",
                )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def page(self, *, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Codes newest first: one Query on the by_created index (withdrawn codes are not in it)."""
        return query_page(
            self._clients,
            self._cursors,
            table=self._table,
            index="by_created",
            key_condition="listing = :l",
            values={":l": promos.LISTING},
            limit=limit,
            cursor=cursor,
            scope="promo-codes",
            key_attributes=("code", "scope", "listing", "created_at"),
            newest_first=True,
        )

    def withdraw(self, code: str, at: str) -> bool:
        """One conditional UpdateItem; False when there is no such (live) code."""
        try:
            with aws_errors(_STORE):
                self._clients.get("dynamodb").update_item(
                    TableName=self._table,
                    Key={"code": {"S": code}, "scope": {"S": promos.DEFINITION}},
                    UpdateExpression="SET deleted_at = :at REMOVE listing",
                    ConditionExpression="attribute_exists(code) AND attribute_not_exists(deleted_at)",
                    ExpressionAttributeValues={":at": {"S": at}},
                )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True
