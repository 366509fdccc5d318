"""Catalog through the app against the emulator: restaurants, menus, products, pagination,
bad input, HTTP caching and the in-process cache."""

from __future__ import annotations

import json

import pytest

from tests.catalog_support import CatalogApi, body, dynamodb_calls, menu_count, unique


@pytest.fixture(scope="module")
def api(client, headers_for):
    return CatalogApi(client, headers_for)


@pytest.fixture(scope="module")
def owner(new_user):
    """A restaurant owner of their own (user_id, email)."""
    return new_user("customers", "restaurant_owners")


@pytest.fixture
def restaurant(api, owner):
    return api.restaurant(owner[0])


# --- restaurants -------------------------------------------------------------------------


def test_admin_creates_a_restaurant_and_the_owner_joins_the_owners_group(api, aws, stack, new_user):
    user_id, email = new_user("customers")
    created = api.restaurant(user_id, name="Chez Test", city="  new   YORK ", cuisine="French")
    assert created["owner_id"] == user_id
    assert created["city"] == "New York" and created["cuisine"] == "french"
    assert created["is_open"] is True and created["created_at"] == created["updated_at"]
    groups = aws("cognito-idp").admin_list_groups_for_user(UserPoolId=stack["env"]["USER_POOL_ID"], Username=email)
    assert "restaurant_owners" in {g["GroupName"] for g in groups["Groups"]}

    item = aws("dynamodb").get_item(
        TableName=stack["env"]["RESTAURANTS_TABLE"], Key={"restaurant_id": {"S": created["restaurant_id"]}}
    )["Item"]
    assert item["listing"] == {"S": "restaurants"}
    assert item["name_sort"] == {"S": f"chez test#{created['restaurant_id']}"}
    assert item["is_open"] == {"BOOL": True}

    public = api.call("GET", f"/restaurants/{created['restaurant_id']}")
    assert public.status_code == 200
    assert "owner_id" not in body(public) and body(public)["address"] == "1 Main St"


def test_unknown_owner_is_a_404_and_writes_nothing(api, aws, stack):
    city = unique("Nowhere")
    payload = {"name": "Ghost", "city": city, "cuisine": "x", "address": "y", "owner_id": "no-such-user"}
    response = api.call("POST", "/restaurants", "admin", payload)
    assert response.status_code == 404
    assert [e["field"] for e in body(response)["errors"]] == ["owner_id"]
    listed = body(api.call("GET", f"/restaurants?city={city}"))
    assert listed["items"] == []


@pytest.mark.parametrize(
    "change",
    [
        {"owner_id": 5},
        {"name": ""},
        {"cuisine": ["x"]},
        {"is_open": "true"},
        {"rating": 5},
        {"opening_hours": {"someday": ["10:00-12:00"]}},
        {"address": "x" * 301},
    ],
)
def test_bad_restaurant_input_writes_nothing(api, aws, stack, owner, change):
    city = unique("Emptyville")
    valid = {"name": "N", "city": city, "cuisine": "c", "address": "a", "owner_id": owner[0]}
    response = api.call("POST", "/restaurants", "admin", {**valid, **change})
    assert response.status_code == 400, response.body
    assert body(response)["errors"]
    from chalicelib.domain.catalog import canonical_city

    def in_city():
        return aws("dynamodb").query(
            TableName=stack["env"]["RESTAURANTS_TABLE"],
            IndexName="by_city",
            KeyConditionExpression="city = :c",
            ExpressionAttributeValues={":c": {"S": canonical_city(city)}},
            Select="COUNT",
        )["Count"]

    assert in_city() == 0
    assert api.call("POST", "/restaurants", "admin", valid).status_code == 201
    assert in_city() == 1  # the probe sees a write when there is one


def test_get_unknown_restaurant_is_404(api):
    for rid in ("no-such-restaurant", "bad%20id"):
        response = api.call("GET", f"/restaurants/{rid}")
        assert response.status_code == 404
        assert response.headers["Content-Type"] == "application/problem+json"


