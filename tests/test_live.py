"""Live updates over real sockets: the local WebSocket bridge in front of the app's own
handlers, the notifier posting through the management API, SNS mobile push read back from
the emulator, and exactly-once delivery under redelivered stream batches."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.ordering import body_of, order_body, place, seed_product, seed_restaurant
from tests.tokens import expired, forged, minted_with_moto_key, resign, signing_key

WALK = [
    ("owner", "ACCEPTED"),
    ("owner", "PREPARING"),
    ("owner", "READY"),
    ("courier", "claim"),
    ("courier", "PICKED_UP"),
]
WALK += [("courier", "DELIVERED")]
ALL_STATUSES = ["PENDING", "CONFIRMED", "ACCEPTED", "PREPARING", "READY", "PICKED_UP", "DELIVERED"]


@pytest.fixture(scope="module")
def bridge(stack: dict[str, Any]) -> Iterator[Any]:
    from chalicelib import bootstrap
    from devtools.websocket_bridge import WebSocketBridge

    running = WebSocketBridge().start()
    os.environ.update(running.env)
    bootstrap.reset()
    yield running
    running.stop()
    for name in running.env:
        os.environ.pop(name, None)
    bootstrap.reset()


@pytest.fixture(scope="module")
def pipeline(stack: dict[str, Any], bridge: Any) -> Any:
    from devtools.pipeline import Pipeline

    pipe = Pipeline(stack["env"], stream_start="LATEST", sweep_every=0)
    pipe.prepare()
    pipe.drain()
    pipe.drain_stream()
    return pipe


def socket(bridge: Any, token: str) -> Any:
    return connect(f"{bridge.url}/?token={token}", open_timeout=10)


def frames(ws: Any, wait: float = 0.5) -> list[dict[str, Any]]:
    """Everything the socket has received so far (the notifier has finished posting)."""
    got = []
    while True:
        try:
            got.append(json.loads(ws.recv(timeout=wait)))
        except TimeoutError:
            return got


def connection_rows(aws: Any, user_id: str) -> list[dict[str, Any]]:
    out = aws("dynamodb").query(
        TableName=os.environ["CONNECTIONS_TABLE"],
        IndexName="by_user",
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": user_id}},
    )
    return out["Items"]


def rows_settling_at(aws: Any, user_id: str, count: int) -> list[dict[str, Any]]:
    """The user's connection rows once there are ``count`` of them (a closed socket's
    $disconnect runs just after the close), or as they are after a few seconds."""
    import time

    for _ in range(50):
        rows = connection_rows(aws, user_id)
        if len(rows) == count:
            return rows
        time.sleep(0.1)
    return rows


def endpoint_messages(stack: dict[str, Any], endpoint_arn: str) -> list[dict[str, Any]]:
    """What SNS delivered to one platform endpoint, from the emulator's own model data."""
    with urllib.request.urlopen(f"{stack['emulator'].url}/moto-api/data.json", timeout=10) as response:
        data = json.load(response)
    endpoints = [e for e in data["sns"]["PlatformEndpoint"] if e["arn"] == endpoint_arn]
    return [json.loads(m) for e in endpoints for m in e["messages"].values()]


def endpoint_of(aws: Any, user_id: str, device_id: str) -> str:
    item = aws("dynamodb").get_item(
        TableName=os.environ["DEVICES_TABLE"],
        Key={"user_id": {"S": user_id}, "device_id": {"S": device_id}},
    )["Item"]
    return item["endpoint_arn"]["S"]


@pytest.fixture(scope="module")
def people(stack: dict[str, Any], client: Any, new_user: Any, token_for: Any) -> dict[str, tuple[str, str]]:
    """Fresh users per role: (user_id, ID token)."""
    made = {}
    for name, group in [
        ("customer", "customers"),
        ("other_customer", "customers"),
        ("owner", "restaurant_owners"),
        ("courier", "couriers"),
        ("other_courier", "couriers"),
    ]:
        user_id, email = new_user(group)
        made[name] = (user_id, token_for(email))
        if group == "couriers":
            shift = client.http.put("/couriers/me", headers=auth(made[name][1]), body=json.dumps({"available": True}))
            assert shift.status_code == 200, shift.body
    return made


