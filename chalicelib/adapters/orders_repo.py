"""Orders table, plus the reads and conditional writes an order makes on the catalog tables
(Products, Restaurants) following the agreed item schema.

Every status write is conditioned on the status it was read in, so two racing writers
cannot both win; stock moves only inside a transaction with the order's status change.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.aws import AwsClients, aws_errors, error_code
from chalicelib.adapters.dynamo import (
    CursorCodec,
    batch_get,
    from_item,
    profile_probe,
    query_page,
    to_item,
    to_value,
)
from chalicelib.domain import orders as domain
from chalicelib.domain import promos

_STORE = "The order store"
# A cancellation reason worth retrying rather than a verdict on the order.
_TRANSIENT_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


@dataclass(frozen=True)
class Snapshot:
    """What the processor reads in one call: the order and the catalog items it needs."""

    order: domain.Order | None
    restaurant: dict[str, Any] | None
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Asked for with ``user_id``: whether that user still has a profile (an account).
    user_exists: bool = False
    # Asked for with ``promo_code``: the code's item and the user's use count of it.
    promo: domain.PromoRead | None = None


class StaleStatus(Exception):
    """The order is no longer in the status the write was conditioned on."""

    def __init__(self, current: domain.Order | None = None) -> None:
        super().__init__("the order changed status meanwhile")
        self.current = current


class Cancelled(Exception):
    """A stock transaction was cancelled by one of its conditions."""

    def __init__(self, order: bool, restaurant: bool, products: bool, promo: bool = False) -> None:
        super().__init__("transaction cancelled")
        self.order = order
        self.restaurant = restaurant
        self.products = products
        self.promo = promo


class OrdersRepository:
    def __init__(
        self,
        clients: AwsClients,
        cursors: CursorCodec,
        *,
        orders_table: str,
        products_table: str,
        restaurants_table: str,
        users_table: str,
        promo_codes_table: str = "",
        serialize_writes: bool = False,
    ) -> None:
        self._clients = clients
        self._cursors = cursors
        self._orders = orders_table
        self._products = products_table
        self._restaurants = restaurants_table
        self._users = users_table
        self._promos = promo_codes_table
        # moto as shipped rolls a cancelled transaction back by restoring a copy of every
        # table it touched, erasing writes made meanwhile: against it (SERIALIZE_WRITES=true),
        # writes take turns. The emulator devtools/ starts restores only what it touched.
        self._write_lock: threading.Lock | None = threading.Lock() if serialize_writes else None

    @property
    def _db(self) -> Any:
        return self._clients.get("dynamodb")

    def _writing(self) -> AbstractContextManager[Any]:
        return self._write_lock if self._write_lock is not None else nullcontext()

    # --- reads ----------------------------------------------------------------------------

    def get(self, order_id: str) -> domain.Order | None:
        with aws_errors(_STORE):
            out = self._db.get_item(TableName=self._orders, Key=_order_key(order_id), ConsistentRead=True)
        item = out.get("Item")
        return _order(item) if item else None

    def restaurant_owner(self, restaurant_id: str) -> str | None:
        with aws_errors(_STORE):
            out = self._db.get_item(
                TableName=self._restaurants,
                Key={"restaurant_id": {"S": restaurant_id}},
                ProjectionExpression="owner_id",
            )
        item = out.get("Item")
        if not item:
            return None
        return str(from_item(item).get("owner_id") or "") or None

    def with_user(self, order_id: str, user_id: str) -> tuple[domain.Order | None, bool]:
        """The order (read consistently) and whether ``user_id`` still has a profile: ONE
        BatchGetItem, the cost of the GetItem it replaces."""
        found = self._batch_get(
            {
                self._orders: {"Keys": [_order_key(order_id)], "ConsistentRead": True},
                self._users: profile_probe(user_id),
            }
        )
        orders = found.get(self._orders, [])
        return (domain.Order.from_item(orders[0]) if orders else None), bool(found.get(self._users))

    def snapshot(
        self,
        *,
        order_id: str | None,
        restaurant_id: str,
        product_ids: list[str],
        consistent: bool,
        user_id: str | None = None,
        promo_code: str | None = None,
    ) -> Snapshot:
        """ONE BatchGetItem over Orders (optional), Restaurants, Products, the caller's
        profile (optional) and a promo code with the caller's use count of it (optional)."""
        requests: dict[str, Any] = {
            self._restaurants: {"Keys": [{"restaurant_id": {"S": restaurant_id}}], "ConsistentRead": consistent},
        }
        if user_id:
            requests[self._users] = profile_probe(user_id)
        if product_ids:
            requests[self._products] = {
                "Keys": [{"product_id": {"S": pid}} for pid in product_ids],
                "ConsistentRead": consistent,
            }
        if order_id:
            requests[self._orders] = {"Keys": [_order_key(order_id)], "ConsistentRead": True}
        if promo_code:
            keys = [_promo_key(promo_code, promos.DEFINITION)]
            if user_id:
                keys.append(_promo_key(promo_code, promos.customer_scope(user_id)))
            requests[self._promos] = {"Keys": keys, "ConsistentRead": consistent}
        found = self._batch_get(requests)
        orders = found.get(self._orders, [])
        restaurants = found.get(self._restaurants, [])
        return Snapshot(
            order=domain.Order.from_item(orders[0]) if orders else None,
            restaurant=restaurants[0] if restaurants else None,
            products={str(p["product_id"]): p for p in found.get(self._products, [])},
            user_exists=bool(found.get(self._users)),
            promo=_promo_read(found.get(self._promos, [])) if promo_code else None,
        )

    def _batch_get(self, requests: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        with aws_errors(_STORE):
            found = batch_get(self._db, requests, _STORE)
        return {table: [from_item(i) for i in items] for table, items in found.items()}

    def query(
        self,
        *,
        index: str,
        key: str,
        value: str,
        limit: int,
        cursor: str | None,
        status: str | None,
        newest_first: bool,
    ) -> tuple[list[domain.Order], str | None]:
        names = {"#k": key}
        values: dict[str, Any] = {":k": value}
        filter_expression = None
        if status and key != "status":
            names["#s"] = "status"
            values[":s"] = status
            filter_expression = "#s = :s"
        items, next_cursor = query_page(
            self._clients,
            self._cursors,
            table=self._orders,
            index=index,
            key_condition="#k = :k",
            names=names,
            values=values,
            limit=limit,
            cursor=cursor,
            scope=f"orders:{index}:{value}:{status or ''}",
            key_attributes=("order_id", key, "created_at"),
            newest_first=newest_first,
            filter_expression=filter_expression,
        )
        return [domain.Order.from_item(item) for item in items], next_cursor

    def customer_orders(self, customer_id: str) -> list[domain.Order]:
        """Every order of a customer (the by_customer index projects ALL, page after page),
        what account deletion needs. A Query per page of 1 MB, never a Scan."""
        found: list[domain.Order] = []
        start: dict[str, Any] | None = None
        while True:
            page_args = {"ExclusiveStartKey": start} if start else {}
            with aws_errors(_STORE):
                out = self._db.query(
                    TableName=self._orders,
                    IndexName="by_customer",
                    KeyConditionExpression="customer_id = :c",
                    ExpressionAttributeValues={":c": {"S": customer_id}},
                    **page_args,
                )
            found.extend(domain.Order.from_item(from_item(item)) for item in out.get("Items", []))
            start = out.get("LastEvaluatedKey")
            if not start:
                return found

    def redact(self, order: domain.Order, customer_id: str) -> bool:
        """Overwrites the personal fields of a finished order of ``customer_id`` with their
        redacted values; False when the order is not (or no longer) one (an order in flight
        is never touched)."""
        changes = order.redacted().personal_fields()
        names = {"#c": "customer_id", "#s": "status"}
        values: dict[str, Any] = {":c": {"S": customer_id}}
        sets = []
        for index, (key, value) in enumerate(changes.items()):
            names[f"#f{index}"] = key
            values[f":v{index}"] = to_value(value)
            sets.append(f"#f{index} = :v{index}")
        finals = [f":final{i}" for i in range(len(domain.FINAL_STATUSES))]
        values.update({name: {"S": status} for name, status in zip(finals, sorted(domain.FINAL_STATUSES), strict=True)})
        try:
            with aws_errors(_STORE), self._writing():
                self._db.update_item(
                    TableName=self._orders,
                    Key=_order_key(order.order_id),
                    UpdateExpression="SET " + ", ".join(sets),
                    ConditionExpression=f"#c = :c AND #s IN ({', '.join(finals)})",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def pending_between(self, oldest: str, newest: str, limit: int) -> list[domain.Order]:
        items, _ = query_page(
            self._clients,
            self._cursors,
            table=self._orders,
            index="by_status",
            key_condition="#s = :s AND created_at BETWEEN :a AND :b",
            names={"#s": "status"},
            values={":s": domain.PENDING, ":a": oldest, ":b": newest},
            limit=limit,
            cursor=None,
            scope="sweep",
            # Orders whose message went to the DLQ wait for the redrive, not the sweeper.
            filter_expression="attribute_not_exists(dead_lettered_at)",
            key_attributes=("order_id", "status", "created_at"),
        )
        return [domain.Order.from_item(item) for item in items]

    def order_for_payment(self, authorization_id: str) -> str | None:
        """The order holding a provider's authorization (``by_authorization``: keys only)."""
        with aws_errors(_STORE):
            out = self._db.query(
                TableName=self._orders,
                IndexName="by_authorization",
                KeyConditionExpression="authorization_id = :a",
                ExpressionAttributeValues={":a": {"S": authorization_id}},
                Limit=1,
            )
        items = out.get("Items", [])
        return str(items[0]["order_id"]["S"]) if items else None

    def carried_by(self, courier_id: str, since: str) -> list[domain.Order]:
        """The courier's orders in PICKED_UP placed since ``since``: ONE Query on by_courier."""
        with aws_errors(_STORE):
            out = self._db.query(
                TableName=self._orders,
                IndexName="by_courier",
                KeyConditionExpression="courier_id = :c AND created_at >= :since",
                FilterExpression="#s = :picked",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":c": {"S": courier_id},
                    ":since": {"S": since},
                    ":picked": {"S": domain.PICKED_UP},
                },
            )
        return [_order(item) for item in out.get("Items", [])]

    def claimed_by(self, courier_id: str) -> list[domain.Order]:
        """The courier's deliveries in flight (claimed READY, or PICKED_UP), what account
        deletion needs: a Query per page of by_courier, never a Scan."""
        found: list[domain.Order] = []
        params: dict[str, Any] = {
            "TableName": self._orders,
            "IndexName": "by_courier",
            "KeyConditionExpression": "courier_id = :c",
            "FilterExpression": "#s IN (:ready, :picked)",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {
                ":c": {"S": courier_id},
                ":ready": {"S": domain.READY},
                ":picked": {"S": domain.PICKED_UP},
            },
        }
        while True:
            with aws_errors(_STORE):
                out = self._db.query(**params)
            found.extend(_order(item) for item in out.get("Items", []))
            if not out.get("LastEvaluatedKey"):
                return found
            params["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def restaurant_locations(self, restaurant_ids: list[str]) -> dict[str, dict[str, Any]]:
        """``location`` of each restaurant that has one: ONE projected BatchGetItem."""
        if not restaurant_ids:
            return {}
        found = self._batch_get(
            {
                self._restaurants: {
                    "Keys": [{"restaurant_id": {"S": rid}} for rid in sorted(set(restaurant_ids))],
                    "ProjectionExpression": "restaurant_id, #l",
                    "ExpressionAttributeNames": {"#l": "location"},
                }
            }
        )
        return {str(r["restaurant_id"]): r["location"] for r in found.get(self._restaurants, []) if r.get("location")}

    # --- writes ---------------------------------------------------------------------------

    def claim(self, order_id: str, courier_id: str, at: str) -> domain.Order:
        """ONE conditional UpdateItem: the READY order without a courier becomes this
        courier's and leaves the offers (by_offer). Raises StaleStatus (with the order as it
        is) when it is not."""
        return self._update(
            order_id,
            "SET courier_id = :c, claimed_at = :at, updated_at = :at REMOVE offer",
            "#s = :ready AND attribute_not_exists(courier_id)",
            {":c": {"S": courier_id}, ":at": {"S": at}, ":ready": {"S": domain.READY}},
        )

    def unassign(self, order_id: str, at: str) -> domain.Order:
        """ONE conditional UpdateItem: a claimed READY order loses its courier and counts
        one more offer round (the re-offer's event ids differ from the first's)."""
        return self._update(
            order_id,
            "REMOVE courier_id, claimed_at "
            "SET updated_at = :at, offer = :ready, offer_round = if_not_exists(offer_round, :zero) + :one",
            "#s = :ready AND attribute_exists(courier_id)",
            {":at": {"S": at}, ":ready": {"S": domain.READY}, ":zero": {"N": "0"}, ":one": {"N": "1"}},
        )

    def place_courier(self, order_id: str, courier_id: str, location: dict[str, Any], eta: str | None) -> bool:
        """Writes the courier's position (and ETA) onto an order they carry; False when the
        order is no longer PICKED_UP by them."""
        expression = "SET courier_location = :loc" + (", eta = :eta" if eta else " REMOVE eta")
        values: dict[str, Any] = {
            ":loc": to_value(location),
            ":c": {"S": courier_id},
            ":picked": {"S": domain.PICKED_UP},
        }
        if eta:
            values[":eta"] = {"S": eta}
        try:
            self._update(order_id, expression, "#s = :picked AND courier_id = :c", values)
        except StaleStatus:
            return False
        return True

    def _update(self, order_id: str, expression: str, condition: str, values: dict[str, Any]) -> domain.Order:
        return self._conditional_update(
            order_id,
            UpdateExpression=expression,
            ConditionExpression=f"attribute_exists(order_id) AND {condition}",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=values,
        )

    def _conditional_update(self, order_id: str, **update: Any) -> domain.Order:
        """One conditional UpdateItem of an order; a failed condition is ``StaleStatus``
        carrying the order as it is (read in the same call)."""
        try:
            with aws_errors(_STORE), self._writing():
                out = self._db.update_item(
                    TableName=self._orders,
                    Key=_order_key(order_id),
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    **update,
                )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                item = getattr(exc, "response", {}).get("Item")
                raise StaleStatus(_order(item) if item else None) from exc
            raise
        return _order(out["Attributes"])

    def put_new(self, order: domain.Order) -> domain.Order | None:
        """Creates the order; if its id exists already, returns the existing one instead
        (read in the same call)."""
        try:
            with aws_errors(_STORE), self._writing():
                self._db.put_item(
                    TableName=self._orders,
                    Item=to_item(order.item()),
                    ConditionExpression="attribute_not_exists(order_id)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                item = getattr(exc, "response", {}).get("Item")
                existing = _order(item) if item else self.get(order.order_id)
                if existing is None:
                    raise
                return existing
            raise
        return None

    def move(self, order: domain.Order, moved: domain.Order) -> domain.Order:
        """One conditional UpdateItem: ``order`` (as read) becomes ``moved`` (from ``Order.move``)."""
        return self._conditional_update(order.order_id, **_status_update(order, moved))

    def mark_dead_lettered(self, order_id: str, at: str) -> None:
        """Notes that a PENDING order's message went to the DLQ (the sweeper leaves it to the
        redrive); an order that moved on meanwhile is left as it is."""
        try:
            with aws_errors(_STORE), self._writing():
                self._db.update_item(
                    TableName=self._orders,
                    Key=_order_key(order_id),
                    UpdateExpression="SET dead_lettered_at = :at",
                    ConditionExpression="#s = :pending",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":at": {"S": at}, ":pending": {"S": domain.PENDING}},
                )
        except Exception as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def apply_payment_event(self, order: domain.Order, changed: domain.Order, event_id: str) -> bool:
        """``order`` becomes ``changed`` and records ``event_id``, in one conditional write:
        False if the event was recorded already (a replay changes nothing); StaleStatus if
        the order's status moved since it was read."""
        update = _status_update(order, changed)
        update["UpdateExpression"] += " ADD #events :event_set"
        update["ConditionExpression"] = f"({update['ConditionExpression']}) AND NOT contains(#events, :event)"
        update["ExpressionAttributeNames"]["#events"] = "payment_events"
        update["ExpressionAttributeValues"].update({":event_set": {"SS": [event_id]}, ":event": {"S": event_id}})
        try:
            with aws_errors(_STORE), self._writing():
                self._db.update_item(
                    TableName=self._orders,
                    Key=_order_key(order.order_id),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    **update,
                )
        except Exception as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            item = getattr(exc, "response", {}).get("Item") or {}
            if event_id in item.get("payment_events", {}).get("SS", []):
                return False
            raise StaleStatus(_order(item) if item else None) from exc
        return True

    def confirm(self, order: domain.Order, tracked: list[str], at: str, authorization_id: str) -> domain.Order:
        """ONE transaction: take each line's stock (never below 0, product still available),
        check the restaurant is open, and move the order PENDING -> CONFIRMED.

        ``tracked`` lists the products that count stock (read just before); the others must
        still be unlimited, or the transaction is cancelled and the caller reads again."""
        confirmed = order.move(
            domain.CONFIRMED, None, at=at, authorization_id=authorization_id, stock_taken=tuple(tracked)
        )
        items: list[dict[str, Any]] = []
        for line in order.items:
            pid = line.product_id
            key = {"product_id": {"S": pid}}
            if pid in tracked:
                items.append(
                    {
                        "Update": {
                            "TableName": self._products,
                            "Key": key,
                            "UpdateExpression": "SET stock = stock - :q",
                            "ConditionExpression": "stock >= :q AND available = :true",
                            "ExpressionAttributeValues": {
                                ":q": to_value(line.quantity),
                                ":true": {"BOOL": True},
                            },
                        }
                    }
                )
            else:
                items.append(
                    {
                        "ConditionCheck": {
                            "TableName": self._products,
                            "Key": key,
                            "ConditionExpression": "attribute_not_exists(stock) AND available = :true",
                            "ExpressionAttributeValues": {":true": {"BOOL": True}},
                        }
                    }
                )
        items.append(
            {
                "ConditionCheck": {
                    "TableName": self._restaurants,
                    "Key": {"restaurant_id": {"S": order.restaurant_id}},
                    "ConditionExpression": "is_open = :true",
                    "ExpressionAttributeValues": {":true": {"BOOL": True}},
                }
            }
        )
        update = _status_update(order, confirmed)
        items.append({"Update": {"TableName": self._orders, "Key": _order_key(order.order_id), **update}})
        order_index = len(items) - 1
        items += self._redemption(order, +1)
        self._transact(items, order_index=order_index, restaurant_index=order_index - 1)
        return confirmed

    def release(
        self, order: domain.Order, moved: domain.Order, restock: list[tuple[str, int]], give_back_promo: bool = True
    ) -> None:
        """ONE transaction: put ``restock`` back (products that track stock), give back the
        order's promo code use (a confirmed order counted it) and store ``order`` (as read)
        as ``moved``."""
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._products,
                    "Key": {"product_id": {"S": pid}},
                    "UpdateExpression": "SET stock = stock + :q",
                    "ConditionExpression": "attribute_exists(stock)",
                    "ExpressionAttributeValues": {":q": to_value(quantity)},
                }
            }
            for pid, quantity in restock
        ]
        update = _status_update(order, moved)
        items.append({"Update": {"TableName": self._orders, "Key": _order_key(order.order_id), **update}})
        order_index = len(items) - 1
        if give_back_promo:
            items += self._redemption(order, -1)
        self._transact(items, order_index=order_index, restaurant_index=None)

    def _redemption(self, order: domain.Order, step: int) -> list[dict[str, Any]]:
        """The transaction items that count (+1) or give back (-1) the order's use of its
        promo code: the code's total and, when the code limits it, the customer's count.
        Counting is conditioned on the limits and on the code not being withdrawn."""
        if not order.promo_code:
            return []
        one = {":one": {"N": "1"}}
        if step > 0:
            code_update = {
                "UpdateExpression": "SET uses = uses + :one",
                "ConditionExpression": (
                    "attribute_exists(uses) AND attribute_not_exists(deleted_at)"
                    " AND (attribute_not_exists(max_uses) OR uses < max_uses)"
                ),
                "ExpressionAttributeValues": one,
            }
        else:
            code_update = {
                "UpdateExpression": "SET uses = uses - :one",
                "ConditionExpression": "uses >= :one",
                "ExpressionAttributeValues": one,
            }
        items = [
            {
                "Update": {
                    "TableName": self._promos,
                    "Key": _promo_key(order.promo_code, promos.DEFINITION),
                    **code_update,
                }
            }
        ]
        limit = order.promo_per_customer_limit
        if limit is not None:
            customer_key = _promo_key(order.promo_code, promos.customer_scope(order.customer_id))
            if step > 0:
                customer_update = {
                    "UpdateExpression": "SET uses = if_not_exists(uses, :zero) + :one",
                    "ConditionExpression": "attribute_not_exists(uses) OR uses < :limit",
                    "ExpressionAttributeValues": {**one, ":zero": {"N": "0"}, ":limit": to_value(limit)},
                }
            else:
                customer_update = {
                    "UpdateExpression": "SET uses = uses - :one",
                    "ConditionExpression": "uses >= :one",
                    "ExpressionAttributeValues": one,
                }
            items.append({"Update": {"TableName": self._promos, "Key": customer_key, **customer_update}})
        return items

    def _transact(self, items: list[dict[str, Any]], order_index: int, restaurant_index: int | None) -> None:
        try:
            with aws_errors(_STORE), self._writing():
                self._db.transact_write_items(TransactItems=items)
        except Exception as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = [
                str(r.get("Code") or "None") for r in getattr(exc, "response", {}).get("CancellationReasons", [])
            ]
            if any(code in _TRANSIENT_REASONS for code in reasons):
                raise _throttled(f"transaction cancelled: {reasons}") from exc
            failed = {i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"}
            if not failed:
                raise
            raise Cancelled(
                order=order_index in failed,
                restaurant=restaurant_index is not None and restaurant_index in failed,
                products=any(i < (restaurant_index if restaurant_index is not None else order_index) for i in failed),
                promo=any(i > order_index for i in failed),
            ) from exc


def _order_key(order_id: str) -> dict[str, Any]:
    return {"order_id": {"S": order_id}}


def _promo_key(code: str, scope: str) -> dict[str, Any]:
    return {"code": {"S": code}, "scope": {"S": scope}}


def _promo_read(items: list[dict[str, Any]]) -> domain.PromoRead:
    """A withdrawn code reads as no code."""
    by_scope = {str(item.get("scope")): item for item in items}
    definition = by_scope.get(promos.DEFINITION)
    if definition is not None and definition.get("deleted_at"):
        definition = None
    mine = next((item for scope, item in by_scope.items() if scope != promos.DEFINITION), None)
    return domain.PromoRead(definition, int((mine or {}).get("uses") or 0))


def _order(item: Mapping[str, Any]) -> domain.Order:
    return domain.Order.from_item(from_item(item))


def _status_update(order: domain.Order, moved: domain.Order) -> dict[str, Any]:
    """SET the attributes ``moved`` changed, append its new history entries; conditioned
    on the status and the courier ``order`` was read with."""
    before, after = order.item(), moved.item()
    added = after.get("status_history", [])[len(before.get("status_history", [])) :]
    names = {"#s": "status"}
    values = {":from": to_value(before["status"]), ":h": to_value(added)}
    parts = ["status_history = list_append(status_history, :h)"]
    changed = [
        (name, value)
        for name, value in after.items()
        if name != "status_history" and value is not None and before.get(name) != value
    ]
    for index, (name, value) in enumerate(changed):
        names[f"#x{index}"] = name
        values[f":x{index}"] = to_value(value)
        parts.append(f"#x{index} = :x{index}")
    # Attributes ``moved`` clears (set to None): removed from the item.
    removed = [name for name, value in after.items() if value is None and before.get(name) is not None]
    for index, name in enumerate(removed):
        names[f"#r{index}"] = name
    dropping = (" REMOVE " + ", ".join(f"#r{i}" for i in range(len(removed)))) if removed else ""
    # The courier as read, too: a claim or an unassignment meanwhile makes the move stale.
    names["#courier"] = "courier_id"
    if before.get("courier_id"):
        values[":courier"] = to_value(before["courier_id"])
        same_courier = "#courier = :courier"
    else:
        same_courier = "attribute_not_exists(#courier)"
    return {
        "UpdateExpression": "SET " + ", ".join(parts) + dropping,
        "ConditionExpression": f"#s = :from AND {same_courier}",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _throttled(message: str) -> Exception:
    from chalicelib.domain.errors import ServiceUnavailable

    return ServiceUnavailable(f"The order store is busy ({message}); retry shortly")
