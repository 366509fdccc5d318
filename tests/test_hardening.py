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
    caller = "courier" if op.roles == frozenset({"couriers"}) else "admin"  # the couriers' own routes
    headers = headers_for(caller if op.roles else None, **{"Idempotency-Key": f"key-{uuid.uuid4().hex}"})
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


# Strings that are not text: passed to Cognito verbatim, never stored or shown (the MFA
# challenge session is as opaque as a refresh token).
NOT_TEXT = {"password", "refresh_token", "session"}


def test_every_string_a_request_takes_refuses_control_characters() -> None:
    """The published schema says so too (schemathesis generates from it)."""
    checked = 0
    for op in _operations():
        for path, schema in _string_schemas(op.request_model.model_json_schema()):
            if "enum" in schema or "const" in schema or path.rsplit(".", 1)[-1].split("[")[0] in NOT_TEXT:
                continue
            if schema.get("format") == "date-time":
                continue  # parsed into an instant, never kept as text
            name = path.split("properties.")[-1]
            if name in NOT_TEXT:
                continue
            pattern = schema.get("pattern")
            assert pattern, (op.path, path)
            for control in ("\x00", "\r", "\x1b", "\x7f", "\x9b"):
                assert not re.search(pattern, f"a{control}b"), (op.path, path, repr(control))
            checked += 1
    assert checked > 20


def _text_fields(model: Any) -> list[str]:
    """The top-level properties of a request model that take free text."""
    from chalicelib.domain.base import text_message

    fields = []
    for name, prop in model.model_json_schema().get("properties", {}).items():
        options = prop.get("anyOf", [prop])
        if any(text_message(str(option.get("pattern", ""))) for option in options):
            fields.append(name)
    return fields


def test_every_json_route_refuses_control_characters_in_each_text_field_and_writes_nothing(client, headers_for) -> None:
    sent = 0
    for op in _operations():
        for field in _text_fields(op.request_model):
            raw = json.dumps({field: "a\x00b"}).encode()
            with aws_calls() as calls:
                response = _send(client, headers_for, op, raw)
            problem = _problem(response)
            errors = {e["field"]: e["message"] for e in problem["errors"]}
            assert "control characters" in errors.get(field, ""), (op.method, op.path, problem)
            assert calls == [], (op.method, op.path, calls)
            sent += 1
    assert sent >= 15


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


# --- 6: the token key set: fetched rarely, and its absence is a 503 -------------------------


class JwksServer:
    """A small HTTP server serving one JWKS, counting the fetches."""

    def __init__(self, document: dict[str, Any]) -> None:
        import http.server
        import threading

        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                payload = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.fetches = 0
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/.well-known/jwks.json"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test"


@pytest.fixture
def signing_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks(signing_key) -> Iterator[JwksServer]:
    from jwt.algorithms import RSAAlgorithm

    jwk = json.loads(RSAAlgorithm.to_jwk(signing_key.public_key()))
    server = JwksServer({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]})
    yield server
    server.stop()


def _id_token(key: Any, kid: str) -> str:
    import time

    import jwt

    now = int(time.time())
    claims = {"sub": "u1", "iss": ISSUER, "aud": "client", "token_use": "id", "iat": now, "exp": now + 600}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


class FakeMonotonic:
    def __init__(self) -> None:
        import time

        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now


def test_a_flood_of_unknown_key_ids_refetches_the_key_set_at_most_once_per_cooldown(
    jwks, signing_key, monkeypatch
) -> None:
    import jwt.jwks_client

    from chalicelib.adapters.token_verifier import CognitoTokenVerifier
    from chalicelib.domain.errors import Unauthorized

    clock = FakeMonotonic()
    monkeypatch.setattr(jwt.jwks_client, "time", clock)
    verifier = CognitoTokenVerifier(jwks.url, ISSUER, "client", cache_seconds=300, refresh_cooldown_seconds=30)
    assert verifier.verify(_id_token(signing_key, "k1"))["sub"] == "u1"
    assert jwks.fetches == 1

    def flood() -> None:
        for _ in range(40):
            with pytest.raises(Unauthorized, match="unknown key"):
                verifier.verify(_id_token(signing_key, f"forged-{uuid.uuid4().hex}"))

    flood()
    assert jwks.fetches == 1  # within the cooldown of the first fetch: none
    clock.now += 31
    flood()
    assert jwks.fetches == 2  # the cooldown passed: one refetch for the whole flood
    clock.now += 10
    flood()
    assert jwks.fetches == 2
    assert verifier.verify(_id_token(signing_key, "k1"))["sub"] == "u1"
    assert jwks.fetches == 2  # the known key is served from the cache