def auth(token: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}


def walk(client: Any, aws: Any, pipeline: Any, people: dict[str, tuple[str, str]], between: Any = None) -> str:
    """One order from placement to DELIVERED, each change notified before the next."""
    restaurant = seed_restaurant(aws, people["owner"][0])
    dish = seed_product(aws, restaurant)
    order_id = body_of(place(client, auth(people["customer"][1]), order_body(restaurant, [(dish, 1)])))["order_id"]
    pipeline.drain()
    pipeline.drain_stream()
    for who, status in WALK:
        if status == "claim":
            response = client.http.post(f"/deliveries/{order_id}/claim", headers=auth(people[who][1]))
        else:
            response = client.http.post(
                f"/orders/{order_id}/status", headers=auth(people[who][1]), body=json.dumps({"status": status})
            )
        assert response.status_code == 200, response.body
        pipeline.drain_stream()
        if between:
            between(status)
    return order_id


def test_each_socket_gets_exactly_its_messages_in_order(stack, aws, client, bridge, pipeline, people):
    sockets = {name: socket(bridge, token) for name, (_, token) in people.items()}
    try:
        order_id = walk(client, aws, pipeline, people)
        got = {name: frames(ws) for name, ws in sockets.items()}
    finally:
        for ws in sockets.values():
            ws.close()

    def seen(name: str) -> list[tuple[str, str]]:
        assert all(f["order_id"] == order_id for f in got[name])
        return [(f["type"], f["status"]) for f in got[name]]

    every_change = [("order.status", s) for s in ALL_STATUSES]
    assert seen("customer") == every_change
    assert seen("owner") == every_change
    assert seen("courier") == [
        ("delivery.available", "READY"),
        ("order.status", "PICKED_UP"),
        ("order.status", "DELIVERED"),
    ]
    assert seen("other_courier") == [("delivery.available", "READY"), ("delivery.taken", "READY")]
    assert seen("other_customer") == []
    first = got["customer"][1]
    assert first["event_id"] == f"{order_id}:CONFIRMED:order.status"
    assert set(first) >= {"type", "event_id", "order_id", "restaurant_id", "status", "at"}

    # Every recipient has the same events in their inbox.
    inbox = body_of(client.http.get("/users/me/notifications", headers=auth(people["other_courier"][1])))["items"]
    assert [(n["kind"], n["status"]) for n in inbox] == [
        ("delivery.taken", "READY"),
        ("delivery.available", "READY"),
    ]
    owner_inbox = body_of(client.http.get("/users/me/notifications?limit=50", headers=auth(people["owner"][1])))
    assert [n["status"] for n in owner_inbox["items"]] == list(reversed(ALL_STATUSES))


def test_ping_gets_pong_and_disconnect_removes_the_row(aws, bridge, people):
    user_id, token = people["other_customer"]
    assert rows_settling_at(aws, user_id, 0) == []
    with socket(bridge, token) as ws:
        assert len(connection_rows(aws, user_id)) == 1
        ws.send(json.dumps({"action": "ping"}))
        assert json.loads(ws.recv(timeout=5)) == {"type": "pong"}
        ws.send("not json")
        ws.send(json.dumps({"action": "ping"}))
        assert json.loads(ws.recv(timeout=5)) == {"type": "pong"}
    assert rows_settling_at(aws, user_id, 0) == []


def bad_tokens(good: str, run_key: Any) -> dict[str, str]:
    """Refused tokens; the claim changes are signed with the emulator's key of this run."""
    return {
        "garbage": "not-a-jwt",
        "forged": forged(good),
        "minted with moto's shipped key": minted_with_moto_key(good),
        "expired": expired(good, run_key),
        "wrong audience": resign(good, run_key, aud="another-client"),
        "access token": resign(good, run_key, token_use="access"),
    }


