"""The emulator's patches (devtools/emulator_server.py): Cognito signs with a key of this run
only, and a DynamoDB transaction that fails leaves the tables exactly as moto's own rollback
does, compared scenario by scenario against moto's server as it ships."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import jwt
import pytest
from botocore.exceptions import ClientError
from jwt.algorithms import RSAAlgorithm

from devtools.emulator import FAKE_ENV, Emulator, free_port
from tests.localstack import ROOT


def _in_own_process(script: str) -> None:
    """Runs ``script`` in a fresh interpreter, as the emulator's process (the patches change
    modules for the whole process); it prints "ok" when its checks pass."""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr


# --- Cognito ----------------------------------------------------------------------------


def jwks_of(emulator: Emulator, pool_id: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{emulator.url}/{pool_id}/.well-known/jwks.json", timeout=5) as response:
        return json.load(response)


def test_jwks_serves_only_the_public_half_of_this_runs_key(stack, token_for):
    keys = jwks_of(stack["emulator"], stack["env"]["USER_POOL_ID"])["keys"]
    assert [k["kid"] for k in keys] == [stack["emulator"].signing_key()["kid"]]
    assert keys[0]["kid"] != "dummy"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(keys[0]), "the JWKS must not publish private members"
    token = token_for("customer")
    assert jwt.get_unverified_header(token)["kid"] == keys[0]["kid"]
    claims = jwt.decode(
        token,
        RSAAlgorithm.from_jwk(json.dumps(keys[0])),
        algorithms=["RS256"],
        audience=stack["env"]["USER_POOL_CLIENT_ID"],
    )
    assert claims["email"] == "customer@demo.chowline.dev"


def test_each_run_has_its_own_key(stack):
    other = Emulator(free_port()).start()
    try:
        assert other.signing_key()["kid"] != stack["emulator"].signing_key()["kid"]
        assert other.signing_key()["n"] != stack["emulator"].signing_key()["n"]
    finally:
        other.stop()
    assert other.signing_key_file is not None and not other.signing_key_file.exists(), "the key leaves with the run"


# --- DynamoDB transactions: the patched emulator against moto as it ships --------------------


def clients(emulator: Emulator) -> tuple[Any, Any]:
    session = boto3.session.Session(
        aws_access_key_id=FAKE_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_ENV["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_ENV["AWS_SESSION_TOKEN"],
        region_name=FAKE_ENV["AWS_REGION"],
    )
    return session.client("dynamodb", endpoint_url=emulator.url), session.client(
        "dynamodbstreams", endpoint_url=emulator.url
    )


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[str, tuple[Any, Any]]]:
    patched, shipped = Emulator(free_port()).start(), Emulator(free_port(), patched=False).start()
    try:
        yield {"patched": clients(patched), "moto": clients(shipped)}
    finally:
        patched.stop()
        shipped.stop()


STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def make_tables(db: Any) -> tuple[str, str]:
    """A keyed table with a GSI and a table with a sort key, both with streams and items."""
    suffix = uuid.uuid4().hex[:8]
    orders, lines = f"orders-{suffix}", f"lines-{suffix}"
    db.create_table(
        TableName=orders,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("id", "status")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification=STREAM,
    )
    db.create_table(
        TableName=lines,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification=STREAM,
    )
    for i in range(3):
        db.put_item(TableName=orders, Item={"id": {"S": f"o{i}"}, "status": {"S": "PENDING"}, "stock": {"N": "5"}})
        db.put_item(TableName=lines, Item={"id": {"S": "o0"}, "n": {"N": str(i)}, "qty": {"N": "1"}})
    return orders, lines


def update(table: str, key: dict[str, Any], expression: str, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": key,
            "UpdateExpression": expression,
            "ExpressionAttributeValues": values,
            **extra,
        }
    }


def order(i: int | str) -> dict[str, Any]:
    return {"id": {"S": f"o{i}"}}


def line(i: int, order_id: str = "o0") -> dict[str, Any]:
    return {"id": {"S": order_id}, "n": {"N": str(i)}}


# Each scenario: (orders table o, lines table t) -> TransactItems.
SCENARIOS: dict[str, Callable[[str, str], list[dict[str, Any]]]] = {
    "success over two tables": lambda o, t: [
        update(o, order(0), "SET stock = stock - :one", {":one": {"N": "1"}}),
        {"Put": {"TableName": t, "Item": {**line(7), "qty": {"N": "2"}}}},
        {"Delete": {"TableName": t, "Key": line(1)}},
    ],
    "last condition fails after writes to both tables": lambda o, t: [
        {"Put": {"TableName": o, "Item": {**order("new"), "status": {"S": "CONFIRMED"}}}},
        update(o, order(0), "SET #s = :c", {":c": {"S": "CONFIRMED"}}, ExpressionAttributeNames={"#s": "status"}),
        {"Delete": {"TableName": t, "Key": line(2)}},
        {"Put": {"TableName": t, "Item": {**line(0, "o-new"), "qty": {"N": "3"}}}},
        {
            "ConditionCheck": {
                "TableName": o,
                "Key": order(1),
                "ConditionExpression": "#s = :x",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":x": {"S": "CONFIRMED"}},
            }
        },
    ],
    "stock would go below zero, with the old item returned": lambda o, t: [
        update(o, order(1), "SET stock = stock - :one", {":one": {"N": "1"}}),
        update(
            o,
            order(2),
            "SET stock = stock - :many",
            {":many": {"N": "9"}},
            ConditionExpression="stock >= :many",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
        update(t, line(0), "SET qty = qty + :one", {":one": {"N": "1"}}),
    ],
    "an update that creates an item, then a failed put condition": lambda o, t: [
        update(
            o,
            order("created"),
            "SET stock = :z, #s = :p",
            {":z": {"N": "0"}, ":p": {"S": "PENDING"}},
            ExpressionAttributeNames={"#s": "status"},
        ),
        {"Put": {"TableName": o, "Item": order(0), "ConditionExpression": "attribute_not_exists(id)"}},
    ],
    "two conditions fail": lambda o, t: [
        {"Delete": {"TableName": o, "Key": order(0), "ConditionExpression": "attribute_not_exists(id)"}},
        update(t, line(1), "SET qty = :q", {":q": {"N": "9"}}),
        {"ConditionCheck": {"TableName": t, "Key": line(9), "ConditionExpression": "attribute_exists(id)"}},
    ],
    "two operations on one item": lambda o, t: [
        update(o, order(0), "SET stock = :z", {":z": {"N": "0"}}),
        {"Put": {"TableName": t, "Item": line(5)}},
        {"ConditionCheck": {"TableName": o, "Key": order(0), "ConditionExpression": "attribute_exists(id)"}},
    ],
    "an invalid update expression after a write": lambda o, t: [
        {"Put": {"TableName": t, "Item": line(6)}},
        update(o, order(0), "SET stock = stock - :missing", {":one": {"N": "1"}}),
    ],
    "a key of the wrong type after a write": lambda o, t: [
        {"Put": {"TableName": o, "Item": order("typed")}},
        {"Put": {"TableName": t, "Item": {"id": {"S": "o0"}, "n": {"S": "not a number"}}}},
    ],
}


def stream_records(db: Any, streams: Any, table: str) -> list[dict[str, Any]]:
    arn = db.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
    return [
        {
            "event": r["eventName"],
            "sequence": r["dynamodb"]["SequenceNumber"],
            "keys": r["dynamodb"]["Keys"],
            "new": r["dynamodb"].get("NewImage"),
            "old": r["dynamodb"].get("OldImage"),
        }
        for r in records
    ]


def state(db: Any, streams: Any, orders: str, lines: str) -> dict[str, Any]:
    def scan(table: str) -> list[dict[str, Any]]:
        return sorted(db.scan(TableName=table, ConsistentRead=True)["Items"], key=json.dumps)

    by_status = db.query(
        TableName=orders,
        IndexName="by_status",
        KeyConditionExpression="#s = :c",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":c": {"S": "CONFIRMED"}},
    )["Items"]
    return {
        "orders": scan(orders),
        "lines": scan(lines),
        "confirmed via index": sorted(by_status, key=json.dumps),
        "orders stream": stream_records(db, streams, orders),
        "lines stream": stream_records(db, streams, lines),
    }


def outcome(db: Any, streams: Any, scenario: str) -> dict[str, Any]:
    orders, lines = make_tables(db)
    try:
        db.transact_write_items(TransactItems=SCENARIOS[scenario](orders, lines))
        error: dict[str, Any] = {}
    except ClientError as exc:
        error = {
            "code": exc.response["Error"]["Code"],
            "message": exc.response["Error"]["Message"],
            "reasons": exc.response.get("CancellationReasons"),
        }
    after = state(db, streams, orders, lines)
    # The tables keep working after the rollback: a later write lands and is streamed.
    db.put_item(TableName=orders, Item={"id": {"S": "after"}, "status": {"S": "CONFIRMED"}})
    later = state(db, streams, orders, lines)
    return {"error": error, "after": after, "after a later write": later}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_transaction_outcome_matches_moto(emulators, scenario):
    patched = outcome(*emulators["patched"], scenario)
    shipped = outcome(*emulators["moto"], scenario)
    assert patched == shipped
    if scenario != "success over two tables":
        assert patched["error"], "the scenario must fail"


def test_a_failed_transaction_leaves_no_trace(emulators):
    db, streams = emulators["patched"]
    orders, lines = make_tables(db)
    before = state(db, streams, orders, lines)
    with pytest.raises(ClientError) as failed:
        db.transact_write_items(
            TransactItems=SCENARIOS["last condition fails after writes to both tables"](orders, lines)
        )
    assert [r["Code"] for r in failed.value.response["CancellationReasons"]] == ["None"] * 4 + [
        "ConditionalCheckFailed"
    ]
    assert state(db, streams, orders, lines) == before


def test_an_open_stream_iterator_survives_a_cancelled_transaction(emulators):
    db, streams = emulators["patched"]
    orders, lines = make_tables(db)
    arn = db.describe_table(TableName=orders)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    with pytest.raises(ClientError):
        db.transact_write_items(
            TransactItems=SCENARIOS["last condition fails after writes to both tables"](orders, lines)
        )
    db.put_item(TableName=orders, Item={"id": {"S": "after"}, "status": {"S": "PENDING"}})
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["id"]["S"]) for r in records] == [("INSERT", "after")]


def test_writes_beside_cancelled_transactions_survive(emulators):
    """moto restores whole tables on cancel, erasing writes made meanwhile; the journal does not."""
    db, _ = emulators["patched"]
    orders, lines = make_tables(db)
    cancelling = SCENARIOS["stock would go below zero, with the old item returned"](orders, lines)
    stop = threading.Event()
    cancelled = 0

    def cancel_repeatedly() -> None:
        nonlocal cancelled
        while not stop.is_set():
            try:
                db.transact_write_items(TransactItems=cancelling)
            except ClientError:
                cancelled += 1

    worker = threading.Thread(target=cancel_repeatedly)
    worker.start()
    try:
        writer = boto3.session.Session().client(
            "dynamodb",
            endpoint_url=db.meta.endpoint_url,
            region_name=FAKE_ENV["AWS_REGION"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for i in range(150):
            writer.put_item(TableName=orders, Item={"id": {"S": f"w{i}"}, "status": {"S": "PENDING"}})
    finally:
        stop.set()
        worker.join()
    assert cancelled > 0
    ids = {item["id"]["S"] for item in db.scan(TableName=orders, ConsistentRead=True)["Items"]}
    assert {f"w{i}" for i in range(150)} <= ids
    assert db.get_item(TableName=orders, Key=order(1))["Item"]["stock"] == {"N": "5"}


# --- DynamoDB answers rendered directly: the same answers as moto's serializer ---------------

EVERY_TYPE = {
    "S": {"S": "text"},
    "N": {"N": "12.50"},
    "B": {"B": b"\x00\xffbytes"},
    "SS": {"SS": ["a", "b"]},
    "NS": {"NS": ["1", "2.5"]},
    "BS": {"BS": [b"\x01", b"\x02"]},
    "BOOL": {"BOOL": False},
    "NULL": {"NULL": True},
    "L": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"L": [{"BOOL": True}]}}}]},
    "M": {"M": {"empty list": {"L": []}, "empty map": {"M": {}}, "inner": {"M": {"s": {"S": "y"}}}}},
}


def answers(db: Any) -> list[Any]:
    """Every action rendered directly, on items with every attribute type (no stream:
    moto encodes binary stream values twice, see the patch), with their metadata left out."""
    orders, _ = make_tables(db)
    table = "every-type"  # one name on both emulators: it is in the answers
    db.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    key = {"id": {"S": "k"}}
    out = [
        db.put_item(TableName=table, Item={**key, **EVERY_TYPE}, ReturnValues="ALL_OLD"),
        db.put_item(TableName=table, Item={**key, **EVERY_TYPE, "v": {"N": "2"}}, ReturnValues="ALL_OLD"),
        db.get_item(TableName=table, Key=key, ConsistentRead=True),
        db.get_item(TableName=table, Key={"id": {"S": "absent"}}),
        db.get_item(
            TableName=table,
            Key=key,
            ProjectionExpression="#m.inner, NS",
            ExpressionAttributeNames={"#m": "M"},
        ),
        db.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET v = v + :one, #l = list_append(#l, :more) REMOVE #null",
            ExpressionAttributeNames={"#l": "L", "#null": "NULL"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":more": {"L": [{"B": b"\x03"}]}},
            ReturnValues="ALL_NEW",
            ReturnConsumedCapacity="TOTAL",
        ),
        db.query(TableName=table, KeyConditionExpression="id = :k", ExpressionAttributeValues={":k": key["id"]}),
        db.query(
            TableName=orders,
            IndexName="by_status",
            KeyConditionExpression="#s = :p",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":p": {"S": "PENDING"}},
            Limit=2,
        ),
        db.scan(TableName=table, Select="COUNT"),
        db.batch_get_item(RequestItems={table: {"Keys": [key, {"id": {"S": "absent"}}]}}),
        db.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"id": {"S": "k2"}, **EVERY_TYPE}}}]}),
        db.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": {"id": {"S": "k2"}}}}]),
        db.transact_write_items(TransactItems=[{"Delete": {"TableName": table, "Key": {"id": {"S": "k2"}}}}]),
        db.delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD"),
    ]
    for answer in out:
        answer.pop("ResponseMetadata", None)
    return out


def test_answers_rendered_directly_match_moto(emulators):
    patched, shipped = answers(emulators["patched"][0]), answers(emulators["moto"][0])
    for mine, moto in zip(patched, shipped, strict=True):
        assert mine == moto
    assert patched[2]["Item"]["B"] == {"B": b"\x00\xffbytes"}


def test_stream_records_rendered_directly_match_moto(emulators):
    def read(db: Any, streams: Any) -> list[dict[str, Any]]:
        orders, _ = make_tables(db)
        db.update_item(
            TableName=orders,
            Key=order(0),
            UpdateExpression="SET history = :h",
            ExpressionAttributeValues={":h": {"L": [{"M": {"at": {"S": "now"}, "n": {"N": "1"}}}]}},
        )
        arn = db.describe_table(TableName=orders)["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
        for record in records:
            assert record["dynamodb"].pop("ApproximateCreationDateTime").year >= 2025
            record.pop("eventID")
            record["dynamodb"].pop("SizeBytes")  # moto's counts the creation time's digits
        return records

    patched, shipped = read(*emulators["patched"]), read(*emulators["moto"])
    assert patched == shipped
    assert patched[-1]["dynamodb"]["NewImage"]["history"]["L"][0]["M"]["n"] == {"N": "1"}


def test_an_item_over_the_size_limit_is_refused_as_by_moto(emulators):
    """Patch 5 sizes a new item once: the same refusals as moto's attribute-by-attribute sum."""

    def outcomes(db: Any) -> list[str]:
        table, _ = make_tables(db)
        found = []
        for size in (200_000, 404_000, 406_000):
            item = {"id": {"S": f"big-{size}"}, "a": {"S": "x" * (size // 2)}, "b": {"S": "y" * (size // 2)}}
            try:
                db.put_item(TableName=table, Item=item)
                found.append("written")
            except ClientError as exc:
                found.append(exc.response["Error"]["Code"])
        return found

    patched = outcomes(emulators["patched"][0])
    assert patched == outcomes(emulators["moto"][0])
    assert patched[0] == "written" and patched[-1] == "ValidationException"


# --- patch 7: each expression parsed once ----------------------------------------------------


def test_a_repeated_expression_binds_each_calls_own_names_and_values_as_moto_does(emulators):
    """The same update and condition texts again and again, with other names and values each
    time, and a malformed one twice: the same items and errors as moto parsing afresh."""

    def outcomes(db: Any) -> list[Any]:
        orders, _ = make_tables(db)
        found: list[Any] = []

        def attempt(**call: Any) -> None:
            try:
                db.update_item(TableName=orders, **call)
                found.append(db.get_item(TableName=orders, Key=call["Key"], ConsistentRead=True)["Item"])
            except ClientError as exc:
                found.append((exc.response["Error"]["Code"], exc.response["Error"]["Message"]))

        for i, (field, take, least) in enumerate([("stock", 2, 2), ("status", 0, 0), ("stock", 9, 9), ("stock", 1, 1)]):
            values = {":n": {"N": str(take)}, ":least": {"N": str(least)}}
            if field == "status":
                values = {":n": {"S": "CONFIRMED"}, ":least": {"S": "PENDING"}}
            attempt(
                Key=order(i % 2),
                UpdateExpression="SET #f = :n",
                ConditionExpression="attribute_exists(id) AND #f >= :least",
                ExpressionAttributeNames={"#f": field},
                ExpressionAttributeValues=values,
            )
        for _ in range(2):  # the same text, names and values: the second finds the stock at 0
            attempt(
                Key=order(0),
                UpdateExpression="SET stock = :n",
                ConditionExpression="stock >= :least",
                ExpressionAttributeValues={":n": {"N": "0"}, ":least": {"N": "1"}},
            )
        for _ in range(2):
            attempt(
                Key=order(2),
                UpdateExpression="SET stock = stock - :absent",
                ExpressionAttributeValues={":n": {"N": "1"}},
            )
        return found

    patched = outcomes(emulators["patched"][0])
    assert patched == outcomes(emulators["moto"][0])
    assert patched[0]["stock"] == {"N": "2"} and patched[1]["status"] == {"S": "CONFIRMED"}
    assert patched[2][0] == "ConditionalCheckFailedException" and patched[-1] == patched[-2]
    assert patched[4]["stock"] == {"N": "0"} and patched[5][0] == "ConditionalCheckFailedException"


def test_an_expression_is_parsed_once_by_its_text():
    """In a process of its own, as the emulator's: the patch must not reach this one's moto."""
    script = """
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

from devtools.emulator_server import parse_expressions_once

lexed = []
lex_one = ConditionExpressionParser._lex_one_node
ConditionExpressionParser._lex_one_node = lambda self, rest: lexed.append(rest) or lex_one(self, rest)
parse_expressions_once()

tree = UpdateExpressionParser.make("SET a = :b, c = c + :d")
assert UpdateExpressionParser.make("SET a = :b, c = c + :d") is tree
item = Item({"S": "k"}, None, {"id": {"S": "k"}, "stock": {"N": "3"}})
def holds(least):
    values = {":least": {"N": str(least)}}
    parser = ConditionExpressionParser("attribute_exists(id) AND stock >= :least", {}, values)
    return parser.parse().expr(item)
assert holds(2) and (after_first := len(lexed)) > 0
assert not holds(4) and len(lexed) == after_first

from moto.dynamodb import models
def condition(least):
    return models.get_filter_expression("stock >= :least", None, {":least": {"N": str(least)}})
assert condition(2) is condition(2), "a condition's tree is kept by its text, names and values"
assert condition(4) is not condition(2) and condition(2).expr(item) and not condition(4).expr(item)
print("ok")
"""
    _in_own_process(script)


# --- patch 12: an update expression's own checks made once ------------------------------

# (expression, names, values) in turn on one item (id o0, a table keyed by id): each text comes
# back with other names, so a check that passed for one set of names must run for the next.
UPDATES: list[tuple[str, dict[str, str] | None, dict[str, Any]]] = [
    ("SET #f = :v", {"#f": "status"}, {":v": {"S": "CONFIRMED"}}),
    ("SET #f = :v", {"#f": "id"}, {":v": {"S": "o9"}}),  # the key: refused
    ("SET #f = :v", {"#f": "status"}, {":v": {"S": "READY"}}),
    ("SET #a = :v, #b = :w", {"#a": "x", "#b": "y"}, {":v": {"N": "1"}, ":w": {"N": "2"}}),
    ("SET #a = :v, #b = :w", {"#a": "x", "#b": "x"}, {":v": {"N": "1"}, ":w": {"N": "2"}}),  # twice: refused
    ("SET #a = :v, #b = :w", {"#a": "y", "#b": "x"}, {":v": {"N": "3"}, ":w": {"N": "4"}}),
    (
        "SET stock = stock - :q, h = list_append(if_not_exists(h, :e), :h)",
        None,
        {":q": {"N": "2"}, ":e": {"L": []}, ":h": {"L": [{"S": "a"}]}},
    ),
    (
        "SET stock = stock - :q, h = list_append(if_not_exists(h, :e), :h)",
        None,
        {":q": {"N": "1"}, ":e": {"L": []}, ":h": {"L": [{"S": "b"}]}},
    ),
    (
        "SET stock = stock - :q, h = list_append(if_not_exists(h, :e), :h)",
        None,
        {":q": {"S": "x"}, ":e": {"L": []}, ":h": {"L": []}},
    ),
    ("SET m.n = :v REMOVE x ADD tags :t", None, {":v": {"N": "1"}, ":t": {"SS": ["a"]}}),  # no map m: refused
    ("SET m = :m", None, {":m": {"M": {"n": {"N": "0"}}}}),
    ("SET m.n = :v REMOVE x ADD tags :t", None, {":v": {"N": "1"}, ":t": {"SS": ["a"]}}),
    ("SET a = :v SET b = :v", None, {":v": {"N": "1"}}),  # two SET clauses: refused
    ("SET a = :v SET b = :v", None, {":v": {"N": "1"}}),
    ("SET m.n = :v, m = :m", None, {":v": {"N": "1"}, ":m": {"M": {}}}),  # overlapping paths: refused
    ("SET #f = :v", {"#f": "status"}, {":v": {"S": ""}}),
    ("SET missing = missing + :v", None, {":v": {"N": "1"}}),  # no such attribute: refused
    ("SET #f = :v", {"#f": "status", "#unused": "x"}, {":v": {"S": "DONE"}}),  # an unused name: refused
]


def test_repeated_update_expressions_with_other_names_end_as_moto_ends_them(emulators):
    """Each text again with names that make it valid or not: the same item after every
    update, the same errors, in UpdateItem and in a transaction, as moto checking afresh."""

    def outcomes(db: Any) -> list[Any]:
        orders, _ = make_tables(db)
        found: list[Any] = []
        for via_transaction in (False, True):
            for expression, names, values in UPDATES:
                call = {"Key": order(0), "UpdateExpression": expression, "ExpressionAttributeValues": values}
                if names:
                    call["ExpressionAttributeNames"] = names
                try:
                    if via_transaction:
                        db.transact_write_items(TransactItems=[{"Update": {"TableName": orders, **call}}])
                    else:
                        db.update_item(TableName=orders, **call)
                    found.append(db.get_item(TableName=orders, Key=order(0), ConsistentRead=True)["Item"])
                except ClientError as exc:
                    found.append((exc.response["Error"]["Code"], exc.response["Error"]["Message"]))
        return found

    patched = outcomes(emulators["patched"][0])
    assert patched == outcomes(emulators["moto"][0])
    refused = [i for i, (_, names, _) in enumerate(UPDATES) if isinstance(patched[i], tuple)]
    assert refused == [1, 4, 8, 9, 12, 13, 14, 16, 17], patched
    assert patched[2]["status"] == {"S": "READY"} and patched[5]["y"] == {"N": "3"}
    assert patched[7]["h"] == {"L": [{"S": "a"}, {"S": "b"}]} and patched[7]["stock"] == {"N": "2"}
    assert patched[11]["m"] == {"M": {"n": {"N": "1"}}} and patched[11]["tags"] == {"SS": ["a"]}


def test_an_update_expressions_own_checks_run_once_for_its_names():
    """In a process of its own, as the emulator's: the checks that read only the expression,
    its names and the key run on a text's first use with those names; every other pass, on
    every call."""
    script = """
import os
os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"})
from collections import Counter
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.parsing import ast_nodes
from devtools.emulator_server import UPDATE_PASSES, check_updates_once, parse_expressions_once

parse_expressions_once()
check_updates_once()
passes = Counter()
walk = ast_nodes.DepthFirstTraverser.traverse
ast_nodes.DepthFirstTraverser.traverse = lambda self, node: passes.update([type(self).__name__]) or walk(self, node)
db = dynamodb_backends["123456789012"]["us-east-1"]
db.create_table("t", schema=[{"AttributeName": "id", "KeyType": "HASH"}],
    attr=[{"AttributeName": "id", "AttributeType": "S"}], throughput=None, billing_mode="PAY_PER_REQUEST",
    indexes=None, global_indexes=None, streams=None, sse_specification=None, tags=None,
    deletion_protection_enabled=False, warm_throughput=None)
db.put_item("t", {"id": {"S": "k"}, "n": {"N": "5"}})
for names in ({"#f": "n"}, {"#f": "n"}, {"#f": "m"}, {"#f": "n"}):
    db.update_item("t", {"id": {"S": "k"}}, "SET #f = :v", names, {":v": {"N": "1"}})
static, every = UPDATE_PASSES[:3], UPDATE_PASSES[3:]
assert all(passes[name] == 2 for name in static), passes
assert all(passes[name] == 4 for name in every), passes
print("ok")
"""
    _in_own_process(script)


# --- Queries read their partition only (patch 8) ----------------------------------------


def indexed_tables(db: Any) -> tuple[str, str]:
    """A keyed table with a GSI with a sort key, and a table with a sort key and a GSI
    without one: the shapes of the app's tables."""
    suffix = uuid.uuid4().hex[:8]
    keyed, sorted_ = f"keyed-{suffix}", f"sorted-{suffix}"
    db.create_table(
        TableName=keyed,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("id", "owner", "at")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_owner",
                "KeySchema": [
                    {"AttributeName": "owner", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification=STREAM,
    )
    db.create_table(
        TableName=sorted_,
        KeySchema=[{"AttributeName": "user", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "user", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
            {"AttributeName": "audience", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_audience",
                "KeySchema": [{"AttributeName": "audience", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return keyed, sorted_


def writes(seed: int, keyed: str, sorted_: str) -> list[tuple[str, dict[str, Any]]]:
    """A fixed random mix of every write that moves an item into, out of or across an index
    partition: puts that replace, updates that set or remove the index keys (or create the
    item), deletes, batch writes, and transactions that commit or are cancelled."""
    import random

    rng = random.Random(seed)
    owners, audiences = ["r1", "r2", "r3"], ["couriers", "owners"]

    def keyed_item() -> dict[str, Any]:
        item = {"id": {"S": f"o{rng.randrange(12)}"}, "at": {"S": f"{rng.randrange(100):03d}"}}
        if rng.random() < 0.8:
            item["owner"] = {"S": rng.choice(owners)}
        return item

    def sorted_item() -> dict[str, Any]:
        item = {"user": {"S": f"u{rng.randrange(3)}"}, "n": {"N": str(rng.randrange(6))}}
        if rng.random() < 0.7:
            item["audience"] = {"S": rng.choice(audiences)}
        return item

    def keyed_update() -> dict[str, Any]:
        if rng.random() < 0.5:
            return {
                "TableName": keyed,
                "Key": {"id": {"S": f"o{rng.randrange(12)}"}},
                "UpdateExpression": "SET #o = :o, #a = :a",
                "ExpressionAttributeNames": {"#o": "owner", "#a": "at"},
                "ExpressionAttributeValues": {
                    ":o": {"S": rng.choice(owners)},
                    ":a": {"S": f"{rng.randrange(100):03d}"},
                },
            }
        return {
            "TableName": keyed,
            "Key": {"id": {"S": f"o{rng.randrange(12)}"}},
            "UpdateExpression": "REMOVE #o",
            "ExpressionAttributeNames": {"#o": "owner"},
        }

    steps: list[tuple[str, dict[str, Any]]] = []
    for _ in range(160):
        kind = rng.choice(["put", "put", "update", "delete", "batch", "transact", "cancelled", "refused"])
        if kind == "put":
            table, item = (keyed, keyed_item()) if rng.random() < 0.6 else (sorted_, sorted_item())
            steps.append(("put_item", {"TableName": table, "Item": item}))
        elif kind == "update":
            steps.append(("update_item", keyed_update()))
        elif kind == "delete":
            if rng.random() < 0.5:
                steps.append(("delete_item", {"TableName": keyed, "Key": {"id": {"S": f"o{rng.randrange(12)}"}}}))
            else:
                key = sorted_item()
                steps.append(("delete_item", {"TableName": sorted_, "Key": {"user": key["user"], "n": key["n"]}}))
        elif kind == "batch":
            puts = {keyed_item()["id"]["S"]: keyed_item() for _ in range(3)}
            requests = [{"PutRequest": {"Item": {**item, "id": {"S": i}}}} for i, item in puts.items()]
            requests.append({"DeleteRequest": {"Key": {"id": {"S": f"o{rng.randrange(12, 14)}"}}}})
            steps.append(("batch_write_item", {"RequestItems": {keyed: requests}}))
        elif kind == "refused":  # a failed condition writes nothing
            update = {**keyed_update(), "ConditionExpression": "attribute_exists(nothing_has_this)"}
            steps.append(("update_item", update))
        else:
            item = keyed_item()
            items = [
                {"Put": {"TableName": sorted_, "Item": sorted_item()}},
                {"Update": keyed_update()},
                {"Put": {"TableName": keyed, "Item": {**item, "id": {"S": f"o{rng.randrange(12, 16)}"}}}},
            ]
            if kind == "cancelled":  # the last item's condition fails: nothing of it stays
                items.append(
                    {
                        "ConditionCheck": {
                            "TableName": keyed,
                            "Key": {"id": {"S": "o0"}},
                            "ConditionExpression": "attribute_exists(nothing_has_this)",
                        }
                    }
                )
            steps.append(("transact_write_items", {"TransactItems": items}))
    return steps


def every_query(db: Any, keyed: str, sorted_: str) -> list[Any]:
    """Every partition of both tables and both indexes, both ways, in pages of 2."""
    asked = [
        {"TableName": keyed, "KeyConditionExpression": "id = :v", "values": [f"o{i}" for i in range(16)]},
        {
            "TableName": sorted_,
            "KeyConditionExpression": "#u = :v",
            "names": {"#u": "user"},
            "values": ["u0", "u1", "u2"],
        },
        {
            "TableName": keyed,
            "IndexName": "by_owner",
            "KeyConditionExpression": "#o = :v",
            "names": {"#o": "owner"},
            "values": ["r1", "r2", "r3", "r9"],
        },
        {
            "TableName": sorted_,
            "IndexName": "by_audience",
            "KeyConditionExpression": "audience = :v",
            "values": ["couriers", "owners"],
        },
    ]
    pages = []
    for query in asked:
        for value in query["values"]:
            for forward in (True, False):
                params: dict[str, Any] = {
                    "TableName": query["TableName"],
                    "KeyConditionExpression": query["KeyConditionExpression"],
                    "ExpressionAttributeValues": {":v": {"S": value}},
                    "ScanIndexForward": forward,
                    "Limit": 2,
                }
                if "IndexName" in query:
                    params["IndexName"] = query["IndexName"]
                if "names" in query:
                    params["ExpressionAttributeNames"] = query["names"]
                while True:
                    out = db.query(**params)
                    pages.append((value, forward, out["Items"], out.get("LastEvaluatedKey"), out["ScannedCount"]))
                    if "LastEvaluatedKey" not in out:
                        break
                    params["ExclusiveStartKey"] = out["LastEvaluatedKey"]
    return pages


def apply(db: Any, steps: list[tuple[str, dict[str, Any]]], check: Callable[[], None]) -> list[str]:
    """The writes in order, ``check`` after every tenth; returns each write's outcome."""
    outcomes = []
    for n, (call, params) in enumerate(steps):
        try:
            getattr(db, call)(**params)
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])
        if n % 10 == 9:
            check()
    return outcomes


def test_queries_read_only_their_partition_and_answer_as_moto_does(emulators):
    """The partitions patch 8 keeps answer every Query (tables and indexes, both ways, paged)
    exactly as moto's walk over the whole table, through a fixed random mix of writes that
    move items into, out of and across partitions, cancelled transactions included."""
    patched_db, moto_db = emulators["patched"][0], emulators["moto"][0]
    names = [indexed_tables(db) for db in (patched_db, moto_db)]
    # The first Query builds the index partitions; every later write keeps them.
    assert every_query(patched_db, *names[0]) == every_query(moto_db, *names[1]) != []
    answers: dict[str, list[Any]] = {"patched": [], "moto": []}
    outcomes = {}
    for side, db, (keyed, sorted_) in (("patched", patched_db, names[0]), ("moto", moto_db, names[1])):
        steps = writes(20261203, keyed, sorted_)
        outcomes[side] = apply(
            db, steps, lambda db=db, k=keyed, s=sorted_, side=side: answers[side].append(every_query(db, k, s))
        )

    def plain(value: Any, tables: tuple[str, str]) -> Any:  # the table names differ by their suffix
        return json.loads(json.dumps(value).replace(tables[0], "keyed").replace(tables[1], "sorted"))

    assert outcomes["patched"] == outcomes["moto"]
    assert {"ok", "TransactionCanceledException", "ConditionalCheckFailedException"} <= set(outcomes["patched"])
    assert plain(answers["patched"], names[0]) == plain(answers["moto"], names[1])
    assert len(answers["patched"]) == 16 and any(page[2] for pages in answers["patched"] for page in pages)


def test_a_query_compares_only_the_items_of_its_partition():
    """In a process of its own, as the emulator's: 2,000 items in 100 partitions of a table
    and of its index; a Query of one compares a few dozen values, moto's walk thousands."""
    script = """
import os, sys
import boto3
from moto import mock_aws
from moto.dynamodb.models.dynamo_type import DynamoType

if sys.argv[1] == "patched":
    from devtools.emulator_server import query_partitions_only
    query_partitions_only()

compared = [0]
for name in ("__eq__", "__lt__"):
    original = getattr(DynamoType, name)
    def counted(self, other, original=original):
        compared[0] += 1
        return original(self, other)
    setattr(DynamoType, name, counted)

with mock_aws():
    db = boto3.client("dynamodb", region_name="us-east-1")
    db.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "s", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("p", "s", "g")],
        GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(0, 2000, 25):
        db.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": {
            "p": {"S": f"p{j % 100}"}, "s": {"S": f"{j:05d}"}, "g": {"S": f"g{j % 100}"}}}} for j in range(i, i + 25)]})
    db.query(TableName="t", IndexName="by_g", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "g1"}})
    counts = []
    for params in ({"KeyConditionExpression": "p = :v"}, {"IndexName": "by_g", "KeyConditionExpression": "g = :v"}):
        compared[0] = 0
        out = db.query(TableName="t", ExpressionAttributeValues={":v": {"S": "p7" if "p =" in params["KeyConditionExpression"] else "g7"}}, **params)
        assert out["Count"] == 20, out["Count"]
        counts.append(compared[0])
print(*counts)
"""
    # moto in process: no emulator of a stack this process may have started.
    env = {**{k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}, **FAKE_ENV}
    counts = {}
    for side in ("patched", "moto"):
        done = subprocess.run(
            [sys.executable, "-c", script, side],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        counts[side] = [int(n) for n in done.stdout.split()]
    assert all(n < 400 for n in counts["patched"]), counts  # the partition: 20 items, sorted
    assert all(n > 2000 for n in counts["moto"]), counts  # every item of the table, sorted


def test_what_outlives_a_full_collection_is_frozen():
    """Patch 9, in a process of its own: a full collection freezes its survivors, so the next
    one does not walk them again; a young collection freezes nothing."""
    script = """
import gc
from devtools.emulator_server import freeze_after_full_collections

freeze_after_full_collections()
items = [{"n": [i]} for i in range(20000)]
gc.collect(0)
assert gc.get_freeze_count() == 0, gc.get_freeze_count()
gc.collect()
assert gc.get_freeze_count() >= 40000, gc.get_freeze_count()
print("ok")
"""
    _in_own_process(script)


# --- Serving: signed calls straight to their handler (patch 10) --------------------------------


class _Captured(Exception):
    """Raised from botocore's before-send: the signed request is kept, not sent."""


def signed_calls() -> list[tuple[str, Any]]:
    """(service, botocore's signed request) for calls of each directly served service:
    answers, client errors and a validation error."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    made: list[tuple[str, Any]] = []
    table = {"TableName": "direct", "Key": {"k": {"S": "1"}}}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        (
            "dynamodb",
            "create_table",
            {
                "TableName": "direct",
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
                "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            },
        ),
        ("dynamodb", "put_item", {"TableName": "direct", "Item": {"k": {"S": "1"}, "n": {"N": "2"}}}),
        ("dynamodb", "get_item", table),
        (
            "dynamodb",
            "put_item",
            {"TableName": "direct", "Item": {"k": {"S": "1"}}, "ConditionExpression": "attribute_not_exists(k)"},
        ),
        ("dynamodb", "get_item", {**table, "TableName": "missing"}),
        (
            "dynamodb",
            "query",
            {
                "TableName": "direct",
                "KeyConditionExpression": "n = :v",
                "ExpressionAttributeValues": {":v": {"N": "2"}},
            },
        ),
        ("dynamodbstreams", "list_streams", {"TableName": "direct"}),
        ("sqs", "create_queue", {"QueueName": "direct.fifo", "Attributes": {"FifoQueue": "true"}}),
        ("sqs", "get_queue_url", {"QueueName": "direct.fifo"}),
        ("sqs", "get_queue_url", {"QueueName": "missing"}),
        ("sns", "create_topic", {"Name": "direct"}),
        ("sns", "list_topics", {}),
        ("sns", "publish", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:missing", "Message": "m"}),
        ("cognito-idp", "list_user_pools", {"MaxResults": 10}),
    ]
    for service, operation, params in calls:
        client = session.client(service, endpoint_url="http://127.0.0.1:5000")

        def capture(request: Any, service: str = service, **_: Any) -> None:
            made.append((service, request))
            raise _Captured

        client.meta.events.register("before-send", capture)
        with pytest.raises(_Captured):
            getattr(client, operation)(**params)
    return made


def answer(app: Callable[..., Any], request: Any) -> tuple[str, dict[str, str], str]:
    """The WSGI app's answer to botocore's request, without what differs per call."""
    import re
    from urllib.parse import urlsplit

    from werkzeug.test import EnvironBuilder

    url = urlsplit(request.url)
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    environ = EnvironBuilder(
        method=request.method, path=url.path or "/", query_string=url.query, headers=headers, data=request.body
    ).get_environ()
    got: list[Any] = []
    body = b"".join(app(environ, lambda status, headers, exc_info=None: got.extend([status, headers])))
    varying = {"date", "x-amzn-requestid", "x-amz-crc32", "content-length"}
    kept = {k.lower(): v for k, v in got[1] if k.lower() not in varying}
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", body.decode())
    text = re.sub(r'"(CreationDateTime|LatestStreamLabel)": [^,}]+', r'"\1": <t>', text)
    text = re.sub(r"<RequestId>[^<]*</RequestId>", "<RequestId/>", text)
    return got[0], kept, re.sub(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+", "<t>", text)


def test_signed_calls_are_answered_by_their_handler_as_through_flask(monkeypatch):
    """Patch 10, on moto in this process: each call is answered through moto's Flask app,
    then through DirectDispatch (same state, so each call's second answer is compared with
    the first one's twin: idempotent calls, errors). Flask is not entered for these, and it
    still serves S3 and moto's own API."""
    from flask import Flask
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from devtools.emulator_server import DirectDispatch

    flask_calls = []
    original = Flask.wsgi_app
    monkeypatch.setattr(Flask, "wsgi_app", lambda self, *a: flask_calls.append(self.service) or original(self, *a))
    dispatcher = DomainDispatcherApplication(create_backend_app)
    direct = DirectDispatch(dispatcher)
    compared = []
    for service, request in signed_calls():
        through_flask = answer(dispatcher, request)
        flask_calls.clear()
        directly = answer(direct, request)
        assert flask_calls == [], (service, request.url, flask_calls)
        if request.headers.get("X-Amz-Target", b"").endswith(b"CreateTable"):
            continue  # the second is refused (the table exists): compared below by the error
        assert directly == through_flask, (service, request.body)
        compared.append((service, directly[0][:3]))
    assert {s for s, _ in compared} == {"dynamodb", "dynamodbstreams", "sqs", "sns", "cognito-idp"}
    assert {"200", "400"} <= {status for _, status in compared}

    s3 = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    client = s3.client("s3", endpoint_url="http://127.0.0.1:5000")
    requests_made: list[Any] = []

    def capture(request: Any, **_: Any) -> None:
        requests_made.append(request)
        raise _Captured

    client.meta.events.register("before-send", capture)
    with pytest.raises(_Captured):
        client.list_buckets()
    flask_calls.clear()
    assert answer(direct, requests_made[0])[0].startswith("200") and flask_calls == ["s3"]


def test_a_dynamodb_request_without_a_binary_value_reads_as_moto_walks_it():
    """Patch 11: botocore's own bodies for the item operations, read by moto's walk of the
    input shape and by json.loads: the same, unless a binary value is in them (then walked)."""
    from botocore.serialize import create_serializer
    from moto.core.parse import JSONParser
    from moto.core.responses import get_service_model

    from devtools.emulator_server import _BINARY_MEMBER, _plain_operations

    model = get_service_model("dynamodb")
    plain = _plain_operations(model)
    item = {
        "id": {"S": "o-1"},
        "n": {"N": "3"},
        "tags": {"SS": ["a", "b"]},
        "nums": {"NS": ["1", "2.5"]},
        "ok": {"BOOL": True},
        "none": {"NULL": True},
        "lines": {"L": [{"M": {"q": {"N": "2"}, "note": {"S": 'a "B": b'}}}]},
    }
    key = {"id": {"S": "o-1"}}
    update = {
        "TableName": "orders",
        "Key": key,
        "UpdateExpression": "SET #s = :s, stock = stock - :q",
        "ConditionExpression": "#s = :p",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "CONFIRMED"}, ":p": {"S": "PENDING"}, ":q": {"N": "2"}},
    }
    calls = {
        "PutItem": {
            "TableName": "orders",
            "Item": item,
            "ConditionExpression": "attribute_not_exists(id)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        },
        "GetItem": {"TableName": "orders", "Key": key, "ConsistentRead": True, "ProjectionExpression": "id, n"},
        "UpdateItem": {**update, "ReturnValues": "ALL_NEW"},
        "DeleteItem": {"TableName": "orders", "Key": key},
        "Query": {
            "TableName": "orders",
            "IndexName": "by_customer",
            "KeyConditionExpression": "c = :c",
            "ExpressionAttributeValues": {":c": {"S": "u"}},
            "Limit": 20,
            "ScanIndexForward": False,
            "ExclusiveStartKey": key,
        },
        "BatchGetItem": {"RequestItems": {"orders": {"Keys": [key], "ConsistentRead": True}}},
        "BatchWriteItem": {
            "RequestItems": {"orders": [{"PutRequest": {"Item": item}}, {"DeleteRequest": {"Key": key}}]}
        },
        "TransactWriteItems": {
            "TransactItems": [
                {"Update": update},
                {
                    "ConditionCheck": {
                        "TableName": "products",
                        "Key": key,
                        "ConditionExpression": "attribute_exists(id)",
                    }
                },
                {"Put": {"TableName": "orders", "Item": item}},
            ]
        },
    }
    serializer = create_serializer("json")
    for name, params in calls.items():
        operation = model.operation_model(name)
        body = serializer.serialize_to_request(params, operation)["body"]
        assert name in plain and not _BINARY_MEMBER.search(body), name
        assert JSONParser(operation, map_type=dict).parse({"body": body}) == json.loads(body), name

    binary = {"TableName": "orders", "Item": {**key, "blob": {"B": b"\x00\x01"}, "blobs": {"BS": [b"\x02"]}}}
    body = serializer.serialize_to_request(binary, model.operation_model("PutItem"))["body"]
    assert _BINARY_MEMBER.search(body), "a binary value is seen, and walked as before"
    walked = JSONParser(model.operation_model("PutItem"), map_type=dict).parse({"body": body})
    assert walked["Item"]["blob"] == {"B": b"\x00\x01"} != json.loads(body)["Item"]["blob"]
    assert {"ExportTableToPointInTime", "RestoreTableToPointInTime", "ListBackups"}.isdisjoint(plain), "timestamps"


def test_a_plain_dynamodb_request_is_not_walked():
    """In a process of its own, as the emulator's: patch 11 reads a plain body as JSON and
    walks one with a binary value, as moto always did."""
    script = """
import json
from types import SimpleNamespace
from moto.core.parse import JSONParser
from moto.dynamodb.responses import DynamoHandler
from devtools.emulator_server import read_plain_requests

walked = []
walk = JSONParser._parse_structure
JSONParser._parse_structure = lambda self, shape, value: walked.append(shape.name) or walk(self, shape, value)
read_plain_requests()

def read(item):
    handler = DynamoHandler()
    handler.querystring, handler.uri_match = {}, {}
    handler.headers = {"X-Amz-Target": "DynamoDB_20120810.PutItem"}
    body = json.dumps({"TableName": "orders", "Item": item}).encode()
    request = SimpleNamespace(data=body, method="POST", values={}, headers=handler.headers, path="/",
                              content_type="application/x-amz-json-1.0")
    handler.parse_parameters(request)
    return handler.params

assert read({"id": {"S": "o-1"}}) == {"TableName": "orders", "Item": {"id": {"S": "o-1"}}} and walked == []
assert read({"id": {"S": "o-1"}, "b": {"B": "AAE="}})["Item"]["b"] == {"B": b"\\x00\\x01"} and walked
print("ok")
"""
    _in_own_process(script)


def test_plain_header_lines_are_split_at_their_colon_as_the_mail_parser_reads_them():
    """Patch 13: every block comes out as the standard library's parser makes it (names,
    values, order, payload, defects, where the body starts); only blocks with something of
    mail's own reach that parser."""
    _in_own_process(
        r"""
import email.parser, http.client, io
from devtools.emulator_server import read_headers_plainly

original = http.client.parse_headers
read_headers_plainly()
parsed = []
parse = email.parser.Parser.parsestr
email.parser.Parser.parsestr = lambda self, text, headersonly=False: parsed.append(text) or parse(self, text, headersonly)

def read(parser, block):
    body = io.BytesIO(block + b"the body")
    m = parser(body)
    return (type(m), m.items(), m.get_payload(), [type(d) for d in m.defects], m.get_unixfrom(), body.read())

plain = [
    b"\r\n",
    b"Host: 127.0.0.1:5000\r\n\r\n",
    b"Host: a\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\nX-Empty:\r\nX-Spaced: \t v \r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n",
    b"A: b\n\n",
    "X-Latin: caf\xe9\r\n\r\n".encode("latin-1"),
]
mail_forms = [
    b"A: b\r\n folded\r\n\r\n",
    b"A: b\r\n\tfolded by a tab\r\n\r\n",
    b"From someone\r\nA: b\r\n\r\n",
    b": no name\r\n\r\n",
    b"No colon here\r\nA: b\r\n\r\n",
    b"A: b\rC: d\r\n\r\n",
    b"A: b\r\n",
]
for block in plain + mail_forms:
    expected = read(original, block)
    parsed.clear()
    assert read(http.client.parse_headers, block) == expected, block
    assert (parsed == []) == (block in plain), block
print("ok")
"""
    )


def test_moto_reads_the_clock_as_time_does():
    """Patch 14: moto's clock without an argument is time.time(), in every module that took
    it by name; with a datetime it is moto's own."""
    _in_own_process(
        """
import time
from datetime import datetime
from moto.core import utils
from moto.sqs import models as sqs
from devtools.emulator_server import read_the_clock_directly

unix_time, unix_time_millis = utils.unix_time, utils.unix_time_millis
read_the_clock_directly()
assert sqs.unix_time is utils.unix_time is not unix_time and sqs.unix_time_millis is not unix_time_millis
calls = []
utcnow = utils.utcnow
utils.utcnow = lambda: calls.append(1) or utcnow()
before, now, after = time.time(), sqs.unix_time(), time.time()
assert before <= now <= after and calls == [], (before, now, after, calls)
assert abs(sqs.unix_time_millis() - 1000 * unix_time()) < 1000
moment = datetime(2026, 12, 4, 12, 30, 15, 250000)
assert sqs.unix_time(moment) == unix_time(moment) and sqs.unix_time_millis(moment) == unix_time_millis(moment)
print("ok")
"""
    )


def test_an_sqs_receive_reads_the_retention_period_without_counting_messages():
    """Patch 15: a message older than the queue's retention period is dropped from a receive
    and a younger one handed out, as moto does; the queue's attributes (three passes over
    its messages each) are not built for it."""
    _in_own_process(
        """
from moto.sqs import models
from devtools.emulator_server import retain_by_the_period

def receive(patched):
    backend = models.SQSBackend("us-east-1", "123456789012")
    queue = backend.create_queue(f"q{patched}.fifo", FifoQueue="true", MessageRetentionPeriod="60")
    for age_s, group in ((61, "old"), (59, "young")):
        message = backend.send_message(queue.name, f"{group} body", deduplication_id=group, group_id=group)
        message.sent_timestamp -= age_s * 1000
    built = []
    attributes = models.Queue.attributes
    models.Queue.attributes = property(lambda q: built.append(1) or attributes.fget(q))
    try:
        got = backend.receive_message(queue.name, 10, 0, 30)
    finally:
        models.Queue.attributes = attributes
    return [m.body for m in got], len(built)

as_moto, built_by_moto = receive(False)
retain_by_the_period()
patched, built = receive(True)
assert patched == as_moto and built == 0 < built_by_moto, (patched, as_moto, built, built_by_moto)
print("ok")
"""
    )


def test_an_sqs_send_ends_as_moto_ends_it_without_building_the_queues_attributes():
    """Patch 16: sends to FIFO queues (with and without content-based deduplication) and to a
    standard one, accepted, deduplicated or refused, leave the same messages and raise the
    same errors as moto's own send; the queues' attributes are not built for them, and are
    built whole for a caller outside a send."""
    _in_own_process(
        """
from moto.sqs import models
from devtools.emulator_server import send_without_counting

built = []
attributes = models.Queue.attributes
models.Queue.attributes = property(lambda q: built.append(q.name) or attributes.fget(q))

def run():
    built.clear()
    backend = models.SQSBackend("us-east-1", "123456789012")
    backend.create_queue("plain.fifo", FifoQueue="true")
    backend.create_queue("by-body.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    backend.create_queue("standard")
    for k in range(50):
        backend.send_message("plain.fifo", "queued", group_id=f"g{k}", deduplication_id=f"q{k}")
    outcomes = []
    def attempt(queue, body, **options):
        try:
            message = backend.send_message(queue, body, **options)
            outcomes.append(("sent", message.body, message.deduplication_id, message.group_id))
        except Exception as exc:
            outcomes.append((type(exc).__name__, str(exc)))
    attempt("plain.fifo", "a", group_id="g", deduplication_id="d1")
    attempt("plain.fifo", "a", group_id="g", deduplication_id="d1")
    attempt("plain.fifo", "a", group_id="g")
    attempt("plain.fifo", "a")
    attempt("plain.fifo", "a", group_id="g", deduplication_id="d2", delay_seconds=5)
    attempt("by-body.fifo", "same", group_id="g")
    attempt("by-body.fifo", "same", group_id="g")
    attempt("standard", "x", delay_seconds=3)
    attempt("standard", "x" * 262145)
    attempt("missing", "x")
    sends = len(built)
    kept = {q.name: [(m.body, m.deduplication_id, m.group_id) for m in q._messages] for q in backend.queues.values()}
    whole = backend.get_queue_attributes("plain.fifo", ["All"])
    return outcomes, kept, sends, whole["ApproximateNumberOfMessages"], whole["ContentBasedDeduplication"]

as_moto = run()
send_without_counting()
patched = run()
assert patched[:2] == as_moto[:2], (patched[:2], as_moto[:2])
assert patched[2] == 0 < as_moto[2], (patched[2], as_moto[2])
assert patched[3:] == as_moto[3:] == (51, "false"), (patched[3:], as_moto[3:])
assert len({o[0] for o in as_moto[0]}) >= 4, as_moto[0]
print("ok")
"""
    )
