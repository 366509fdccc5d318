"""Arranging orders in tests: restaurants and products put straight into the emulator's
tables with the agreed catalog item schema, and small HTTP helpers."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

from chalicelib.adapters.dynamo import from_item, to_item
from chalicelib.domain.clock import utc_now_text
from chalicelib.domain.zones import cell_of

# Springfield, Illinois; seeded restaurants stand about 1 km north and deliver within 5 km.
ADDRESS = {
    "label": "home",
    "line1": "1 Main St",
    "city": "Springfield",
    "postcode": "12345",
    "lat": 39.7817,
    "lng": -89.6501,
}
KITCHEN = {"lat": 39.7907, "lng": -89.6501}


def table(name: str) -> str:
    return os.environ[f"{name.upper()}_TABLE"]


def seed_restaurant(aws: Any, owner_id: str, *, is_open: bool = True, name: str | None = None, **terms: Any) -> str:
    """``terms``: pricing terms as the catalog stores them (rates as decimal text)."""
    restaurant_id = f"rst_{uuid.uuid4().hex[:12]}"
    name = name or f"Test Kitchen {restaurant_id[-4:]}"
    now = utc_now_text()
    item = {
        "restaurant_id": restaurant_id,
        "owner_id": owner_id,
        "name": name,
        "city": "Springfield",
        "cuisine": "test",
        "address": "1 Kitchen Rd",
        "is_open": is_open,
        "location": KITCHEN,
        "geo_cell": cell_of(KITCHEN),
        "delivery_radius_km": 5,
        "timezone": "America/Chicago",
        "listing": "restaurants",
        "name_sort": f"{name.lower()}#{restaurant_id}",
        "created_at": now,
        "updated_at": now,
        **terms,
    }
    aws("dynamodb").put_item(TableName=table("restaurants"), Item=to_item(item))
    return restaurant_id


def seed_product(
    aws: Any,
    restaurant_id: str,
    *,
    price_cents: int = 1000,
    stock: int | None = None,
    available: bool = True,
    name: str | None = None,
    category: str = "mains",
) -> str:
    product_id = f"prd_{uuid.uuid4().hex[:12]}"
    name = name or f"Dish {product_id[-4:]}"
    now = utc_now_text()
    item = {
        "product_id": product_id,
        "restaurant_id": restaurant_id,
        "name": name,
        "description": "",
        "price_cents": price_cents,
        "currency": "USD",
        "category": category,
        "available": available,
        "stock": stock,
        "menu_sort": f"{category}#{name.lower()}#{product_id}",
        "created_at": now,
        "updated_at": now,
    }
    aws("dynamodb").put_item(TableName=table("products"), Item=to_item(item))
    return product_id


def set_open(aws: Any, restaurant_id: str, is_open: bool) -> None:
    aws("dynamodb").update_item(
        TableName=table("restaurants"),
        Key={"restaurant_id": {"S": restaurant_id}},
        UpdateExpression="SET is_open = :o",
        ExpressionAttributeValues={":o": {"BOOL": is_open}},
    )


def stock_of(aws: Any, product_id: str) -> int | None:
    item = aws("dynamodb").get_item(
        TableName=table("products"), Key={"product_id": {"S": product_id}}, ConsistentRead=True
    )["Item"]
    return int(item["stock"]["N"]) if "stock" in item else None


def order_item(aws: Any, order_id: str) -> dict[str, Any] | None:
    out = aws("dynamodb").get_item(TableName=table("orders"), Key={"order_id": {"S": order_id}}, ConsistentRead=True)
    return from_item(out["Item"]) if "Item" in out else None


def order_body(restaurant_id: str, lines: list[tuple[str, int]], token: str = "tok_visa", **extra: Any) -> dict:
    return {
        "restaurant_id": restaurant_id,
        "items": [{"product_id": pid, "quantity": q} for pid, q in lines],
        "delivery_address": ADDRESS,
        "payment_token": token,
        **extra,
    }


def place(client: Any, headers: dict[str, str], body: dict, key: str | None = None) -> Any:
    headers = dict(headers)
    if key is not False:
        headers["Idempotency-Key"] = key or f"key-{uuid.uuid4().hex}"
    return client.http.post("/orders", headers=headers, body=json.dumps(body))


def body_of(response: Any) -> Any:
    return json.loads(response.body)


def ledger() -> Any:
    from chalicelib.bootstrap import container

    return container().payment_provider.ledger


def provider() -> Any:
    from chalicelib.bootstrap import container

    return container().payment_provider


def sub_of(stack: dict[str, Any], who: str) -> str:
    return stack["users"][f"{who}@demo.chowline.dev"]


def hook(service: str, event: str, handler: Any) -> Any:
    """Registers a botocore event handler on the app's own client; returns an undo."""
    from chalicelib.bootstrap import container

    events = container().clients.get(service).meta.events
    events.register(event, handler)
    return lambda: events.unregister(event, handler)


def throttle(operation: str, service: str = "dynamodb", code: str = "ProvisionedThroughputExceededException") -> Any:
    """Every ``operation`` call of the app's client fails with ``code`` until undone."""
    from botocore.exceptions import ClientError

    calls = {"n": 0}

    def fail(**_: Any) -> None:
        calls["n"] += 1
        raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

    undo = hook(service, f"before-call.{service}.{operation}", fail)
    return undo, calls


def new_customer(n: int = 0) -> Any:
    """A customer with a profile, as sign-up leaves one (writes need an account that exists)."""
    from chalicelib.bootstrap import container
    from chalicelib.domain.principal import Principal

    user_id = f"cust-{uuid.uuid4().hex[:8]}-{n}"
    container().clients.get("dynamodb").put_item(TableName=table("users"), Item={"user_id": {"S": user_id}})
    return Principal(user_id=user_id, roles=frozenset({"customers"}))