def test_bad_tokens_are_refused_on_the_bridge(stack, aws, bridge, people):
    user_id, good = people["other_customer"]
    assert rows_settling_at(aws, user_id, 0) == []
    for name, token in {**bad_tokens(good, signing_key(stack["emulator"].signing_key())), "missing": ""}.items():
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{bridge.url}/?token={token}", open_timeout=10)
        assert refused.value.response.status_code == 401, name
    with pytest.raises(InvalidStatus):
        connect(bridge.url, open_timeout=10)
    assert connection_rows(aws, user_id) == []


def test_bad_tokens_are_refused_by_the_handler_as_lambda_calls_it(stack, aws, people):
    import app
    from devtools.lambda_context import LambdaContext

    user_id, good = people["other_customer"]
    assert rows_settling_at(aws, user_id, 0) == []

    def event(token: str | None) -> dict[str, Any]:
        context = {"routeKey": "$connect", "eventType": "CONNECT", "connectionId": f"cid-{token and token[-6:]}="}
        context.update({"apiId": "abc123", "stage": "api", "domainName": "abc123.execute-api.us-east-1.amazonaws.com"})
        query = {"token": token} if token is not None else None
        return {"requestContext": context, "queryStringParameters": query, "headers": {}, "isBase64Encoded": False}

    for name, token in {**bad_tokens(good, signing_key(stack["emulator"].signing_key())), "missing": None}.items():
        answer = app.websocket_connect(event(token), LambdaContext("websocket_connect"))
        assert answer["statusCode"] == 401, name
    assert connection_rows(aws, user_id) == []
    assert app.websocket_connect(event(good), LambdaContext("websocket_connect"))["statusCode"] == 200
    assert len(connection_rows(aws, user_id)) == 1
    connection_id = event(good)["requestContext"]["connectionId"]
    app.websocket_disconnect(
        {"requestContext": {**event(good)["requestContext"], "routeKey": "$disconnect"}}, LambdaContext("x")
    )
    assert connection_rows(aws, user_id) == [] and connection_id


def test_a_post_to_a_closed_socket_removes_its_row(aws, client, bridge, pipeline, people):
    from chalicelib.bootstrap import container

    user_id, token = people["customer"]
    assert rows_settling_at(aws, user_id, 0) == []
    with socket(bridge, token) as open_ws:
        open_id = rows_settling_at(aws, user_id, 1)[0]["connection_id"]["S"]
        closed = socket(bridge, token)
        closed_id = next(
            r["connection_id"]["S"] for r in rows_settling_at(aws, user_id, 2) if r["connection_id"]["S"] != open_id
        )
        closed.close()
        assert rows_settling_at(aws, user_id, 1)[0]["connection_id"]["S"] == open_id
        # On AWS a $disconnect can be lost: the closed socket's row stays behind.
        import time

        now = int(time.time())
        container().live._connections.put(closed_id, user_id, None, now, now + 7200)
        done = container().live.post(user_id, {"type": "order.status", "event_id": "probe"})
        assert done.gone_connections == [closed_id] and done.posted == 1
        assert json.loads(open_ws.recv(timeout=5))["event_id"] == "probe"
        assert [r["connection_id"]["S"] for r in connection_rows(aws, user_id)] == [open_id]


