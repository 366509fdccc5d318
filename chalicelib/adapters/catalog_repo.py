"""Restaurants and Products tables. Every write is conditioned on the item's existence (or
absence), so a racing delete can never be undone by a late update.

Reads (``get``, the listings) go through ``reads``: DynamoDB itself, or the DAX cluster
when the stack has one (chalicelib/adapters/dax.py); writes always go to DynamoDB."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.adapters.aws import AwsClients, aws_errors, error_code
from chalicelib.adapters.dax import DaxClients
from chalicelib.adapters.dynamo import (
    CursorCodec,
    batch_get,
    from_item,
    profile_probe,
    query_page,
    to_item,
    to_value,
)
from chalicelib.domain.catalog import LISTING

CONDITION_FAILED = "ConditionalCheckFailedException"
Clients = AwsClients | DaxClients
GEO_INDEX = "by_geo_cell"
GEO_READERS = 9


class CatalogTable:
    what = "The catalog store"

    def __init__(
        self,
        clients: AwsClients,
        cursors: CursorCodec,
        table: str,
        key: str,
        users_table: str,
        reads: Clients | None = None,
    ) -> None:
        self._clients = clients
        self._cursors = cursors
        self._table = table
        self._key = key
        self._users = users_table
        self.reads: Clients = reads or clients

    @property
    def _db(self) -> Any:
        return self._clients.get("dynamodb")

    def get(self, item_id: str) -> dict[str, Any] | None:
        with aws_errors(self.what):
            out = self.reads.get("dynamodb").get_item(TableName=self._table, Key={self._key: {"S": item_id}})
        item = out.get("Item")
        return from_item(item) if item else None

    def get_for(self, item_id: str, user_id: str) -> tuple[dict[str, Any] | None, bool]:
        """The item and whether ``user_id`` still has a profile: ONE BatchGetItem, the cost
        of the GetItem a write makes anyway."""
        requests = {
            self._table: {"Keys": [{self._key: {"S": item_id}}]},
            self._users: profile_probe(user_id),
        }
        with aws_errors(self.what):
            found = batch_get(self._db, requests, self.what)
        items = found.get(self._table, [])
        return (from_item(items[0]) if items else None), bool(found.get(self._users))

    def create(self, item: Mapping[str, Any]) -> bool:
        """Puts a new item; ``False`` if one with this key exists already."""
        try:
            with aws_errors(self.what):
                self._db.put_item(
                    TableName=self._table,
                    Item=to_item(item),
                    ConditionExpression="attribute_not_exists(#k)",
                    ExpressionAttributeNames={"#k": self._key},
                )
        except Exception as exc:
            if error_code(exc) == CONDITION_FAILED:
                return False
            raise
        return True

    def update(
        self, item_id: str, changes: Mapping[str, Any], expected: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Sets ``changes`` (``None`` removes the attribute) on an existing item whose
        attributes still equal ``expected``; returns the new item, or ``None`` when the item
        is gone or changed meanwhile."""
        names = {"#k": self._key}
        values: dict[str, Any] = {}
        sets: list[str] = []
        removes: list[str] = []
        for index, (name, value) in enumerate(changes.items()):
            names[f"#c{index}"] = name
            if value is None:
                removes.append(f"#c{index}")
            else:
                values[f":c{index}"] = to_value(value)
                sets.append(f"#c{index} = :c{index}")
        conditions = ["attribute_exists(#k)"]
        for index, (name, value) in enumerate((expected or {}).items()):
            names[f"#e{index}"] = name
            values[f":e{index}"] = to_value(value)
            conditions.append(f"#e{index} = :e{index}")
        expression = ("SET " + ", ".join(sets) if sets else "") + (" REMOVE " + ", ".join(removes) if removes else "")
        params: dict[str, Any] = {
            "TableName": self._table,
            "Key": {self._key: {"S": item_id}},
            "UpdateExpression": expression.strip(),
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_NEW",
        }
        if values:
            params["ExpressionAttributeValues"] = values
        try:
            with aws_errors(self.what):
                out = self._db.update_item(**params)
        except Exception as exc:
            if error_code(exc) == CONDITION_FAILED:
                return None
            raise
        return from_item(out["Attributes"])

    def delete(self, item_id: str, expected: Mapping[str, Any] | None = None) -> bool:
        """Deletes an existing item whose attributes equal ``expected``; ``False`` if not."""
        names = {"#k": self._key}
        values: dict[str, Any] = {}
        conditions = ["attribute_exists(#k)"]
        for index, (name, value) in enumerate((expected or {}).items()):
            names[f"#e{index}"] = name
            values[f":e{index}"] = to_value(value)
            conditions.append(f"#e{index} = :e{index}")
        params: dict[str, Any] = {
            "TableName": self._table,
            "Key": {self._key: {"S": item_id}},
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
        }
        if values:
            params["ExpressionAttributeValues"] = values
        try:
            with aws_errors(self.what):
                self._db.delete_item(**params)
        except Exception as exc:
            if error_code(exc) == CONDITION_FAILED:
                return False
            raise
        return True