def test_an_unreachable_key_set_is_a_503_with_retry_after_not_a_401(client, token_for) -> None:
    from chalicelib.adapters.token_verifier import CognitoTokenVerifier
    from chalicelib.bootstrap import container
    from devtools.emulator import free_port

    settings = container().settings
    gone = f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"
    verifier = CognitoTokenVerifier(gone, settings.issuer, settings.user_pool_client_id)
    original = container().token_verifier
    container().__dict__["token_verifier"] = verifier.verify
    try:
        response = client.http.get("/users/me", headers={"Authorization": f"Bearer {token_for('customer')}"})
    finally:
        container().__dict__["token_verifier"] = original
    assert response.status_code == 503, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"] == "1"
    assert "WWW-Authenticate" not in response.headers
    assert body_of(response)["status"] == 503
    assert client.http.get("/users/me", headers={"Authorization": token_for("customer")}).status_code == 200


# --- 7: a validly signed cursor of a foreign shape -------------------------------------------


def _foreign_keys(good: dict[str, Any]) -> list[dict[str, Any]]:
    first = next(iter(good))
    return [
        {"x": {"S": "1"}},
        {**good, first: {"N": "1"}},
        {**good, first: {"S": ["nested"]}},
        {**good, first: {"S": ""}},
        {k: v for k, v in good.items() if k != first},
        {**good, "extra": {"S": "1"}},
        {**good, first: "plain"},
    ]


def test_a_signed_cursor_whose_key_is_not_the_lists_key_schema_is_400(client, headers_for, aws, stack) -> None:
    from chalicelib.bootstrap import container
    from tests.ordering import seed_product, seed_restaurant, sub_of

    codec = container().cursors
    customer = sub_of(stack, "customer")
    restaurant = seed_restaurant(aws, sub_of(stack, "owner"))
    seed_product(aws, restaurant)
    lists = [
        (
            "/orders",
            "customer",
            f"orders:by_customer:{customer}:",
            {"order_id": {"S": "o"}, "customer_id": {"S": customer}, "created_at": {"S": "2026"}},
        ),
        (
            f"/restaurants/{restaurant}/products",
            None,
            f"menu|{restaurant}",
            {"product_id": {"S": "p"}, "restaurant_id": {"S": restaurant}, "menu_sort": {"S": "a#b#p"}},
        ),
        (
            "/users/me/notifications",
            "customer",
            f"inbox:{customer}",
            {"user_id": {"S": customer}, "sent_at": {"S": "2026"}},
        ),
    ]
    for path, who, scope, good in lists:
        ok = client.http.get(f"{path}?cursor={codec.encode(good, scope)}", headers=headers_for(who))
        assert ok.status_code == 200, (path, ok.body)  # the right shape pages on
        for key in _foreign_keys(good):
            with aws_calls() as calls:
                response = client.http.get(f"{path}?cursor={codec.encode(key, scope)}", headers=headers_for(who))
            problem = _problem(response)
            assert problem["errors"][0]["field"] == "cursor", (path, key, problem)
            assert not [c for c in calls if c.endswith(".Query")], (path, key)


# --- 8: a cancel racing the processor ----------------------------------------------------------


