"""Who may do what: every catalog route x every kind of caller -> the expected status."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.catalog_support import CatalogApi, unique

CALLERS = ("anonymous", "customer", "owner_a", "owner_b", "admin")
NO_UPLOAD = "0" * 32
CATALOG_WRITES = {
    "create_restaurant",
    "update_restaurant",
    "add_product",
    "update_product",
    "delete_product",
    "start_product_image",
    "confirm_product_image",
    "start_restaurant_image",
    "confirm_restaurant_image",
}

# (route, method, path, body, statuses for CALLERS in order).
# {a}: restaurant A (owned by owner_a); {p}: a product of A; {fresh}: a new product of A per call;
# {owner_b}: owner_b's user id.
MATRIX: list[tuple[str, str, str, Any, tuple[int, ...]]] = [
    ("list restaurants", "GET", "/restaurants", None, (200, 200, 200, 200, 200)),
    ("list by city", "GET", "/restaurants?city=Springfield&cuisine=diner", None, (200, 200, 200, 200, 200)),
    ("list by location", "GET", "/restaurants?lat=39.78&lng=-89.65", None, (200, 200, 200, 200, 200)),
    (
        "create restaurant",
        "POST",
        "/restaurants",
        {"name": "New", "city": "Springfield", "cuisine": "diner", "address": "1 Elm St", "owner_id": "{owner_b}"},
        (401, 403, 403, 403, 201),
    ),
    ("get restaurant", "GET", "/restaurants/{a}", None, (200, 200, 200, 200, 200)),
    ("get unknown restaurant", "GET", "/restaurants/unknown-id", None, (404, 404, 404, 404, 404)),
    ("patch restaurant", "PATCH", "/restaurants/{a}", {"is_open": True}, (401, 403, 200, 403, 200)),
    ("patch unknown restaurant", "PATCH", "/restaurants/unknown-id", {"is_open": True}, (401, 403, 404, 404, 404)),
    (
        "patch delivery zone and hours",
        "PATCH",
        "/restaurants/{a}",
        {
            "location": {"lat": 39.79, "lng": -89.65},
            "delivery_radius_km": 6,
            "timezone": "America/Chicago",
            "holiday_closures": ["2030-12-25"],
        },
        (401, 403, 200, 403, 200),
    ),
    ("get menu", "GET", "/restaurants/{a}/products", None, (200, 200, 200, 200, 200)),
    ("get unknown menu", "GET", "/restaurants/unknown-id/products", None, (404, 404, 404, 404, 404)),
    (
        "add product",
        "POST",
        "/restaurants/{a}/products",
        {"name": "Soup", "price_cents": 500},
        (401, 403, 201, 403, 201),
    ),
    (
        "add product to unknown",
        "POST",
        "/restaurants/unknown-id/products",
        {"name": "Soup", "price_cents": 500},
        (401, 403, 404, 404, 404),
    ),
    ("get product", "GET", "/products/{p}", None, (200, 200, 200, 200, 200)),
    ("get unknown product", "GET", "/products/unknown-id", None, (404, 404, 404, 404, 404)),
    ("patch product", "PATCH", "/products/{p}", {"price_cents": 999}, (401, 403, 200, 403, 200)),
    ("patch unknown product", "PATCH", "/products/unknown-id", {"price_cents": 999}, (401, 403, 404, 404, 404)),
    ("delete product", "DELETE", "/products/{fresh}", None, (401, 403, 204, 403, 204)),
    ("delete unknown product", "DELETE", "/products/unknown-id", None, (401, 403, 404, 404, 404)),
    ("start product image", "POST", "/products/{p}/image", {"content_type": "image/png"}, (401, 403, 201, 403, 201)),
    (
        "start unknown product image",
        "POST",
        "/products/unknown-id/image",
        {"content_type": "image/png"},
        (401, 403, 404, 404, 404),
    ),
    (
        "confirm product image (nothing uploaded)",
        "PUT",
        "/products/{p}/image",
        {"image_key": "products/{p}/" + NO_UPLOAD},
        (401, 403, 422, 403, 422),
    ),
    (
        "start restaurant image",
        "POST",
        "/restaurants/{a}/image",
        {"content_type": "image/png"},
        (401, 403, 201, 403, 201),
    ),
    (
        "confirm restaurant image (nothing uploaded)",
        "PUT",
        "/restaurants/{a}/image",
        {"image_key": "restaurants/{a}/" + NO_UPLOAD},
        (401, 403, 422, 403, 422),
    ),
    # Accounts: public routes answer everyone alike; signed-in ones take only the caller's
    # own access token in the body (a token that is not theirs is 401).
    ("forgot password", "POST", "/auth/forgot", {"email": "nobody@example.com"}, (202, 202, 202, 202, 202)),
    (
        "reset password with a wrong code",
        "POST",
        "/auth/reset",
        {"email": "nobody@example.com", "code": "000000", "password": "An0ther-secret-pass"},
        (400, 400, 400, 400, 400),
    ),
    (
        "answer mfa without a session",
        "POST",
        "/auth/mfa",
        {"email": "nobody@example.com", "session": "an-expired-session-of-login", "code": "123456"},
        (401, 401, 401, 401, 401),
    ),
    ("logout with a foreign token", "POST", "/auth/logout", {"access_token": "a.b.c"}, (401, 401, 401, 401, 401)),
    ("start mfa with a foreign token", "POST", "/users/me/mfa", {"access_token": "a.b.c"}, (401, 401, 401, 401, 401)),
    (
        "verify mfa with a foreign token",
        "POST",
        "/users/me/mfa/verify",
        {"access_token": "a.b.c", "code": "123456"},
        (401, 401, 401, 401, 401),
    ),
    ("turn mfa off", "DELETE", "/users/me/mfa", None, (401, 204, 204, 204, 204)),
    ("delete account, anonymous", "DELETE", "/users/me", None, (401, None, None, None, None)),
    # Live updates and devices: the caller's own devices only.
    ("client config", "GET", "/client-config", None, (200, 200, 200, 200, 200)),
    ("list my devices", "GET", "/users/me/devices", None, (401, 200, 200, 200, 200)),
    (
        "register a device",
        "POST",
        "/users/me/devices",
        {"platform": "fcm", "token": "matrix-token-1"},
        (401, 201, 201, 201, 201),
    ),
    (
        "register a bad device",
        "POST",
        "/users/me/devices",
        {"platform": "sms", "token": "x"},
        (401, 400, 400, 400, 400),
    ),
    ("remove unknown device", "DELETE", "/users/me/devices/unknown", None, (401, 404, 404, 404, 404)),
    # Money: restaurant terms (its owner, admins) and promo codes (admins).
    (
        "patch restaurant terms",
        "PATCH",
        "/restaurants/{a}",
        {"delivery_fee_cents": 299, "delivery_fee_per_km_cents": 40, "tax_rate": "0.0825", "min_order_cents": 0},
        (401, 403, 200, 403, 200),
    ),
    ("patch a tax rate over 25 %", "PATCH", "/restaurants/{a}", {"tax_rate": "0.3"}, (401, 403, 400, 400, 400)),
    ("list promo codes", "GET", "/promo-codes", None, (401, 403, 403, 403, 200)),
    ("create promo code", "POST", "/promo-codes", {"code": "{code}", "percent_off": 10}, (401, 403, 403, 403, 201)),
    ("withdraw unknown promo code", "DELETE", "/promo-codes/NOSUCHCODE", None, (401, 403, 403, 403, 404)),
]

CELLS = [
    pytest.param(route, method, path, payload, who, expected, id=f"{route}-{who}")
    for route, method, path, payload, statuses in MATRIX
    for who, expected in zip(CALLERS, statuses, strict=True)
    if expected is not None  # deleting the shared demo accounts: see test_account_deletion_by_each_role
]


@pytest.fixture(scope="module")
def world(client, headers_for, new_user, token_for):
    api = CatalogApi(client, headers_for)
    owner_a = new_user("customers", "restaurant_owners")
    owner_b = new_user("customers", "restaurant_owners")
    restaurant_a = api.restaurant(owner_a[0], name=unique("Alpha"))
    api.restaurant(owner_b[0], name=unique("Bravo"))
    product = api.product(restaurant_a["restaurant_id"], owner_a[1])
    callers = {
        "anonymous": None,
        "customer": "customer",
        "owner_a": owner_a[1],
        "owner_b": owner_b[1],
        "admin": "admin",
    }
    return {
        "api": api,
        "a": restaurant_a["restaurant_id"],
        "p": product["product_id"],
        "owner_b_id": owner_b[0],
        **callers,
    }


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, replacement in names.items():
            value = value.replace("{" + name + "}", replacement)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("route", "method", "path", "payload", "who", "expected"), CELLS)
def test_role_matrix(world, route, method, path, payload, who, expected):
    api = world["api"]
    names = {"a": world["a"], "p": world["p"], "owner_b": world["owner_b_id"], "code": unique("M").replace(" ", "")}
    if "{fresh}" in path:
        names["fresh"] = api.product(world["a"], "admin")["product_id"]
    response = api.call(method, _fill(path, names), world[who], _fill(payload, names))
    assert response.status_code == expected, (route, who, response.body[:300])
    if expected >= 400:
        assert response.headers["Content-Type"] == "application/problem+json"
    if expected == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_forged_token_is_401_on_every_protected_catalog_route(world):
    import app as app_module
    from chalicelib.entry.routing import PUBLIC

    api = world["api"]
    protected = [op for op in app_module.api.operations if op.name in CATALOG_WRITES]
    assert len(protected) == len(CATALOG_WRITES) and all(op.roles != PUBLIC for op in protected)
    forged = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4IiwiY29nbml0bzpncm91cHMiOlsiYWRtaW5zIl19.c2ln"
    for op in protected:
        path = op.path.replace("{restaurant_id}", world["a"]).replace("{product_id}", world["p"])
        response = api.client.http.request(
            op.method, path, headers={"Authorization": forged, "Content-Type": "application/json"}, body=b"{}"
        )
        assert response.status_code == 401, (op.method, op.path)


@pytest.mark.parametrize(
    "groups", [("customers",), ("customers", "restaurant_owners"), ("customers", "couriers"), ("customers", "admins")]
)
def test_account_deletion_by_each_role(client, headers_for, new_user, groups):
    """Every signed-in role may delete its own account (a fresh one: the demo accounts stay)."""
    _, email = new_user(*groups)
    response = client.http.delete("/users/me", headers=headers_for(email))
    assert response.status_code == 204, response.body
    again = client.http.post(
        "/auth/login",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"email": email, "password": "Chowline-demo-1"}),
    )
    assert again.status_code == 401
