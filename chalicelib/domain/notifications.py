"""What a user's inbox lists: one entry per status change of one of their orders."""

from __future__ import annotations

from chalicelib.domain.base import ResponseModel
from chalicelib.domain.orders import FailureReason, OrderStatus
from chalicelib.domain.paging import Page


class Notification(ResponseModel):
    notification_id: str
    event: str | None = None
    order_id: str | None = None
    restaurant_id: str | None = None
    status: OrderStatus | None = None
    failure_reason: FailureReason | None = None
    message: str | None = None
    sent_at: str | None = None


class NotificationPage(Page):
    """A page of the inbox, newest first."""

    items: list[Notification]