@contextmanager
def before_first(repo: Any, method: str, meanwhile: Any) -> Iterator[None]:
    """Runs ``meanwhile`` once, just before the first ``repo.<method>`` write: another actor
    getting in between the service's read and its conditional write."""
    real = getattr(repo, method)
    done: list[bool] = []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not done:
            done.append(True)
            meanwhile()
        return real(*args, **kwargs)

    setattr(repo, method, wrapped)
    try:
        yield
    finally:
        delattr(repo, method)


def test_cancel_right_after_placing_wins_over_the_processor_confirming_meanwhile(
    client, headers_for, aws, stack
) -> None:
    from chalicelib.bootstrap import container
    from tests.ordering import ledger, order_body, order_item, place, seed_product, seed_restaurant, stock_of, sub_of

    restaurant = seed_restaurant(aws, sub_of(stack, "owner"))
    product = seed_product(aws, restaurant, stock=10)
    placed = place(client, headers_for("customer"), order_body(restaurant, [(product, 3)]))
    assert placed.status_code == 202, placed.body
    order_id = body_of(placed)["order_id"]
    message = {"order_id": order_id, "restaurant_id": restaurant, "product_ids": [product]}

    def processor_confirms() -> None:
        assert container().order_processor.process(message) == "CONFIRMED"

    with before_first(container().orders_repo, "move", processor_confirms):
        response = client.http.post(f"/orders/{order_id}/cancel", headers=headers_for("customer"))
    assert response.status_code == 200, response.body
    assert body_of(response)["status"] == "CANCELLED"
    stored = order_item(aws, order_id)
    assert [h["status"] for h in stored["status_history"]] == ["PENDING", "CONFIRMED", "CANCELLED"]
    assert stock_of(aws, product) == 10  # taken by the confirmation, returned by the cancel
    assert ledger().refunds[order_id] == ledger().captures[order_id]


def test_a_retried_cancel_still_respects_the_state_machine(client, headers_for, aws, stack) -> None:
    """Confirmed, then accepted by the restaurant between the cancel's read and write: 409."""
    from chalicelib.bootstrap import container
    from chalicelib.domain.orders import StatusChange
    from chalicelib.domain.principal import Principal
    from tests.ordering import order_body, order_item, place, seed_product, seed_restaurant, sub_of

    owner = sub_of(stack, "owner")
    restaurant = seed_restaurant(aws, owner)
    product = seed_product(aws, restaurant, stock=10)
    order_id = body_of(place(client, headers_for("customer"), order_body(restaurant, [(product, 1)])))["order_id"]
    message = {"order_id": order_id, "restaurant_id": restaurant, "product_ids": [product]}
    assert container().order_processor.process(message) == "CONFIRMED"
    owner_principal = Principal(user_id=owner, roles=frozenset({"restaurant_owners"}))

    def owner_accepts() -> None:
        container().orders.change_status(owner_principal, order_id, StatusChange(status="ACCEPTED"))

    with before_first(container().orders_repo, "release", owner_accepts):
        response = client.http.post(f"/orders/{order_id}/cancel", headers=headers_for("customer"))
    assert response.status_code == 409, response.body
    assert order_item(aws, order_id)["status"] == "ACCEPTED"


# --- 9: a deleted user's token ------------------------------------------------------------------