def test_push_each_device_once_per_change_and_disabled_endpoints_are_removed(
    stack, aws, client, bridge, pipeline, people
):
    import app
    from devtools.lambda_context import LambdaContext

    customer_id, token = people["customer"]
    fcm = client.http.post(
        "/users/me/devices", headers=auth(token), body=json.dumps({"platform": "fcm", "token": "f" * 40})
    )
    assert fcm.status_code == 201, fcm.body
    apns = client.http.post(
        "/users/me/devices", headers=auth(token), body=json.dumps({"platform": "apns", "token": "ab" * 32})
    )
    assert apns.status_code == 201
    again = client.http.post(
        "/users/me/devices", headers=auth(token), body=json.dumps({"platform": "fcm", "token": "f" * 40})
    )
    assert again.status_code == 200 and body_of(again)["device_id"] == body_of(fcm)["device_id"]
    listed = body_of(client.http.get("/users/me/devices", headers=auth(token)))["items"]
    assert {d["platform"] for d in listed} == {"fcm", "apns"}
    fcm_arn = endpoint_of(aws, customer_id, body_of(fcm)["device_id"])
    apns_arn = endpoint_of(aws, customer_id, body_of(apns)["device_id"])

    # Every stream batch of the walk is delivered three times.
    batches: list[dict[str, Any]] = []
    original = pipeline.pump_stream

    def pump_three_times() -> int:
        from tests.test_notifications import stream_batch

        event = stream_batch(pipeline)
        if event["Records"]:
            batches.append(event)
            for _ in range(2):
                assert app.notify(event, LambdaContext("notify")) == {"batchItemFailures": []}
        return original()

    pipeline.pump_stream = pump_three_times
    with socket(bridge, token) as ws:
        try:
            order_id = walk(client, aws, pipeline, people)
        finally:
            pipeline.pump_stream = original
        got = frames(ws)
    assert batches
    assert [(f["type"], f["status"]) for f in got] == [("order.status", s) for s in ALL_STATUSES]

    fcm_messages = endpoint_messages(stack, fcm_arn)
    apns_messages = endpoint_messages(stack, apns_arn)
    assert len(fcm_messages) == len(apns_messages) == len(ALL_STATUSES)
    gcm = [json.loads(m["GCM"]) for m in fcm_messages]
    assert [g["data"]["status"] for g in gcm] == ALL_STATUSES
    assert all(g["notification"]["title"] and g["notification"]["body"] for g in gcm)
    assert {g["data"]["order_id"] for g in gcm} == {order_id}
    aps = [json.loads(m["APNS"]) for m in apns_messages]
    assert [a["status"] for a in aps] == ALL_STATUSES
    assert all(a["aps"]["alert"]["body"] for a in aps)

    # The platform disables the FCM endpoint (an expired token): the next push removes it.
    aws("sns").set_endpoint_attributes(EndpointArn=fcm_arn, Attributes={"Enabled": "false"})
    from chalicelib.bootstrap import container

    done = container().push.send(customer_id, {"default": "x", "GCM": "{}", "APNS": "{}", "APNS_SANDBOX": "{}"})
    assert done.gone_devices == [body_of(fcm)["device_id"]] and done.pushed == 1
    listed = body_of(client.http.get("/users/me/devices", headers=auth(token)))["items"]
    assert [d["platform"] for d in listed] == ["apns"]

    deleted = client.http.delete(f"/users/me/devices/{body_of(apns)['device_id']}", headers=auth(token))
    assert deleted.status_code == 204
    assert client.http.delete(f"/users/me/devices/{body_of(apns)['device_id']}", headers=auth(token)).status_code == 404
    assert body_of(client.http.get("/users/me/devices", headers=auth(token)))["items"] == []


def test_device_registration_validates_and_needs_a_signed_in_user(client, people):
    _, token = people["other_customer"]
    bad = client.http.post(
        "/users/me/devices", headers=auth(token), body=json.dumps({"platform": "sms", "token": "x" * 20})
    )
    assert bad.status_code == 400
    anonymous = client.http.post(
        "/users/me/devices", headers={"Content-Type": "application/json"}, body='{"platform":"fcm","token":"abcdefgh"}'
    )
    assert anonymous.status_code == 401