def test_owner_patches_their_restaurant(api, owner, restaurant):
    path = f"/restaurants/{restaurant['restaurant_id']}"
    hours = {"mon": ["11:00-14:30", "17:00-22:00"]}
    changed = api.call(
        "PATCH", path, owner[1], {"name": "Renamed Diner", "is_open": False, "opening_hours": hours, "cuisine": "BBQ"}
    )
    assert changed.status_code == 200, changed.body
    out = body(changed)
    assert out["name"] == "Renamed Diner" and out["is_open"] is False and out["cuisine"] == "bbq"
    assert out["opening_hours"] == hours and out["updated_at"] >= out["created_at"]
    assert body(api.call("GET", path))["name"] == "Renamed Diner"

    removed = api.call("PATCH", path, owner[1], {"opening_hours": None})
    assert removed.status_code == 200 and body(removed)["opening_hours"] is None

    for bad in (
        {},
        {"name": None},
        {"owner_id": "someone"},
        {"city": "Elsewhere"},
        {"opening_hours": {"mon": ["9-5"]}},
    ):
        assert api.call("PATCH", path, owner[1], bad).status_code == 400, bad


def test_list_filters_by_city_and_cuisine_in_name_order(api, owner):
    city = unique("Testburg")
    cuisine = unique("fusion")
    names = ["delta", "Alpha", "charlie", "bravo", "echo"]
    for index, name in enumerate(names):
        api.restaurant(owner[0], name=name, city=city, cuisine=cuisine if index % 2 else "other")

    in_city = body(api.call("GET", f"/restaurants?city={city.lower()}&limit=100"))
    assert [r["name"] for r in in_city["items"]] == ["Alpha", "bravo", "charlie", "delta", "echo"]
    assert set(in_city["items"][0]) == {
        "restaurant_id",
        "name",
        "city",
        "cuisine",
        "is_open",
        "is_open_now",
        "image_url",
        "distance_km",
    }

    both = body(api.call("GET", f"/restaurants?city={city}&cuisine={cuisine.upper()}"))
    assert [r["name"] for r in both["items"]] == ["Alpha", "bravo"]

    by_cuisine = body(api.call("GET", f"/restaurants?cuisine={cuisine}"))
    assert [r["name"] for r in by_cuisine["items"]] == ["Alpha", "bravo"]

    pages, cursor = [], None
    while True:
        query = f"/restaurants?city={city}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = body(api.call("GET", query))
        pages.append([r["name"] for r in page["items"]])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [n for page in pages for n in page] == ["Alpha", "bravo", "charlie", "delta", "echo"]
    assert len(pages) == 3

    everything = body(api.call("GET", "/restaurants?limit=100"))
    assert len(everything["items"]) >= 3


def test_the_demo_catalog_is_seeded_and_owned_by_the_demo_owner(api, stack):
    owner_id = stack["users"]["owner@demo.chowline.dev"]
    austin = body(api.call("GET", "/restaurants?city=Austin"))["items"]
    portland = body(api.call("GET", "/restaurants?city=portland"))["items"]
    assert len(austin) >= 2 and len(portland) >= 1
    for summary in austin + portland:
        menu = body(api.call("GET", f"/restaurants/{summary['restaurant_id']}/products?limit=100"))["items"]
        assert len(menu) >= 8
        assert all(isinstance(p["stock"], int) and p["stock"] > 0 for p in menu)
        assert all(p["currency"] == "USD" and p["price_cents"] > 0 for p in menu)
    patched = api.call("PATCH", f"/restaurants/{austin[0]['restaurant_id']}", "owner", {"is_open": True})
    assert patched.status_code == 200
    assert body(patched)["owner_id"] == owner_id


# --- products ----------------------------------------------------------------------------


