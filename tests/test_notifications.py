"""Notifications from the Orders stream: one SNS message and one inbox record per status
change, once, however often a stream record is delivered; failures are reported back."""

from __future__ import annotations

import json

import pytest

from tests.ordering import body_of, order_body, place, seed_product, seed_restaurant, sub_of, throttle


@pytest.fixture(scope="module")
def pipeline(stack):
    from devtools.pipeline import Pipeline

    pipe = Pipeline(stack["env"], stream_start="LATEST", sweep_every=0)
    pipe.prepare()
    return pipe


@pytest.fixture(scope="module")
def topic_inbox(stack, aws):
    """A standard queue subscribed to order-events: what SNS published."""
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="order-events-probe")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws("sns").subscribe(TopicArn=stack["env"]["ORDER_EVENTS_TOPIC_ARN"], Protocol="sqs", Endpoint=arn)
    return url


def published(aws, url):
    messages = []
    while True:
        out = aws("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        if not out.get("Messages"):
            return messages
        for message in out["Messages"]:
            messages.append(json.loads(message["Body"]))
            aws("sqs").delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def stream_batch(pipeline):
    """The next stream records, Lambda-shaped, without advancing the pipeline."""
    records = pipeline._client("dynamodbstreams").get_records(ShardIterator=pipeline._shard_iterator(), Limit=100)[
        "Records"
    ]
    return {"Records": [pipeline._stream_record(r) for r in records]}


def confirmed_order(stack, aws, client, headers_for, pipeline, topic_inbox, new_user):
    """A new customer's order, processed to CONFIRMED, with its stream records not yet
    notified; returns (email, restaurant_id, order_id, stream event)."""
    pipeline.drain()
    pipeline.drain_stream()
    published(aws, topic_inbox)
    _, email = new_user("customers")
    restaurant = seed_restaurant(aws, sub_of(stack, "owner"))
    dish = seed_product(aws, restaurant, stock=5)
    order_id = body_of(place(client, headers_for(email), order_body(restaurant, [(dish, 1)])))["order_id"]
    pipeline.drain()
    return email, restaurant, order_id, stream_batch(pipeline)


def test_each_status_change_notifies_once(stack, aws, client, headers_for, pipeline, topic_inbox, new_user):
    email, restaurant, order_id, event = confirmed_order(
        stack, aws, client, headers_for, pipeline, topic_inbox, new_user
    )

    import app
    from devtools.lambda_context import LambdaContext

    assert [r["eventName"] for r in event["Records"]] == ["INSERT", "MODIFY"]
    for _ in range(3):
        assert app.notify(event, LambdaContext("notify")) == {"batchItemFailures": []}
    pipeline.drain_stream()

    messages = [m for m in published(aws, topic_inbox) if json.loads(m["Message"])["order_id"] == order_id]
    assert [json.loads(m["Message"])["status"] for m in messages] == ["PENDING", "CONFIRMED"]
    attributes = messages[1]["MessageAttributes"]
    assert attributes["event"]["Value"] == "order.confirmed"
    assert attributes["restaurant_id"]["Value"] == restaurant
    assert attributes["customer_id"]["Value"] == json.loads(messages[1]["Message"])["customer_id"]

    inbox = body_of(client.http.get("/users/me/notifications", headers=headers_for(email)))
    assert [(n["order_id"], n["status"]) for n in inbox["items"]] == [(order_id, "CONFIRMED"), (order_id, "PENDING")]
    first = body_of(client.http.get("/users/me/notifications?limit=1", headers=headers_for(email)))
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = body_of(
        client.http.get(f"/users/me/notifications?limit=1&cursor={first['next_cursor']}", headers=headers_for(email))
    )
    assert rest["items"][0]["status"] == "PENDING"
    assert client.http.get("/users/me/notifications", headers=headers_for()).status_code == 401


def test_failed_records_are_reported_by_sequence_number_and_retried(
    stack, aws, client, headers_for, pipeline, topic_inbox, new_user
):
    email, _, order_id, event = confirmed_order(stack, aws, client, headers_for, pipeline, topic_inbox, new_user)

    import app
    from devtools.lambda_context import LambdaContext

    undo, calls = throttle("Publish", service="sns", code="ThrottlingException")
    try:
        result = app.notify(event, LambdaContext("notify"))
    finally:
        undo()
    assert calls["n"] == 2
    sequence = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
    assert result == {"batchItemFailures": [{"itemIdentifier": s} for s in sequence]}
    assert published(aws, topic_inbox) == []

    # The claims of the failed attempt block a retry until their lease ends: then it goes.
    from chalicelib.bootstrap import container

    service = container().notifications
    original = service._clock
    service._clock = lambda: original() + 120
    try:
        assert app.notify(event, LambdaContext("notify")) == {"batchItemFailures": []}
    finally:
        service._clock = original
    pipeline.drain_stream()
    statuses = [json.loads(m["Message"])["status"] for m in published(aws, topic_inbox)]
    assert statuses == ["PENDING", "CONFIRMED"]
    inbox = body_of(client.http.get("/users/me/notifications", headers=headers_for(email)))["items"]
    assert [n["status"] for n in inbox] == ["CONFIRMED", "PENDING"]
    assert {n["order_id"] for n in inbox} == {order_id}


def test_a_record_without_a_status_change_notifies_nothing():
    from chalicelib.bootstrap import container

    image = {"order_id": {"S": "o"}, "status": {"S": "READY"}, "customer_id": {"S": "c"}, "restaurant_id": {"S": "r"}}
    record = {"eventName": "MODIFY", "dynamodb": {"NewImage": image, "OldImage": image}}
    assert container().notifications.notify(record) is False
    assert container().notifications.notify({"eventName": "REMOVE", "dynamodb": {"OldImage": image}}) is False


def test_a_records_pair_of_recipients_is_served_in_turn_and_a_crowd_at_once():
    """The customer and the owner in the calling thread (no thread started for two calls of
    a few ms); couriers of a READY order at once (a barrier only concurrent calls pass)."""
    import threading

    from chalicelib.services.notifications import SERVED_IN_TURN, _each

    assert set(_each(list(range(SERVED_IN_TURN)), lambda _: threading.get_ident())) == {threading.get_ident()}
    crowd = SERVED_IN_TURN + 3
    barrier = threading.Barrier(crowd, timeout=10)
    assert sorted(_each(list(range(crowd)), lambda _: barrier.wait())) == list(range(crowd))
