"""What an attacker or a chaos tester tries against the API, each refused cleanly: hostile
JSON on every route, control characters in text, forged cursors, unreachable key sets,
races between a customer and the processor, and tokens that outlive their user."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.ordering import body_of

WRITE_CALLS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def _operations() -> list[Any]:
    import app as app_module

    return [op for op in app_module.api.operations if op.request_model is not None]


def _path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "id_" + uuid.uuid4().hex[:12], template)


@contextmanager
def aws_calls() -> Iterator[list[str]]:
    """Every call the app's AWS clients make meanwhile, as ``service.Operation``."""
    from chalicelib.bootstrap import container

    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(f"{model.service_model.service_name}.{model.name}")

    clients = [container().clients.get(service) for service in ("dynamodb", "cognito-idp", "sqs", "sns")]
    for client in clients:
        client.meta.events.register("before-call", record, unique_id="hardening-recorder")
    try:
        yield calls
    finally:
        for client in clients:
            client.meta.events.unregister("before-call", unique_id="hardening-recorder")


def _send(client: Any, headers_for: Any, op: Any, raw: bytes) -> Any:
    headers = headers_for("admin" if op.roles else None, **{"Idempotency-Key": f"key-{uuid.uuid4().hex}"})
    return client.http.request(op.method, _path(op.path), headers=headers, body=raw)


def _problem(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = body_of(response)
    assert problem["status"] == status and problem["errors"], problem
    return problem


# --- 1, 2: hostile JSON on every JSON route -----------------------------------------------

HOSTILE_BODIES = {
    "deep arrays": b"[" * 990 + b"]" * 990,
    "deep objects": b'{"items":' * 3000 + b"1" + b"}" * 3000,
    "deep inside a valid field": b'{"name": ' + b"[" * 500 + b"]" * 500 + b"}",
    "a repeated key": b'{"name": "a", "name": "b"}',
    "a repeated nested key": b'{"items": [{"quantity": 1, "quantity": 50}]}',
}


@pytest.mark.parametrize("case", sorted(HOSTILE_BODIES))
def test_every_json_route_refuses_deep_nesting_and_repeated_keys_and_writes_nothing(client, headers_for, case) -> None:
    operations = _operations()
    assert len(operations) >= 15
    for op in operations:
        with aws_calls() as calls:
            response = _send(client, headers_for, op, HOSTILE_BODIES[case])
        problem = _problem(response)
        assert calls == [], (op.method, op.path, calls)
        if "repeated" in case:
            field = problem["errors"][0]["field"]
            assert field in {"name", "items[0].quantity"}, problem
            assert "more than once" in problem["errors"][0]["message"]
        else:
            assert problem["errors"] == [{"field": "body", "message": "at most 16 levels of nesting"}], problem


def test_a_repeated_quantity_places_no_order_of_fifty(client, headers_for, aws, stack) -> None:
    from tests.ordering import order_body, seed_product, seed_restaurant, sub_of

    restaurant = seed_restaurant(aws, sub_of(stack, "owner"))
    product = seed_product(aws, restaurant, stock=100)
    text = json.dumps(order_body(restaurant, [(product, 1)]))
    raw = text.replace('"quantity": 1', '"quantity": 1, "quantity": 50')
    headers = headers_for("customer", **{"Idempotency-Key": f"key-{uuid.uuid4().hex}"})
    with aws_calls() as calls:
        response = client.http.post("/orders", headers=headers, body=raw)
    problem = _problem(response)
    assert problem["errors"] == [{"field": "items[0].quantity", "message": "this key appears more than once"}]
    assert "items[0].quantity" in problem["detail"]
    assert calls == []


def test_nesting_within_the_bound_still_parses(client, headers_for) -> None:
    from chalicelib.entry.requests import MAX_JSON_DEPTH, json_depth

    assert json_depth(b'{"a": "[[[[{{{{", "b": [[1]], "c": "\\"[["}') == 3
    # Within the bound the body reaches the model, which names the unknown field.
    raw = b'{"name": ' + b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1) + b"}"
    response = client.http.post("/auth/signup", headers=headers_for(), body=raw)
    problem = _problem(response)
    assert {e["field"] for e in problem["errors"]} >= {"name", "email", "password"}


