"""The OpenAPI document: generated from the route table, complete, valid, and served as generated."""

from __future__ import annotations

import json
import re
from typing import Annotated

import pytest
from chalice import Chalice, CognitoUserPoolAuthorizer
from pydantic import Field

import app as app_module
from chalicelib.domain.base import RequestModel, ResponseModel
from chalicelib.domain.paging import ListQuery
from chalicelib.entry import openapi
from chalicelib.entry.routing import PUBLIC, SIGNED_IN, Api, json_response

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture(scope="module")
def document():
    return openapi.generate(app_module.api)


def test_every_chalice_route_has_an_operation_and_back(document):
    routes = {(path, method.lower()) for path, entries in app_module.app.routes.items() for method in entries}
    documented = {(path, method) for path, item in document["paths"].items() for method in item if method in METHODS}
    assert routes - documented == set(), "routes missing from the document: declare them with @api.route"
    assert documented - routes == set()
    assert len({(o.path, o.method) for o in app_module.api.operations}) == len(app_module.api.operations)


def test_the_document_is_valid_openapi_3_1(document):
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

    validate(document, cls=OpenAPIV31SpecValidator)
    assert document["openapi"] == "3.1.0"


def test_every_ref_resolves(document):
    text = json.dumps(document)
    for ref in set(re.findall(r'"\$ref": "#/([^"]+)"', text)):
        node = document
        for part in ref.split("/"):
            node = node[part]
        assert node, ref
    assert "$defs" not in text, "definitions must be hoisted into components/schemas"


def test_security_and_roles_follow_the_route_table(document):
    assert document["components"]["securitySchemes"]["cognito"]["scheme"] == "bearer"
    for op in app_module.api.operations:
        doc = document["paths"][op.path][op.method.lower()]
        assert doc["x-roles"] == sorted(op.roles)
        responses = doc["responses"]
        schemes = {"apiKey": []} if op.api_key_required else {}
        if op.roles:
            assert doc["security"] == [{**schemes, "cognito": []}]
            assert "401" in responses
            assert ("403" in responses) == (op.roles != SIGNED_IN or op.api_key_required)
            assert "Roles" in doc["description"] or "signed-in" in doc["description"]
        else:
            assert doc["security"] == ([schemes] if schemes else [])
            assert "Public" in doc["description"]
        for status in op.statuses:
            assert str(status) in responses, (op.name, status)


