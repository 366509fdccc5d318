"""DynamoDB attribute values: the adapter's codec writes what boto3's TypeSerializer writes
and reads back plain values (numbers as int or float), without importing boto3."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib.adapters.dynamo import from_item, from_value, to_item, to_value

ROOT = Path(__file__).resolve().parent.parent

ITEM = {
    "order_id": "o-1",
    "total_cents": 1250,
    "lat": 51.5073509,
    "tiny": 1e-07,
    "paid": True,
    "courier_id": None,
    "lines": [{"product_id": "p-1", "quantity": 2, "note": None}, "x", 3, None],
    "address": {"line1": "1 Main St", "lng": -0.1277583, "flat": None},
    "tags": {"b", "a"},
    "codes": {3, 1},
    "raw": b"\x00\x01",
}


def boto3_item(data: dict) -> dict:
    """What the adapter wrote with boto3 before: floats as Decimal, None left out of maps."""

    def dynamo(value):
        if isinstance(value, float):
            return Decimal(str(value))
        if isinstance(value, dict):
            return {k: dynamo(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [dynamo(v) for v in value]
        if isinstance(value, set):
            return {dynamo(v) for v in value}
        return value

    serializer = TypeSerializer()
    return {k: serializer.serialize(dynamo(v)) for k, v in data.items() if v is not None}


def normalised(item: dict) -> dict:
    """Sets have no order."""
    return {
        k: ({kind: sorted(v) for kind, v in a.items()} if next(iter(a)) in {"SS", "NS"} else a) for k, a in item.items()
    }


def test_items_are_written_as_boto3_writes_them():
    assert normalised(to_item(ITEM)) == normalised(boto3_item(ITEM))


def test_items_read_back_as_plain_values():
    stored = boto3_item(ITEM)
    read = from_item(stored)
    assert read["total_cents"] == 1250 and isinstance(read["total_cents"], int)
    assert read["lat"] == 51.5073509 and isinstance(read["lat"], float)
    assert read["tiny"] == 1e-07
    assert read["lines"] == [{"product_id": "p-1", "quantity": 2}, "x", 3, None]
    assert read["address"] == {"line1": "1 Main St", "lng": -0.1277583}
    assert sorted(read["tags"]) == ["a", "b"] and sorted(read["codes"]) == [1, 3]
    assert read["raw"] == TypeDeserializer().deserialize(stored["raw"]).value
    assert "courier_id" not in read
    unordered = {"tags", "codes"}  # sets come back as lists, in no particular order

    def comparable(data: dict) -> dict:
        return {k: sorted(v) if k in unordered else v for k, v in data.items()}

    assert comparable(from_item(to_item(ITEM))) == comparable(read)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), set(), {1, "a"}, object()])
def test_values_dynamodb_cannot_hold_are_refused(value):
    with pytest.raises((TypeError, ValueError)):
        to_value(value)


def test_unknown_types_are_refused():
    with pytest.raises(TypeError):
        from_value({"X": "1"})


def test_the_codec_does_not_import_boto3():
    probe = (
        "import sys; from chalicelib.adapters.dynamo import to_item, from_item\n"
        "from_item(to_item({'n': 1.5, 'm': {'s': 'x'}})); print('boto3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
