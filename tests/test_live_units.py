"""Who hears of a status change, and how each platform's push message is shaped (pure)."""

from __future__ import annotations

import json

from chalicelib.domain import live


def change(status: str, courier: str | None = None) -> live.StatusChange:
    return live.StatusChange("o1", "r1", "cust", status, "2026-01-01T00:00:00.000Z", courier)


def heard(status: str, owner: str | None = "own", couriers: tuple[str, ...] = ("c1", "c2"), courier=None):
    return [(r.user_id, r.kind) for r in live.recipients(change(status, courier), owner, couriers)]


def test_customer_and_owner_hear_of_every_change_couriers_only_of_theirs():
    assert heard("CONFIRMED") == [("cust", "order.status"), ("own", "order.status")]
    assert heard("READY") == [
        ("cust", "order.status"),
        ("own", "order.status"),
        ("c1", "delivery.available"),
        ("c2", "delivery.available"),
    ]
    assert heard("PICKED_UP", courier="c1") == [
        ("cust", "order.status"),
        ("own", "order.status"),
        ("c1", "order.status"),
    ], "delivery.taken comes with the claim"
    assert heard("DELIVERED", courier="c1") == [
        ("cust", "order.status"),
        ("own", "order.status"),
        ("c1", "order.status"),
    ]


def test_claims_unassignments_and_positions_are_told_apart():
    ready = {"status": "READY"}
    claimed = {"status": "READY", "courier_id": "c1"}
    assert live.dispatch_kind(ready, claimed) == live.DELIVERY_TAKEN
    assert live.dispatch_kind(claimed, ready) == live.DELIVERY_AVAILABLE
    assert live.dispatch_kind(claimed, {**claimed, "updated_at": "x"}) is None
    assert live.dispatch_kind(claimed, {"status": "PICKED_UP", "courier_id": "c1"}) is None, "a status change"
    carried = {"status": "PICKED_UP", "courier_id": "c1"}
    moved = {**carried, "courier_location": {"lat": 1, "lng": 2, "at": "t"}}
    assert live.dispatch_kind(carried, moved) == live.COURIER_LOCATION
    assert live.dispatch_kind(moved, moved) is None
    taken = [
        (r.user_id, r.kind) for r in live.dispatch_recipients(change("READY", "c1"), live.DELIVERY_TAKEN, ["c1", "c2"])
    ]
    assert taken == [("c2", "delivery.taken")]
    again = live.StatusChange("o1", "r1", "cust", "READY", "t", None, offer_round=1)
    assert live.event_id(again, live.DELIVERY_AVAILABLE) == "o1:READY:delivery.available:1", "a re-offer is a new event"


def test_one_entry_per_user_and_kind_and_no_owner_is_fine():
    assert heard("ACCEPTED", owner="cust") == [("cust", "order.status")]
    assert heard("ACCEPTED", owner=None) == [("cust", "order.status")]


def test_event_ids_are_stable_per_order_status_and_kind():
    assert live.event_id(change("READY"), live.DELIVERY_AVAILABLE) == "o1:READY:delivery.available"
    assert live.event_id(change("READY"), live.ORDER_STATUS) != live.event_id(change("READY"), live.DELIVERY_AVAILABLE)
    assert live.inbox_key(change("READY"), live.ORDER_STATUS) == "2026-01-01T00:00:00.000Z#o1#READY"


def test_push_payloads_are_platform_formatted():
    payloads = live.push_payloads("Chowline", "Ready", {"order_id": "o1"})
    assert set(payloads) == {"default", "APNS", "APNS_SANDBOX", "GCM"}
    assert json.loads(payloads["APNS"])["aps"]["alert"] == {"title": "Chowline", "body": "Ready"}
    assert json.loads(payloads["GCM"]) == {
        "notification": {"title": "Chowline", "body": "Ready"},
        "data": {"order_id": "o1"},
    }


def test_the_same_token_is_the_same_device():
    assert live.device_id("fcm", "abc") == live.device_id("fcm", "abc") != live.device_id("apns", "abc")
