"""orders.fifo: one message per order to process, grouped and deduplicated by order id."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters.aws import AwsClients, aws_errors
from chalicelib.domain.orders import Order


class OrdersQueue:
    def __init__(self, clients: AwsClients, queue_url: str) -> None:
        self._clients = clients
        self._url = queue_url

    def send(self, order: Order, dedup_suffix: str = "") -> None:
        """Group = order id, so an order's messages stay in sequence and one stuck order
        never holds up another; the dedup id is the order id too (plus ``dedup_suffix`` for
        a later, different piece of work on the same order)."""
        with aws_errors("The order queue"):
            self._clients.get("sqs").send_message(QueueUrl=self._url, **message_of(order, dedup_suffix))

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        """Keeps a received message hidden for ``seconds`` more: its next receive comes then."""
        with aws_errors("The order queue"):
            self._clients.get("sqs").change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )

    def send_many(self, orders: list[Order]) -> int:
        """SendMessageBatch by tens; returns how many were accepted."""
        sent = 0
        for start in range(0, len(orders), 10):
            chunk = orders[start : start + 10]
            entries = [{"Id": str(i), **message_of(order)} for i, order in enumerate(chunk)]
            with aws_errors("The order queue"):
                out = self._clients.get("sqs").send_message_batch(QueueUrl=self._url, Entries=entries)
            sent += len(out.get("Successful", []))
        return sent


def message_of(order: Order, dedup_suffix: str = "") -> dict[str, Any]:
    """The body carries the keys the processor reads in one BatchGetItem; the order item
    itself stays the source of truth."""
    order_id = order.order_id
    body = {"order_id": order_id, "restaurant_id": order.restaurant_id, "product_ids": order.product_ids}
    return {
        "MessageBody": json.dumps(body, separators=(",", ":")),
        "MessageGroupId": order_id,
        "MessageDeduplicationId": order_id + (f".{dedup_suffix}" if dedup_suffix else ""),
    }