def test_product_lifecycle(api, aws, stack, owner, restaurant):
    rid = restaurant["restaurant_id"]
    created = api.product(
        rid, owner[1], name="Pancakes", description="Stack of 3", price_cents=899, category="Breakfast", stock=5
    )
    assert created["restaurant_id"] == rid and created["currency"] == "USD" and created["available"] is True
    assert created["stock"] == 5 and created["image_url"] is None
    pid = created["product_id"]
    item = aws("dynamodb").get_item(TableName=stack["env"]["PRODUCTS_TABLE"], Key={"product_id": {"S": pid}})["Item"]
    assert item["menu_sort"] == {"S": f"Breakfast#pancakes#{pid}"}
    assert item["price_cents"] == {"N": "899"} and item["available"] == {"BOOL": True}

    unlimited = api.product(rid, owner[1], name="Coffee", price_cents=300, stock=None)
    assert unlimited["stock"] is None and unlimited["category"] == "Other"
    raw = aws("dynamodb").get_item(
        TableName=stack["env"]["PRODUCTS_TABLE"], Key={"product_id": {"S": unlimited["product_id"]}}
    )["Item"]
    assert "stock" not in raw  # absent means unlimited

    patched = api.call(
        "PATCH", f"/products/{pid}", owner[1], {"price_cents": 950, "available": False, "name": "Flapjacks"}
    )
    assert patched.status_code == 200, patched.body
    assert body(patched)["price_cents"] == 950 and body(patched)["available"] is False
    item = aws("dynamodb").get_item(TableName=stack["env"]["PRODUCTS_TABLE"], Key={"product_id": {"S": pid}})["Item"]
    assert item["menu_sort"] == {"S": f"Breakfast#flapjacks#{pid}"}

    to_unlimited = api.call("PATCH", f"/products/{pid}", owner[1], {"stock": None})
    assert body(to_unlimited)["stock"] is None

    public = body(api.call("GET", f"/products/{pid}"))
    assert set(public) >= {
        "product_id",
        "restaurant_id",
        "name",
        "description",
        "price_cents",
        "currency",
        "category",
        "available",
        "stock",
        "image_url",
    }
    menu = body(api.call("GET", f"/restaurants/{rid}/products"))["items"]
    assert [p["name"] for p in menu] == ["Flapjacks", "Coffee"]  # Breakfast < Other; unavailable shown, flagged
    assert menu[0]["available"] is False

    assert api.call("DELETE", f"/products/{pid}", owner[1]).status_code == 204
    assert api.call("GET", f"/products/{pid}").status_code == 404
    assert api.call("DELETE", f"/products/{pid}", owner[1]).status_code == 404
    # A late update after the delete must not bring the product back.
    assert api.call("PATCH", f"/products/{pid}", owner[1], {"price_cents": 1}).status_code == 404
    assert "Item" not in aws("dynamodb").get_item(
        TableName=stack["env"]["PRODUCTS_TABLE"], Key={"product_id": {"S": pid}}
    )


def test_conditional_writes_do_not_resurrect_a_deleted_product(stack):
    """A delete landing between an update's read and its write: the write must fail."""
    from chalicelib.bootstrap import container
    from chalicelib.domain import catalog as model

    repo = container().catalog._products
    item = model.new_product(
        model.ProductCreate(name="Racer", price_cents=100), "race-restaurant", unique("p").replace(" ", "-"), "t"
    )
    assert repo.create(item)
    assert not repo.create(item)  # same id twice: refused
    # Derived from a name that changed meanwhile: refused, nothing written.
    assert repo.update(item["product_id"], {"price_cents": 300}, {"name": "Renamed meanwhile"}) is None
    assert repo.get(item["product_id"])["price_cents"] == 100
    assert repo.delete(item["product_id"], {"restaurant_id": "race-restaurant"})
    assert repo.update(item["product_id"], {"price_cents": 200}) is None
    assert repo.get(item["product_id"]) is None
    assert not repo.delete(item["product_id"])


def test_menu_of_unknown_restaurant_is_404_and_an_empty_menu_is_empty(api, restaurant):
    assert api.call("GET", "/restaurants/nope/products").status_code == 404
    assert api.call("POST", "/restaurants/nope/products", "admin", {"name": "x", "price_cents": 1}).status_code == 404
    empty = api.call("GET", f"/restaurants/{restaurant['restaurant_id']}/products")
    assert empty.status_code == 200 and body(empty) == {"items": [], "next_cursor": None}