class RestaurantsRepository(CatalogTable):
    def __init__(
        self, clients: AwsClients, cursors: CursorCodec, table: str, users_table: str, reads: Clients | None = None
    ) -> None:
        super().__init__(clients, cursors, table, "restaurant_id", users_table, reads)

    def page(
        self, *, city: str | None, cuisine: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One Query for one page, on the narrowest index the filters allow: by_city (cuisine
        then filters that partition), by_cuisine, or by_name, the whole listing in name
        order. by_name keeps every restaurant in one partition: fine for thousands of
        restaurants read through caches; shard ``listing`` if that ever runs hot."""
        filter_expression = None
        if city is not None:
            index, key, value = "by_city", "city", city
            if cuisine is not None:
                filter_expression = "cuisine = :cuisine"
        elif cuisine is not None:
            index, key, value = "by_cuisine", "cuisine", cuisine
        else:
            index, key, value = "by_name", "listing", LISTING
        values: dict[str, Any] = {":p": value}
        if filter_expression:
            values[":cuisine"] = cuisine
        return query_page(
            self.reads,
            self._cursors,
            table=self._table,
            index=index,
            key_condition=f"{key} = :p",
            values=values,
            filter_expression=filter_expression,
            limit=limit,
            cursor=cursor,
            scope=f"restaurants|{index}|{city or ''}|{cuisine or ''}",
            key_attributes=("restaurant_id", key, "name_sort"),
        )

    def in_cells(self, cells: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The restaurants indexed in each geohash cell: one Query per cell on by_geo_cell (a
        further page only for a cell whose projected items pass 1 MB, some thousands of
        restaurants), the cells read side by side."""
        if not cells:
            return {}
        if len(cells) == 1:
            return {cells[0]: self._cell(cells[0])}
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(len(cells), GEO_READERS)) as pool:
            return dict(zip(cells, pool.map(self._cell, cells), strict=True))

    def _cell(self, cell: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": GEO_INDEX,
            "KeyConditionExpression": "geo_cell = :c",
            "ExpressionAttributeValues": {":c": {"S": cell}},
        }
        while True:
            with aws_errors(self.what):
                out = self.reads.get("dynamodb").query(**params)
            found.extend(from_item(item) for item in out.get("Items", []))
            if not out.get("LastEvaluatedKey"):
                return found
            params["ExclusiveStartKey"] = out["LastEvaluatedKey"]


class ProductsRepository(CatalogTable):
    def __init__(
        self, clients: AwsClients, cursors: CursorCodec, table: str, users_table: str, reads: Clients | None = None
    ) -> None:
        super().__init__(clients, cursors, table, "product_id", users_table, reads)

    def menu_page(
        self, restaurant_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A restaurant's products in menu order (category, name): one Query on by_restaurant."""
        return query_page(
            self.reads,
            self._cursors,
            table=self._table,
            index="by_restaurant",
            key_condition="restaurant_id = :r",
            values={":r": restaurant_id},
            limit=limit,
            cursor=cursor,
            scope=f"menu|{restaurant_id}",
            key_attributes=("product_id", "restaurant_id", "menu_sort"),
        )
