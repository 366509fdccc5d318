"""Helpers shared by the catalog tests: API calls with a role, and DynamoDB probes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


class CatalogApi:
    """Calls the app as a given caller (``None``: anonymous)."""

    def __init__(self, client: Any, headers_for: Any) -> None:
        self.client = client
        self.headers_for = headers_for

    def call(self, method: str, path: str, who: str | None = None, payload: Any = None, **headers: str) -> Any:
        if payload is None:
            raw = b""
        elif isinstance(payload, bytes):
            raw = payload
        else:
            raw = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        return self.client.http.request(method, path, headers=self.headers_for(who, **headers), body=raw)

    def restaurant(self, owner_id: str, **fields: Any) -> dict[str, Any]:
        payload = {
            "name": unique("Diner"),
            "city": "Springfield",
            "cuisine": "diner",
            "address": "1 Main St",
            "owner_id": owner_id,
            **fields,
        }
        response = self.call("POST", "/restaurants", "admin", payload)
        assert response.status_code == 201, response.body
        return body(response)

    def product(self, restaurant_id: str, who: str = "admin", **fields: Any) -> dict[str, Any]:
        payload = {"name": unique("Dish"), "price_cents": 1000, "stock": 10, **fields}
        response = self.call("POST", f"/restaurants/{restaurant_id}/products", who, payload)
        assert response.status_code == 201, response.body
        return body(response)


def offset(lat: float, lng: float, km_north: float, km_east: float) -> tuple[float, float]:
    """A point about ``km_north`` and ``km_east`` from (lat, lng) (good to metres at city scale)."""
    import math

    from chalicelib.domain.geo import KM_PER_DEGREE

    return (
        round(lat + km_north / KM_PER_DEGREE, 6),
        round(lng + km_east / (KM_PER_DEGREE * math.cos(math.radians(lat))), 6),
    )


def menu_count(aws: Any, env: dict[str, str], restaurant_id: str) -> int:
    out = aws("dynamodb").query(
        TableName=env["PRODUCTS_TABLE"],
        IndexName="by_restaurant",
        KeyConditionExpression="restaurant_id = :r",
        ExpressionAttributeValues={":r": {"S": restaurant_id}},
        Select="COUNT",
    )
    return int(out["Count"])


@contextmanager
def dynamodb_calls(clients: Any = None) -> Iterator[list[str]]:
    """Records the operation name of every DynamoDB call the app (or ``clients``) makes
    meanwhile, from this thread or one started meanwhile (a lookup's fan-out): the threads
    of a pipeline another test started (its sweeper's Queries) are not this test's."""
    import threading

    from chalicelib.bootstrap import container

    calls: list[str] = []
    others = set(threading.enumerate()) - {threading.current_thread()}

    def record(model: Any, **_: Any) -> None:
        if threading.current_thread() not in others:
            calls.append(model.name)

    events = (clients or container().clients).get("dynamodb").meta.events
    events.register("before-call.dynamodb", record, unique_id="catalog-test-recorder")
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", unique_id="catalog-test-recorder")