def test_error_responses_are_problem_documents_and_path_params_are_declared(document):
    for path, item in document["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for op in item.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    name = response["$ref"].rsplit("/", 1)[-1]
                    content = document["components"]["responses"][name]["content"]
                    assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    problem = document["components"]["schemas"]["Problem"]
    assert problem["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/FieldError"}


def test_request_bodies_come_from_the_models(document):
    login = document["paths"]["/auth/login"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Login"}
    assert login["requestBody"]["required"] is True
    schema = document["components"]["schemas"]["Login"]
    assert set(schema["required"]) == {"email", "password"}
    assert schema["additionalProperties"] is False
    # Every field optional: an empty body is a valid update.
    assert document["paths"]["/users/me"]["put"]["requestBody"]["required"] is False


class _Item(RequestModel):
    product_id: str
    quantity: Annotated[int, Field(ge=1, le=50)]


class _Order(RequestModel):
    items: list[_Item]
    notes: str | None = None


class _OrderOut(ResponseModel):
    order_id: str
    status: str


class _ByStatus(ListQuery):
    status: str | None = None


def _toy_api() -> Api:
    toy = Chalice(app_name="toy", configure_logs=False)
    api = Api(toy, CognitoUserPoolAuthorizer("pool", provider_arns=["arn:aws:cognito-idp:us-east-1:1:userpool/x"]))

    @api.route(
        "/shops/{shop_id}/orders",
        "POST",
        roles=frozenset({"customers"}),
        response_model=_OrderOut,
        statuses=(200, 202, 404, 422),
        extra={
            "headers": {"Idempotency-Key": {"required": True, "description": "one per order"}},
            "response_headers": {202: {"Location": "the order"}, 200: {"Idempotent-Replay": "true on replays"}},
        },
    )
    def place(body: _Order) -> object:
        """Place an order.

        Prices come from the catalog."""
        return json_response({})

    @api.route("/shops/{shop_id}/orders", roles=SIGNED_IN, response_model=list[_OrderOut])
    def list_orders(query: _ByStatus) -> object:
        """List orders."""
        return json_response([])

    @api.route("/ping", roles=PUBLIC, extra={"media_type": "text/plain"})
    def ping() -> object:
        """Ping."""
        return json_response("pong")

    return api


def test_operation_metadata_becomes_parameters_headers_and_responses():
    doc = openapi.generate(_toy_api())
    post = doc["paths"]["/shops/{shop_id}/orders"]["post"]
    params = {(p["in"], p["name"]): p for p in post["parameters"]}
    assert params[("path", "shop_id")]["required"] is True
    assert params[("header", "Idempotency-Key")]["required"] is True
    assert post["description"].startswith("Prices come from the catalog.")
    assert set(post["responses"]) == {"200", "202", "400", "401", "403", "404", "413", "422", "429", "503"}
    assert "Location" in post["responses"]["202"]["headers"]
    assert "Idempotent-Replay" in post["responses"]["200"]["headers"]
    # Nested models are hoisted, with their constraints.
    item = doc["components"]["schemas"]["_Item"]
    assert item["properties"]["quantity"]["maximum"] == 50

    listing = doc["paths"]["/shops/{shop_id}/orders"]["get"]
    query = {p["name"]: p for p in listing["parameters"] if p["in"] == "query"}
    assert set(query) == {"limit", "cursor", "status"}
    assert query["limit"]["schema"]["maximum"] == 100
    assert query["status"]["schema"] == {"type": "string"}
    assert "null" not in json.dumps(query["cursor"]["schema"])
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert "403" in listing["responses"]  # a missing API key
    assert listing["security"] == [{"apiKey": [], "cognito": []}]

    ping = doc["paths"]["/ping"]["get"]
    assert ping["security"] == [{"apiKey": []}] and "text/plain" in ping["responses"]["200"]["content"]


def test_served_document_is_the_generated_one_and_is_cached(client):
    response = client.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == openapi.generate(app_module.api)
    assert openapi.document_text(app_module.api) is openapi.document_text(app_module.api)

    etag = response.headers["ETag"]
    again = client.http.get("/openapi.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.body in (b"", "", None)
    assert client.http.get("/openapi.json", headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [
        ("W/{etag}", 304),  # a weak validator matches: If-None-Match uses the weak comparison
        ('"other", W/{etag}', 304),
        ("*", 304),
        ('W/"other"', 200),
        ("", 200),
    ],
)
def test_document_revalidation_follows_rfc_9110(client, if_none_match, status):
    etag = client.http.get("/openapi.json").headers["ETag"]
    headers = {"If-None-Match": if_none_match.format(etag=etag)} if if_none_match else {}
    assert client.http.get("/openapi.json", headers=headers).status_code == status


def test_docs_page_is_self_contained_html(client):
    response = client.http.get("/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    html = response.body.decode()
    assert "openapi.json" in html and "<script>" in html
    # Every asset is inlined from chalicelib/static: nothing is fetched from elsewhere.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    script = (openapi.STATIC_DIR / "docs.js").read_text()
    assert openapi._sha256(script) in csp


def _success_schemas(document):
    for path, item in document["paths"].items():
        for method, op in item.items():
            for status, response in op["responses"].items():
                if 200 <= int(status) < 300 and "content" in response:
                    for media_type, content in response["content"].items():
                        yield f"{method.upper()} {path}", media_type, content["schema"]


def _named(schema):
    return "$ref" in schema or (bool(schema.get("oneOf")) and all("$ref" in s for s in schema["oneOf"]))


def test_every_json_success_response_has_a_named_schema(document):
    # The OpenAPI document itself is exempt: its schema is the OpenAPI specification's.
    untyped = [
        (op, schema)
        for op, media_type, schema in _success_schemas(document)
        if media_type == "application/json" and op != "GET /openapi.json" and not _named(schema)
    ]
    assert untyped == []


def test_every_list_returns_a_page_of_a_named_item(document):
    schemas = document["components"]["schemas"]
    lists = [op for op in app_module.api.operations if op.query_model and issubclass(op.query_model, ListQuery)]
    assert {f"{op.method} {op.path}" for op in lists} >= {
        "GET /orders",
        "GET /deliveries",
        "GET /restaurants/{restaurant_id}/orders",
        "GET /users/me/notifications",
        "GET /promo-codes",
    }
    for op in lists:
        schema = document["paths"][op.path][op.method.lower()]["responses"]["200"]["content"]["application/json"]
        page = schemas[schema["schema"]["$ref"].rsplit("/", 1)[-1]]
        assert set(page["required"]) >= {"items"}, op.path
        assert "$ref" in page["properties"]["items"]["items"], op.path
        assert {"type": "null"} in page["properties"]["next_cursor"]["anyOf"], op.path


def test_login_answers_say_which_they_are(document):
    schema = document["paths"]["/auth/login"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["discriminator"]["propertyName"] == "kind"
    assert set(schema["discriminator"]["mapping"]) == {"tokens", "challenge"}
    for name in ("TokensOut", "ChallengeOut"):
        assert "kind" in document["components"]["schemas"][name]["required"]
    from chalicelib.domain.accounts import ChallengeOut, TokensOut

    assert TokensOut(id_token="i", access_token="a", expires_in=3600).model_dump()["kind"] == "tokens"
    assert ChallengeOut(challenge="SOFTWARE_TOKEN_MFA", session="s").model_dump()["kind"] == "challenge"


def test_the_document_names_its_server(document):
    assert document["servers"] == openapi.SERVERS
    assert document["servers"][0]["url"] == "."


def test_every_operation_but_the_keyless_ones_takes_an_api_key(document):
    from chalicelib.entry.routing import KEYLESS_PATHS

    assert document["components"]["securitySchemes"]["apiKey"] == {
        **document["components"]["securitySchemes"]["apiKey"],
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
    }
    for path, methods in app_module.app.routes.items():
        for method, entry in methods.items():
            assert entry.api_key_required is (path not in KEYLESS_PATHS), (method, path)
            security = document["paths"][path][method.lower()]["security"]
            assert any("apiKey" in s for s in security) is entry.api_key_required, (method, path)
    assert document["paths"]["/health"]["get"]["security"] == []
    assert document["paths"]["/restaurants"]["get"]["security"] == [{"apiKey": []}]


ACCOUNT_LIFECYCLE = {
    ("/auth/forgot", "post"): ("202", "ForgotPassword"),
    ("/auth/reset", "post"): ("204", "ResetPassword"),
    ("/auth/mfa", "post"): ("200", "MfaAnswer"),
    ("/auth/logout", "post"): ("204", "AccessTokenBody"),
    ("/users/me/mfa", "post"): ("201", "AccessTokenBody"),
    ("/users/me/mfa/verify", "post"): ("204", "MfaVerify"),
    ("/users/me/mfa", "delete"): ("204", None),
    ("/users/me", "delete"): ("204", None),
}


@pytest.mark.parametrize(("path", "method"), sorted(ACCOUNT_LIFECYCLE))
def test_account_lifecycle_routes_are_documented(document, path, method):
    status, body = ACCOUNT_LIFECYCLE[(path, method)]
    operation = document["paths"][path][method]
    assert status in operation["responses"]
    if body:
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith(f"/{body}")
    else:
        assert "requestBody" not in operation
    assert "409" in document["paths"]["/users/me"]["delete"]["responses"]
    assert "401" in document["paths"]["/auth/mfa"]["post"]["responses"]


def test_delivery_zones_and_hours_are_documented(document):
    schemas = document["components"]["schemas"]
    listing = document["paths"]["/restaurants"]["get"]
    assert {"lat", "lng"} <= {p["name"] for p in listing["parameters"]}
    zone_fields = {"location", "delivery_radius_km", "timezone", "opening_hours", "holiday_closures"}
    for model in ("RestaurantCreate", "RestaurantUpdate", "Restaurant"):
        assert zone_fields <= set(schemas[model]["properties"]), model
    assert schemas["RestaurantCreate"]["properties"]["delivery_radius_km"]["maximum"] == 15
    assert {"is_open_now", "distance_km"} <= set(schemas["RestaurantSummary"]["properties"])
    assert "is_open_now" in schemas["RestaurantSummary"]["required"]
    address = schemas["PlaceOrder"]["properties"]["delivery_address"]["$ref"].rsplit("/", 1)[-1]
    assert {"lat", "lng"} <= set(schemas[address]["required"])
    assert "distance_km" in schemas["OrderOut"]["properties"]
    placing = document["paths"]["/orders"]["post"]
    assert "422" in placing["responses"]
    assert "out_of_delivery_area" in placing["description"] and "restaurant_closed" in placing["description"]
