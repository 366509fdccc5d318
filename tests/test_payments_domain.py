"""What a Stripe event does to an order (pure: no I/O)."""

from __future__ import annotations

from chalicelib.domain import orders as domain
from chalicelib.domain.payments import apply_event, payment_event

AT = "2026-12-01T12:00:00.000Z"


def order(status: str = "CONFIRMED", **extra) -> domain.Order:
    return domain.Order(
        order_id="ord_1",
        customer_id="c",
        restaurant_id="r",
        status=status,
        items=(),
        total_cents=1500,
        created_at=AT,
        authorization_id=extra.pop("authorization_id", "pi_1"),
        **extra,
    )


def event(kind: str, obj: dict) -> dict:
    return {"id": "evt_1", "type": kind, "data": {"object": obj}}


def test_events_name_their_order_by_metadata_and_disputes_by_payment_intent():
    intent = payment_event(
        event(
            "payment_intent.payment_failed",
            {"object": "payment_intent", "id": "pi_1", "metadata": {"order_id": "ord_1"}},
        )
    )
    assert (intent.order_id, intent.intent_id) == ("ord_1", "pi_1")
    dispute = payment_event(
        event(
            "charge.dispute.created",
            {"object": "dispute", "id": "dp_1", "payment_intent": "pi_1", "metadata": {"order_id": "x"}},
        )
    )
    assert (dispute.order_id, dispute.intent_id) == (None, "pi_1")
    assert payment_event(event("customer.created", {"object": "customer"})) is None


def test_refunds_only_grow_and_a_late_failure_fails_only_a_pending_order():
    refunded = payment_event(
        event("charge.refunded", {"object": "charge", "amount_refunded": 500, "payment_intent": "pi_1"})
    )
    changed, settle = apply_event(refunded, order(refunded_cents=900), AT)
    assert (changed.refunded_cents, settle) == (900, False)
    late = payment_event(event("payment_intent.payment_failed", {"object": "payment_intent", "id": "pi_1"}))
    assert apply_event(late, order(), AT)[0].status == "CONFIRMED"
    failed = apply_event(late, order("PENDING", authorization_id=None), AT)[0]
    assert (failed.status, failed.failure_reason) == ("FAILED", "payment_declined")


def test_an_authorization_is_resumed_for_a_waiting_order_and_released_for_a_failed_one():
    held = payment_event(event("payment_intent.amount_capturable_updated", {"object": "payment_intent", "id": "pi_9"}))
    waiting = order("PENDING", authorization_id="pi_9", payment_action={"type": "authenticate"})
    assert apply_event(held, waiting, AT) == (waiting, True)
    lost = order("FAILED", authorization_id=None, failure_reason="payment_unavailable")
    released, settle = apply_event(held, lost, AT)
    assert (released.authorization_id, settle) == ("pi_9", True)
    assert apply_event(held, order("CONFIRMED", authorization_id="pi_9"), AT)[1] is False
