"""The live channel on the real local stack (``python -m devtools.run`` in a subprocess):
the WebSocket is where GET /client-config and the banner say, refuses bad tokens, and
carries an order's changes to its customer and its restaurant's owner as they happen."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from chalicelib.entry.examples import ADDRESS
from devtools.api_keys import WEB_KEY_HEADERS
from tests.localstack import LocalStack
from tests.tokens import expired, forged, minted_with_moto_key, resign, signing_key

PASSWORD = "Chowline-demo-1"


@pytest.fixture(scope="module")
def local_stack():
    stack = LocalStack().start()
    yield stack
    assert stack.stop() == 0


def login(url: str, who: str) -> str:
    out = requests.post(
        f"{url}/auth/login",
        json={"email": f"{who}@demo.chowline.dev", "password": PASSWORD},
        headers=WEB_KEY_HEADERS,
        timeout=10,
    )
    return out.json()["id_token"]


def frames_until(ws, order_id: str, status: str, limit: float = 30.0) -> list[dict]:
    """Frames of ``order_id`` until one with ``status`` (the stack's pipeline polls)."""
    got = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            frame = json.loads(ws.recv(timeout=1))
        except TimeoutError:
            continue
        if frame.get("order_id") == order_id:
            got.append(frame)
            if frame["status"] == status:
                return got
    raise AssertionError(f"no {status} frame for {order_id}; got {got}")


def test_client_config_and_banner_give_the_websocket_url(local_stack):
    config = requests.get(f"{local_stack.url}/client-config", timeout=10).json()  # keyless
    assert config["ws_url"].startswith("ws://127.0.0.1:")
    assert config["web_api_key"] == WEB_KEY_HEADERS["X-Api-Key"]
    assert config["api_url"] == local_stack.url
    assert f"WebSocket  {config['ws_url']}" in local_stack.log_path.read_text()


def test_bad_tokens_are_refused_and_a_good_one_gets_pong(local_stack):
    ws_url = requests.get(f"{local_stack.url}/client-config", timeout=10).json()["ws_url"]
    good = login(local_stack.url, "customer")
    run_key = signing_key(local_stack.signing_key())
    for name, token in {
        "garbage": "not-a-jwt",
        "forged": forged(good),
        "minted with moto's shipped key": minted_with_moto_key(good),
        "expired": expired(good, run_key),
        "wrong audience": resign(good, run_key, aud="another-app-client"),
    }.items():
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{ws_url}/?token={token}", open_timeout=10)
        assert refused.value.response.status_code == 401, name
    with connect(f"{ws_url}/?token={good}", open_timeout=10) as ws:
        ws.send(json.dumps({"action": "ping"}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}


def test_an_order_reaches_its_customer_and_owner_live(local_stack):
    url = local_stack.url
    ws_url = requests.get(f"{url}/client-config", timeout=10).json()["ws_url"]
    customer, owner = login(url, "customer"), login(url, "owner")
    restaurant = local_stack.http.get(f"{url}/restaurants", timeout=10).json()["items"][0]["restaurant_id"]
    menu = local_stack.http.get(f"{url}/restaurants/{restaurant}/products", timeout=10).json()["items"]
    dish = next(p for p in menu if p["available"] and (p.get("stock") is None or p["stock"] > 0))
    with (
        connect(f"{ws_url}/?token={customer}", open_timeout=10) as customer_ws,
        connect(f"{ws_url}/?token={owner}", open_timeout=10) as owner_ws,
    ):
        placed = local_stack.http.post(
            f"{url}/orders",
            headers={"Authorization": f"Bearer {customer}", "Idempotency-Key": f"live-{uuid.uuid4().hex}"},
            json={
                "restaurant_id": restaurant,
                "items": [{"product_id": dish["product_id"], "quantity": 1}],
                "delivery_address": ADDRESS,  # in Austin, where the first listed restaurant delivers
                "payment_token": "tok_visa",
            },
            timeout=10,
        )
        assert placed.status_code == 202, placed.text
        order_id = placed.json()["order_id"]
        seen = [f["status"] for f in frames_until(customer_ws, order_id, "CONFIRMED")]
        assert seen == ["PENDING", "CONFIRMED"]
        assert [f["status"] for f in frames_until(owner_ws, order_id, "CONFIRMED")] == ["PENDING", "CONFIRMED"]
        accepted = local_stack.http.post(
            f"{url}/orders/{order_id}/status",
            headers={"Authorization": f"Bearer {owner}"},
            json={"status": "ACCEPTED"},
            timeout=10,
        )
        assert accepted.status_code == 200, accepted.text
        frame = frames_until(customer_ws, order_id, "ACCEPTED")[-1]
        assert frame["type"] == "order.status" and frame["event_id"] == f"{order_id}:ACCEPTED:order.status"