BAD_PRODUCTS = [
    (json.dumps({"name": "x", "price_cents": -5}), 400, "price_cents"),
    (json.dumps({"name": "x", "price_cents": 0}), 400, "price_cents"),
    (json.dumps({"name": "x", "price_cents": 100_000_000}), 400, "price_cents"),
    (json.dumps({"name": "x", "price_cents": 1.5}), 400, "price_cents"),
    (json.dumps({"name": "x", "price_cents": "100"}), 400, "price_cents"),
    (json.dumps({"name": "x", "price_cents": True}), 400, "price_cents"),
    (json.dumps({"name": "x", "price_cents": 100, "stock": -1}), 400, "stock"),
    (json.dumps({"name": "x", "price_cents": 100, "stock": "3"}), 400, "stock"),
    (json.dumps({"name": "x", "price_cents": 100, "available": "yes"}), 400, "available"),
    (json.dumps({"name": "x", "price_cents": 100, "colour": "red"}), 400, "colour"),
    (json.dumps({"name": "", "price_cents": 100}), 400, "name"),
    (json.dumps({"name": "x" * 121, "price_cents": 100}), 400, "name"),
    (json.dumps({"name": "x", "price_cents": 100, "category": "a#b"}), 400, "category"),
    (json.dumps({"price_cents": 100}), 400, "name"),
    (json.dumps({"name": "x" * (10 * 1024 * 1024), "price_cents": 100}), 413, None),
    ("{not json", 400, "body"),
    ("[1, 2, 3]", 400, "body"),
    ("", 400, "name"),
]


BAD_PATCHES = [
    ({"price_cents": -5}, 400, "price_cents"),
    ({"price_cents": "650"}, 400, "price_cents"),
    ({"stock": -1}, 400, "stock"),
    ({"available": 1}, 400, "available"),
    ({"currency": "EUR"}, 400, "currency"),
    ({"restaurant_id": "elsewhere"}, 400, "restaurant_id"),
    ({"name": None}, 400, "body"),
    ({}, 400, "body"),
]


@pytest.fixture(scope="module")
def shared_restaurant(api, owner):
    return api.restaurant(owner[0])


@pytest.fixture(scope="module")
def shared_product(api, owner, shared_restaurant):
    return api.product(shared_restaurant["restaurant_id"], owner[1], price_cents=1234)


def _assert_problem(response, status, field):
    assert response.status_code == status, response.body[:300]
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = body(response)
    assert problem["status"] == status and problem["title"] and problem["detail"]
    if field:
        assert field in [e["field"] for e in problem["errors"]], problem


@pytest.mark.parametrize(("raw", "status", "field"), BAD_PRODUCTS, ids=range(len(BAD_PRODUCTS)))
def test_bad_new_product_is_a_problem_and_writes_nothing(api, aws, stack, owner, shared_restaurant, raw, status, field):
    rid = shared_restaurant["restaurant_id"]
    before = menu_count(aws, stack["env"], rid)
    _assert_problem(api.call("POST", f"/restaurants/{rid}/products", owner[1], raw), status, field)
    assert menu_count(aws, stack["env"], rid) == before


@pytest.mark.parametrize(("payload", "status", "field"), BAD_PATCHES, ids=range(len(BAD_PATCHES)))
def test_bad_product_patch_changes_nothing(api, aws, stack, owner, shared_product, payload, status, field):
    pid = shared_product["product_id"]
    table = stack["env"]["PRODUCTS_TABLE"]
    before = aws("dynamodb").get_item(TableName=table, Key={"product_id": {"S": pid}})["Item"]
    _assert_problem(api.call("PATCH", f"/products/{pid}", owner[1], payload), status, field)
    assert aws("dynamodb").get_item(TableName=table, Key={"product_id": {"S": pid}})["Item"] == before


