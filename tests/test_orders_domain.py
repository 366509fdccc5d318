"""The order value and its state machine, on their own (pure: no emulator)."""

from __future__ import annotations

import pytest

from chalicelib.domain import orders as domain
from chalicelib.domain.errors import Conflict, Forbidden, NotFound
from chalicelib.domain.principal import Principal

CUSTOMER = Principal(user_id="u-customer", roles=frozenset({"customers"}))
OWNER = Principal(user_id="u-owner", roles=frozenset({"restaurant_owners"}))
COURIER = Principal(user_id="u-courier", roles=frozenset({"couriers"}))
ADMIN = Principal(user_id="u-admin", roles=frozenset({"admins"}))

ITEM = {
    "order_id": "ord_1",
    "customer_id": "u-customer",
    "restaurant_id": "r-1",
    "status": "PENDING",
    "items": [{"product_id": "p-1", "name": "Soup", "quantity": 2, "unit_price_cents": 450, "line_total_cents": 900}],
    "total_cents": 900,
    "currency": "USD",
    "delivery_address": {"label": "home", "line1": "1 Main St", "city": "Springfield", "postcode": "12345"},
    "payment_token": "tok_visa",
    "request_hash": "abc",
    "status_history": [{"status": "PENDING", "at": "2026-01-01T12:00:00Z"}],
    "created_at": "2026-01-01T12:00:00Z",
    "updated_at": "2026-01-01T12:00:00Z",
    "added_by_a_later_release": {"kept": True},
}


def order(**changes: object) -> domain.Order:
    return domain.Order.from_item({**ITEM, **changes})


def test_the_stored_item_round_trips_unchanged_unknown_attributes_included():
    assert order().item() == ITEM


def test_statuses_are_declared_once_and_the_state_machine_covers_each():
    assert set(domain.TRANSITIONS) == set(domain.OrderStatus)
    assert domain.PENDING == "PENDING" and domain.OrderStatus("READY") is domain.READY


def test_move_appends_history_and_keeps_the_original_value():
    before = order()
    after = before.move(domain.CONFIRMED, None, at="2026-01-01T12:01:00Z", authorization_id="auth_1")
    assert before.status == domain.PENDING and len(before.status_history) == 1
    assert after.status == domain.CONFIRMED
    assert after.item()["status_history"][-1] == {"status": "CONFIRMED", "at": "2026-01-01T12:01:00Z"}
    assert after.updated_at == "2026-01-01T12:01:00Z" and after.authorization_id == "auth_1"
    assert after.last_change_at == "2026-01-01T12:01:00Z"


@pytest.mark.parametrize(
    ("status", "target"),
    [("PENDING", "ACCEPTED"), ("CONFIRMED", "READY"), ("DELIVERED", "CANCELLED"), ("FAILED", "CONFIRMED")],
)
def test_an_illegal_move_is_a_conflict(status, target):
    with pytest.raises(Conflict):
        order(status=status).move(target, None, at="t")


def test_who_moves_decides():
    confirmed = order(status="CONFIRMED")
    assert confirmed.move("ACCEPTED", OWNER, at="t", owns_restaurant=True).status == domain.ACCEPTED
    with pytest.raises(NotFound):
        confirmed.move("ACCEPTED", OWNER, at="t", owns_restaurant=False)
    with pytest.raises(Forbidden):
        confirmed.move("ACCEPTED", COURIER, at="t")
    with pytest.raises(Forbidden):
        confirmed.move("CANCELLED", CUSTOMER, at="t")
    with pytest.raises(Conflict):
        order().move("CONFIRMED", ADMIN, at="t")
    with pytest.raises(Conflict, match="Claim"):
        order(status="READY").move("PICKED_UP", COURIER, at="t")
    with pytest.raises(NotFound):
        order(status="READY", courier_id="u-other").move("PICKED_UP", COURIER, at="t")
    picked = order(status="READY", courier_id=COURIER.user_id).move("PICKED_UP", COURIER, at="t")
    assert picked.courier_id == COURIER.user_id
    with pytest.raises(NotFound):
        picked.move("DELIVERED", Principal(user_id="u-other", roles=frozenset({"couriers"})), at="t")
    assert picked.move("DELIVERED", COURIER, at="t").status == domain.DELIVERED


def test_an_order_is_on_offer_from_ready_until_it_leaves_ready():
    ready = order(status="PREPARING").move("READY", OWNER, at="t", owns_restaurant=True)
    assert ready.offer == domain.OFFERED, "the sparse by_offer index lists it"
    picked = ready.model_copy(update={"courier_id": COURIER.user_id}).move("PICKED_UP", COURIER, at="t2")
    assert picked.offer is None and "offer" in picked.item(), "set to None: the write removes it"


def test_the_position_is_dropped_when_the_order_leaves_picked_up():
    here = {"lat": 1.0, "lng": 2.0, "at": "t"}
    carried = order(status="PICKED_UP", courier_id=COURIER.user_id, courier_location=here, eta="t2")
    assert domain.order_out(carried).courier_location is not None
    delivered = carried.move("DELIVERED", COURIER, at="t3")
    assert delivered.courier_location is None and delivered.eta is None
    shown = domain.order_out(order(status="READY", courier_location=here, eta="t2")).model_dump(mode="json")
    assert "courier_location" not in shown and "eta" not in shown, "absent outside PICKED_UP, not null"


def test_only_its_customer_cancels():
    assert order().cancel(CUSTOMER, at="t").status == domain.CANCELLED
    with pytest.raises(NotFound):
        order().cancel(ADMIN, at="t")
    with pytest.raises(Conflict):
        order(status="READY").cancel(CUSTOMER, at="t")


def test_final_statuses_are_those_nothing_moves_on_from():
    assert domain.FINAL_STATUSES == {domain.FAILED, domain.REJECTED, domain.DELIVERED, domain.CANCELLED}
    assert all(status.is_final is not bool(domain.TRANSITIONS[status]) for status in domain.OrderStatus)
    assert order(status="DELIVERED").is_final and not order(status="READY").is_final


def test_a_redacted_order_keeps_the_restaurants_record_without_the_person():
    original = order(status="DELIVERED", notes="ring twice")
    redacted = original.redacted()
    assert redacted.delivery_address == {
        "city": "Springfield",
        "label": domain.REDACTED,
        "line1": domain.REDACTED,
        "postcode": domain.REDACTED,
    }
    assert redacted.notes is None and redacted.personal_fields() == {
        "delivery_address": redacted.delivery_address,
        "notes": None,
    }
    assert (redacted.items, redacted.total_cents, redacted.status_history) == (
        original.items,
        original.total_cents,
        original.status_history,
    )
    assert original.notes == "ring twice"  # a new value; the original is unchanged
