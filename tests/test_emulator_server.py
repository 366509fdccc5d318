"""How the emulator is served (devtools/emulator_server.py, patch 6): HTTP/1.1 keep-alive, so
an AWS client's calls share one connection, with every request's body read whole."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devtools.emulator import FAKE_ENV, Emulator, free_port

# moto routes a call by the service named in its credential scope (the signature is not checked).
DYNAMODB_HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0",
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    running = Emulator(free_port()).start()
    try:
        yield running
    finally:
        running.stop()


def client(emulator: Emulator, service: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=FAKE_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_ENV["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_ENV["AWS_SESSION_TOKEN"],
        region_name=FAKE_ENV["AWS_REGION"],
    )
    return session.client(service, endpoint_url=emulator.url)


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every TCP connection urllib3 opens from now on (a closed one is reopened in place,
    so its pools' own counters do not show it)."""
    import urllib3.connection

    opened: list[Any] = []
    original = urllib3.connection.connection.create_connection

    def counted(*args: Any, **kwargs: Any) -> Any:
        opened.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(urllib3.connection.connection, "create_connection", counted)
    return opened


def test_one_client_makes_its_calls_over_one_connection(emulator, connects):
    db = client(emulator, "dynamodb")
    db.create_table(
        TableName="keep-alive",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(20):
        db.put_item(TableName="keep-alive", Item={"k": {"S": str(i)}})
        assert db.get_item(TableName="keep-alive", Key={"k": {"S": str(i)}})["Item"] == {"k": {"S": str(i)}}
    assert len(connects) == 1


def test_an_answer_without_a_body_leaves_the_connection_usable(emulator, connects):
    s3 = client(emulator, "s3")
    s3.create_bucket(Bucket="keep-alive")
    s3.put_object(Bucket="keep-alive", Key="menu.txt", Body=b"soup of the day")
    assert s3.head_object(Bucket="keep-alive", Key="menu.txt")["ContentLength"] == 15
    assert s3.get_object(Bucket="keep-alive", Key="menu.txt")["Body"].read() == b"soup of the day"
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket="keep-alive", Key="missing.txt")  # a 404 to a HEAD: no body either
    assert s3.get_object(Bucket="keep-alive", Key="menu.txt")["Body"].read() == b"soup of the day"
    assert len(connects) == 1


def dynamodb_request(connection: http.client.HTTPConnection, action: str, body: Any, **kwargs: Any) -> Any:
    headers = {**DYNAMODB_HEADERS, "X-Amz-Target": f"DynamoDB_20120810.{action}", **kwargs.pop("headers", {})}
    connection.request("POST", "/", body=body, headers=headers, **kwargs)
    response = connection.getresponse()
    return response.status, response.getheader("Connection"), json.loads(response.read() or b"null")


def test_a_chunked_body_is_read_whole_and_the_next_request_follows_it(emulator):
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        chunks = iter([b'{"Limit"', b": 5}"])
        status, _, answer = dynamodb_request(connection, "ListTables", chunks, encode_chunked=True)
        assert status == 200 and "TableNames" in answer
        status, connection_header, answer = dynamodb_request(connection, "ListTables", b"{}")
        assert status == 200 and "TableNames" in answer and connection_header is None
    finally:
        connection.close()


def test_a_client_that_asks_to_close_gets_its_answer_then_the_close(emulator):
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        status, connection_header, answer = dynamodb_request(
            connection, "ListTables", b"{}", headers={"Connection": "close"}
        )
        assert (status, connection_header) == (200, "close") and "TableNames" in answer
        assert connection.sock is None  # http.client closed it, as the answer said
    finally:
        connection.close()