def test_non_json_content_type_is_415(api, owner, shared_restaurant):
    response = api.call(
        "POST",
        f"/restaurants/{shared_restaurant['restaurant_id']}/products",
        owner[1],
        b"name=x",
        **{"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert response.headers["Content-Type"] == "application/problem+json"


# --- pagination --------------------------------------------------------------------------


def _bulk_products(aws, env, restaurant_id, count):
    from chalicelib.adapters.dynamo import to_item
    from chalicelib.domain import catalog as model

    items = [
        model.new_product(
            model.ProductCreate(name=f"Item {n:03d}", price_cents=100 + n, stock=n, category=f"C{n % 7}"),
            restaurant_id,
            f"{restaurant_id[:8]}-p{n:04d}",
            "2026-01-01T00:00:00.000Z",
        )
        for n in range(count)
    ]
    for start in range(0, count, 25):
        requests = [{"PutRequest": {"Item": to_item(item)}} for item in items[start : start + 25]]
        out = aws("dynamodb").batch_write_item(RequestItems={env["PRODUCTS_TABLE"]: requests})
        assert not out.get("UnprocessedItems")
    return items


def test_250_products_in_pages_of_100(api, aws, stack, owner):
    rid = api.restaurant(owner[0])["restaurant_id"]
    items = _bulk_products(aws, stack["env"], rid, 250)
    pages, cursor = [], None
    while True:
        path = f"/restaurants/{rid}/products?limit=100" + (f"&cursor={cursor}" if cursor else "")
        response = api.call("GET", path)
        assert response.status_code == 200, response.body
        page = body(response)
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 10
    assert [len(p) for p in pages] == [100, 100, 50]
    ids = [p["product_id"] for page in pages for p in page]
    assert len(ids) == len(set(ids)) == 250
    expected = [item["product_id"] for item in sorted(items, key=lambda i: i["menu_sort"])]
    assert ids == expected  # menu order, no gaps, no duplicates


def test_tampered_or_foreign_cursors_are_400(api, aws, stack, owner):
    first = api.restaurant(owner[0])["restaurant_id"]
    second = api.restaurant(owner[0])["restaurant_id"]
    _bulk_products(aws, stack["env"], first, 3)
    _bulk_products(aws, stack["env"], second, 3)
    cursor = body(api.call("GET", f"/restaurants/{first}/products?limit=1"))["next_cursor"]
    foreign = body(api.call("GET", f"/restaurants/{second}/products?limit=1"))["next_cursor"]
    listing = body(api.call("GET", "/restaurants?limit=1"))["next_cursor"]
    assert cursor and foreign and listing
    assert api.call("GET", f"/restaurants/{first}/products?limit=1&cursor={cursor}").status_code == 200

    token, _, signature = cursor.partition(".")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1] + "." + signature
    for bad in (flipped, foreign, listing, "garbage", cursor + "x"):
        response = api.call("GET", f"/restaurants/{first}/products?limit=1&cursor={bad}")
        assert response.status_code == 400, bad
        assert body(response)["errors"][0]["field"] == "cursor"
    city_cursor = body(api.call("GET", "/restaurants?city=Austin&limit=1"))["next_cursor"]
    assert api.call("GET", f"/restaurants?city=Portland&cursor={city_cursor}").status_code == 400
    for query in ("limit=0", "limit=101", "limit=x", "colour=red"):
        assert api.call("GET", f"/restaurants/{first}/products?{query}").status_code == 400, query


# --- HTTP caching and the in-process cache -----------------------------------------------


def test_etag_and_304(api, owner, restaurant):
    rid = restaurant["restaurant_id"]
    product = api.product(rid, owner[1], price_cents=500)
    path = f"/restaurants/{rid}/products"
    first = api.call("GET", path)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('"') and len(etag) == 34
    assert first.headers["Cache-Control"] == "public, max-age=30"

    # The same bytes whoever asks: shared caches may key on path and query alone.
    as_owner = api.call("GET", path, owner[1])
    assert as_owner.body == first.body and as_owner.headers["ETag"] == etag

    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        cached = api.call("GET", path, **{"If-None-Match": header})
        assert cached.status_code == 304, header
        assert cached.body in (b"", "") and cached.headers["ETag"] == etag
    assert api.call("GET", path, **{"If-None-Match": '"stale"'}).status_code == 200

    api.call("PATCH", f"/products/{product['product_id']}", owner[1], {"price_cents": 650})
    changed = api.call("GET", path, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert body(changed)["items"][0]["price_cents"] == 650

    for public in ("/restaurants", f"/restaurants/{rid}", f"/products/{product['product_id']}"):
        response = api.call("GET", public)
        again = api.call("GET", public, **{"If-None-Match": response.headers["ETag"]})
        assert response.status_code == 200 and again.status_code == 304, public


def test_menu_read_is_one_query_cold_and_no_call_warm(api, owner, restaurant):
    rid = restaurant["restaurant_id"]
    for n in range(3):
        api.product(rid, owner[1], name=f"Dish {n}")
    path = f"/restaurants/{rid}/products?limit=50"
    with dynamodb_calls() as cold:
        assert api.call("GET", path).status_code == 200
    assert cold == ["Query"]
    with dynamodb_calls() as warm:
        for _ in range(3):
            assert api.call("GET", path).status_code == 200
    assert warm == []
    with dynamodb_calls() as restaurant_read:
        api.call("GET", f"/restaurants/{rid}")
        api.call("GET", f"/restaurants/{rid}")
    assert restaurant_read in ([], ["GetItem"])


def test_own_write_invalidates_the_cached_menu_and_restaurant(api, owner, restaurant):
    rid = restaurant["restaurant_id"]
    product = api.product(rid, owner[1], price_cents=700)
    path = f"/restaurants/{rid}/products"
    assert body(api.call("GET", path))["items"][0]["price_cents"] == 700
    assert body(api.call("GET", f"/products/{product['product_id']}"))["price_cents"] == 700
    api.call("PATCH", f"/products/{product['product_id']}", owner[1], {"price_cents": 725})
    with dynamodb_calls() as calls:
        assert body(api.call("GET", path))["items"][0]["price_cents"] == 725
        assert body(api.call("GET", f"/products/{product['product_id']}"))["price_cents"] == 725
    assert calls == ["Query", "GetItem"]

    added = api.product(rid, owner[1], name="Zucchini fries")
    assert added["product_id"] in [p["product_id"] for p in body(api.call("GET", path))["items"]]
    api.call("DELETE", f"/products/{added['product_id']}", owner[1])
    assert added["product_id"] not in [p["product_id"] for p in body(api.call("GET", path))["items"]]

    assert body(api.call("GET", f"/restaurants/{rid}"))["is_open"] is True
    api.call("PATCH", f"/restaurants/{rid}", owner[1], {"is_open": False})
    assert body(api.call("GET", f"/restaurants/{rid}"))["is_open"] is False
    city = body(api.call("GET", f"/restaurants?city={restaurant['city']}&limit=100"))["items"]
    assert next(r for r in city if r["restaurant_id"] == rid)["is_open"] is False


def test_no_catalog_route_scans(api, owner, restaurant):
    rid = restaurant["restaurant_id"]
    with dynamodb_calls() as calls:
        product = api.product(rid, owner[1])
        pid = product["product_id"]
        for method, path, payload in (
            ("GET", "/restaurants", None),
            ("GET", "/restaurants?city=Austin", None),
            ("GET", "/restaurants?cuisine=pizza", None),
            ("GET", "/restaurants?city=Austin&cuisine=mexican", None),
            ("GET", f"/restaurants/{rid}", None),
            ("PATCH", f"/restaurants/{rid}", {"address": "2 Main St"}),
            ("GET", f"/restaurants/{rid}/products", None),
            ("GET", f"/products/{pid}", None),
            ("PATCH", f"/products/{pid}", {"stock": 3}),
            ("POST", f"/products/{pid}/image", {"content_type": "image/png"}),
            ("DELETE", f"/products/{pid}", None),
        ):
            assert api.call(method, path, owner[1], payload).status_code < 300, (method, path)
    assert calls and "Scan" not in calls
