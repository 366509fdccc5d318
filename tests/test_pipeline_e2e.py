"""End to end over HTTP on the real local stack (``devtools.run`` in a subprocess): the
pipeline threads process the order and notify, as Lambda would on AWS."""

from __future__ import annotations

import time
import uuid

import boto3
import pytest

from tests.localstack import LocalStack

STEPS = ["PENDING", "CONFIRMED", "ACCEPTED", "PREPARING", "READY", "PICKED_UP", "DELIVERED"]


@pytest.fixture(scope="module")
def local_stack():
    stack = LocalStack().start()
    yield stack
    assert stack.stop() == 0


def emulator(stack: LocalStack, service: str):
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client(service, endpoint_url=stack.emulator_url)


def seed_menu(stack: LocalStack) -> tuple[str, str]:
    idp = emulator(stack, "cognito-idp")
    pool = idp.list_user_pools(MaxResults=10)["UserPools"][0]["Id"]
    user = idp.admin_get_user(UserPoolId=pool, Username="owner@demo.chowline.dev")
    owner = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    db = emulator(stack, "dynamodb")
    restaurant, dish = f"rst_{uuid.uuid4().hex[:10]}", f"prd_{uuid.uuid4().hex[:10]}"
    db.put_item(
        TableName="chowline-local-restaurants",
        Item={
            "restaurant_id": {"S": restaurant},
            "owner_id": {"S": owner},
            "name": {"S": "E2E Diner"},
            "city": {"S": "Springfield"},
            "cuisine": {"S": "diner"},
            "address": {"S": "1 Main St"},
            "is_open": {"BOOL": True},
            "location": {"M": {"lat": {"N": "39.7907"}, "lng": {"N": "-89.6501"}}},
            "delivery_radius_km": {"N": "5"},
            "listing": {"S": "restaurants"},
            "name_sort": {"S": f"e2e diner#{restaurant}"},
            "created_at": {"S": "2025-01-01T00:00:00.000Z"},
            "updated_at": {"S": "2025-01-01T00:00:00.000Z"},
        },
    )
    db.put_item(
        TableName="chowline-local-products",
        Item={
            "product_id": {"S": dish},
            "restaurant_id": {"S": restaurant},
            "name": {"S": "Pancakes"},
            "description": {"S": ""},
            "price_cents": {"N": "850"},
            "currency": {"S": "USD"},
            "category": {"S": "breakfast"},
            "available": {"BOOL": True},
            "stock": {"N": "10"},
            "menu_sort": {"S": f"breakfast#pancakes#{dish}"},
            "created_at": {"S": "2025-01-01T00:00:00.000Z"},
            "updated_at": {"S": "2025-01-01T00:00:00.000Z"},
        },
    )
    return restaurant, dish


def login(stack: LocalStack, who: str) -> dict[str, str]:
    response = stack.http.post(
        f"{stack.url}/auth/login",
        json={"email": f"{who}@demo.chowline.dev", "password": "Chowline-demo-1"},
        timeout=10,
    )
    return {"Authorization": f"Bearer {response.json()['id_token']}"}


def wait_for(check, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    return check()


def test_order_to_doorstep_with_notifications(local_stack):
    url = local_stack.url
    restaurant, dish = seed_menu(local_stack)
    customer, owner, courier = (login(local_stack, who) for who in ("customer", "owner", "courier"))
    body = {
        "restaurant_id": restaurant,
        "items": [{"product_id": dish, "quantity": 2}],
        "delivery_address": {
            "label": "home",
            "line1": "2 Elm St",
            "city": "Springfield",
            "postcode": "12345",
            "lat": 39.7817,
            "lng": -89.6501,
        },
        "payment_token": "tok_visa",
    }
    placed = local_stack.http.post(
        f"{url}/orders", json=body, headers={**customer, "Idempotency-Key": f"e2e-{uuid.uuid4().hex}"}, timeout=10
    )
    assert placed.status_code == 202, placed.text
    order_id = placed.json()["order_id"]
    assert placed.json()["total_cents"] == 1700

    def status():
        return local_stack.http.get(f"{url}/orders/{order_id}", headers=customer, timeout=10).json()["status"]

    assert wait_for(lambda: status() == "CONFIRMED", 5), status()
    shift = local_stack.http.put(f"{url}/couriers/me", json={"available": True}, headers=courier, timeout=10)
    assert shift.status_code == 200, shift.text
    for who, target in [
        (owner, "ACCEPTED"),
        (owner, "PREPARING"),
        (owner, "READY"),
        (courier, "PICKED_UP"),
        (courier, "DELIVERED"),
    ]:
        moved = local_stack.http.post(
            f"{url}/orders/{order_id}/status", json={"status": target}, headers=who, timeout=10
        )
        assert moved.status_code == 200, (target, moved.text)
        if target == "READY":
            claimed = local_stack.http.post(f"{url}/deliveries/{order_id}/claim", headers=courier, timeout=10)
            assert claimed.status_code == 200, claimed.text

    def steps():
        inbox = local_stack.http.get(f"{url}/users/me/notifications?limit=100", headers=customer, timeout=10).json()
        mine = [n["status"] for n in reversed(inbox["items"]) if n["order_id"] == order_id]
        return mine if mine == STEPS else None

    assert wait_for(steps, 10) == STEPS