def test_client_config_says_where_to_connect(client, bridge, stack):
    config = body_of(client.http.get("/client-config", headers={"Host": "127.0.0.1:8123"}))
    assert config["ws_url"] == bridge.url
    assert config["api_url"] == "http://127.0.0.1:8123"
    assert config["user_pool_id"] == stack["env"]["USER_POOL_ID"]
    assert config["user_pool_client_id"] == stack["env"]["USER_POOL_CLIENT_ID"]
    assert set(config["push_platforms"]) == {"apns", "apns_sandbox", "fcm"}


def test_a_batch_reads_each_recipients_connections_and_devices_once(
    stack, aws, client, bridge, pipeline, new_user, token_for
):
    """Two orders of one customer at one restaurant, placed and confirmed: four stream
    records in one batch, each for the customer and the owner. Each person's connections and
    devices are read once for the batch, a socket or a device found gone is dropped once, and
    every frame and push still arrives once per change."""
    import time

    import app
    from chalicelib.bootstrap import container
    from devtools.lambda_context import LambdaContext
    from tests.catalog_support import dynamodb_calls
    from tests.test_notifications import stream_batch

    (customer_id, customer_email), (owner_id, owner_email) = new_user("customers"), new_user("restaurant_owners")
    customer, owner = token_for(customer_email), token_for(owner_email)
    device = client.http.post(
        "/users/me/devices", headers=auth(customer), body=json.dumps({"platform": "fcm", "token": "c" * 40})
    )
    assert device.status_code == 201, device.body
    # A second device whose endpoint the platform has disabled (an expired token).
    expired_device = client.http.post(
        "/users/me/devices", headers=auth(customer), body=json.dumps({"platform": "apns", "token": "cd" * 32})
    )
    assert expired_device.status_code == 201, expired_device.body
    expired_arn = endpoint_of(aws, customer_id, body_of(expired_device)["device_id"])
    aws("sns").set_endpoint_attributes(EndpointArn=expired_arn, Attributes={"Enabled": "false"})
    restaurant = seed_restaurant(aws, owner_id)
    dish = seed_product(aws, restaurant)
    pipeline.drain()
    pipeline.drain_stream()
    with socket(bridge, customer) as customer_ws, socket(bridge, owner) as owner_ws:
        rows_settling_at(aws, owner_id, 1)
        # A socket closed without its $disconnect (which AWS can lose): its row stays behind.
        now = int(time.time())
        container().live._connections.put("gone-connection", customer_id, None, now, now + 7200)
        orders = [
            body_of(place(client, auth(customer), order_body(restaurant, [(dish, 1)])))["order_id"] for _ in range(2)
        ]
        pipeline.drain()
        event = stream_batch(pipeline)
        assert len(event["Records"]) == 4
        with dynamodb_calls() as calls:
            assert app.notify(event, LambdaContext("notify")) == {"batchItemFailures": []}
        pipeline.drain_stream()
        customer_frames, owner_frames = frames(customer_ws), frames(owner_ws)
        rows = [r["connection_id"]["S"] for r in connection_rows(aws, customer_id)]

    # Connections and devices of two people: four Queries for four records, not sixteen; the
    # stale connection and the disabled device are each deleted once, not once per record.
    assert calls.count("Query") == 4
    assert calls.count("DeleteItem") == 2
    assert len(rows) == 1 and "gone-connection" not in rows
    listed = body_of(client.http.get("/users/me/devices", headers=auth(customer)))["items"]
    assert [d["platform"] for d in listed] == ["fcm"]
    every_change = sorted((o, s) for o in orders for s in ("PENDING", "CONFIRMED"))
    assert sorted((f["order_id"], f["status"]) for f in customer_frames) == every_change
    assert sorted((f["order_id"], f["status"]) for f in owner_frames) == every_change
    pushed = endpoint_messages(stack, endpoint_of(aws, customer_id, body_of(device)["device_id"]))
    assert sorted(
        (json.loads(m["GCM"])["data"]["order_id"], json.loads(m["GCM"])["data"]["status"]) for m in pushed
    ) == (every_change)