def test_a_too_large_body_is_413_with_a_field_error(client, headers_for) -> None:
    raw = json.dumps({"name": "x" * (70 * 1024)}).encode()
    problem = _problem(client.http.post("/auth/signup", headers=headers_for(), body=raw), 413)
    assert problem["errors"] == [{"field": "body", "message": "at most 65536 bytes"}]


# --- 3: control characters ------------------------------------------------------------------


def _string_schemas(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        if schema.get("type") == "string":
            yield path, schema
        for key, value in schema.items():
            yield from _string_schemas(value, f"{path}.{key}" if path else key)
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _string_schemas(value, f"{path}[{index}]")


# Strings that are not text: passed to Cognito verbatim, never stored or shown.
NOT_TEXT = {"password", "refresh_token"}


def test_every_string_a_request_takes_refuses_control_characters() -> None:
    """The published schema says so too (schemathesis generates from it)."""
    checked = 0
    for op in _operations():
        for path, schema in _string_schemas(op.request_model.model_json_schema()):
            if "enum" in schema or "const" in schema or path.rsplit(".", 1)[-1].split("[")[0] in NOT_TEXT:
                continue
            name = path.split("properties.")[-1]
            if name in NOT_TEXT:
                continue
            pattern = schema.get("pattern")
            assert pattern, (op.path, path)
            for control in ("\x00", "\r", "\x1b", "\x7f", "\x9b"):
                assert not re.search(pattern, f"a{control}b"), (op.path, path, repr(control))
            checked += 1
    assert checked > 20


@pytest.mark.parametrize(
    ("method", "path_of", "payload", "field"),
    [
        ("POST", lambda ids: f"/restaurants/{ids['restaurant']}/products", {"name": "\x00<script>x"}, "name"),
        ("PATCH", lambda ids: f"/products/{ids['product']}", {"category": "Mains\x1b[31m"}, "category"),
        ("PATCH", lambda ids: f"/products/{ids['product']}", {"description": "one\r\ntwo"}, "description"),
        ("PUT", lambda ids: "/users/me", {"name": "Bob\r\nX-Injected: 1"}, "name"),
        (
            "PUT",
            lambda ids: "/users/me",
            {"addresses": [{"label": "home", "line1": "1\u0085Main", "city": "x", "postcode": "1"}]},
            "addresses[0].line1",
        ),
        ("PATCH", lambda ids: f"/restaurants/{ids['restaurant']}", {"address": "1 Main St\x00"}, "address"),
    ],
)
def test_text_fields_refuse_control_characters(client, headers_for, aws, stack, method, path_of, payload, field):
    from tests.ordering import seed_product, seed_restaurant, sub_of

    restaurant = seed_restaurant(aws, sub_of(stack, "owner"))
    ids = {"restaurant": restaurant, "product": seed_product(aws, restaurant)}
    with aws_calls() as calls:
        response = client.http.request(method, path_of(ids), headers=headers_for("owner"), body=json.dumps(payload))
    problem = _problem(response)
    assert problem["errors"][0]["field"] == field
    assert "control characters" in problem["errors"][0]["message"]
    assert not WRITE_CALLS & {c.split(".")[1] for c in calls}


def test_multi_line_fields_keep_tabs_and_line_feeds(client, headers_for, aws, stack) -> None:
    from tests.ordering import seed_restaurant, sub_of

    restaurant = seed_restaurant(aws, sub_of(stack, "owner"))
    description = "Spicy.\n\tContains: nuts"
    response = client.http.post(
        f"/restaurants/{restaurant}/products",
        headers=headers_for("owner"),
        body=json.dumps({"name": "Curry", "price_cents": 900, "description": description}),
    )
    assert response.status_code == 201, response.body
    assert body_of(response)["description"] == description
    single = client.http.post(
        f"/restaurants/{restaurant}/products",
        headers=headers_for("owner"),
        body=json.dumps({"name": "Curry\tSpecial", "price_cents": 900}),
    )
    assert _problem(single)["errors"] == [{"field": "name", "message": "control characters are not allowed"}]