def test_writes_with_the_token_of_a_deleted_account_are_401_and_write_nothing(
    client, stack, aws, new_user, token_for
) -> None:
    from tests.ordering import order_body, order_item, place, seed_product, seed_restaurant, sub_of

    restaurant = seed_restaurant(aws, sub_of(stack, "owner"))
    product = seed_product(aws, restaurant, stock=5)
    user_id, email = new_user("customers")
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token_for(email)}"}
    placed = place(client, headers, order_body(restaurant, [(product, 1)]))
    assert placed.status_code == 202, placed.body  # the account works while it exists
    order_id = body_of(placed)["order_id"]

    aws("cognito-idp").admin_delete_user(UserPoolId=stack["env"]["USER_POOL_ID"], Username=email)
    aws("dynamodb").delete_item(TableName=stack["env"]["USERS_TABLE"], Key={"user_id": {"S": user_id}})

    with aws_calls() as calls:
        again = place(client, headers, order_body(restaurant, [(product, 2)]))
    assert _problem_401(again)
    assert [c for c in calls if not c.endswith(".BatchGetItem")] == []  # one read, no write, no message

    with aws_calls() as calls:
        cancel = client.http.post(f"/orders/{order_id}/cancel", headers=headers)
    assert _problem_401(cancel)
    assert order_item(aws, order_id)["status"] == "PENDING"
    assert [c for c in calls if not c.endswith(".BatchGetItem")] == []

    profile = client.http.put("/users/me", headers=headers, body=json.dumps({"name": "Ghost"}))
    assert _problem_401(profile)
    assert "Item" not in aws("dynamodb").get_item(
        TableName=stack["env"]["USERS_TABLE"], Key={"user_id": {"S": user_id}}, ConsistentRead=True
    )
    # Reads stay open until the token expires (README: "Deleted accounts").
    assert client.http.get("/users/me", headers=headers).status_code == 200


def _problem_401(response: Any) -> bool:
    assert response.status_code == 401, response.body
    assert body_of(response)["detail"] == "This account no longer exists"
    return True


def test_status_changes_check_the_movers_account_in_the_same_read(client, stack, aws, new_user, token_for) -> None:
    from chalicelib.bootstrap import container
    from tests.ordering import order_body, place, seed_product, seed_restaurant

    owner_id, owner_email = new_user("customers", "restaurant_owners")
    restaurant = seed_restaurant(aws, owner_id)
    product = seed_product(aws, restaurant, stock=5)
    customer = {"Content-Type": "application/json", "Authorization": f"Bearer {token_for('customer')}"}
    order_id = body_of(place(client, customer, order_body(restaurant, [(product, 1)])))["order_id"]
    message = {"order_id": order_id, "restaurant_id": restaurant, "product_ids": [product]}
    assert container().order_processor.process(message) == "CONFIRMED"
    owner = {"Content-Type": "application/json", "Authorization": f"Bearer {token_for(owner_email)}"}
    aws("dynamodb").delete_item(TableName=stack["env"]["USERS_TABLE"], Key={"user_id": {"S": owner_id}})
    with aws_calls() as calls:
        response = client.http.post(f"/orders/{order_id}/status", headers=owner, body='{"status": "ACCEPTED"}')
    assert _problem_401(response)
    assert calls == ["dynamodb.BatchGetItem"]


def test_catalog_writes_with_the_token_of_a_deleted_owner_are_401_and_write_nothing(
    client, stack, aws, new_user, token_for
) -> None:
    from tests.ordering import seed_product, seed_restaurant

    owner_id, email = new_user("customers", "restaurant_owners")
    restaurant = seed_restaurant(aws, owner_id)
    product = seed_product(aws, restaurant)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token_for(email)}"}
    assert client.http.patch(f"/products/{product}", headers=headers, body='{"price_cents": 1100}').status_code == 200
    aws("dynamodb").delete_item(TableName=stack["env"]["USERS_TABLE"], Key={"user_id": {"S": owner_id}})
    writes = [
        ("PATCH", f"/products/{product}", {"price_cents": 1}),
        ("DELETE", f"/products/{product}", None),
        ("POST", f"/restaurants/{restaurant}/products", {"name": "Ghost dish", "price_cents": 100}),
        ("PATCH", f"/restaurants/{restaurant}", {"name": "Ghost kitchen"}),
        ("POST", f"/products/{product}/image", {"content_type": "image/png"}),
    ]
    for method, path, payload in writes:
        with aws_calls() as calls:
            response = client.http.request(
                method, path, headers=headers, body=json.dumps(payload) if payload is not None else b""
            )
        assert _problem_401(response), (method, path)
        assert calls == ["dynamodb.BatchGetItem"], (method, path, calls)
    item = aws("dynamodb").get_item(TableName=stack["env"]["PRODUCTS_TABLE"], Key={"product_id": {"S": product}})
    assert item["Item"]["price_cents"] == {"N": "1100"}
