"""SNS order-events: one message per order status change, filterable by attributes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalicelib.adapters.aws import AwsClients, aws_errors


class OrderEventsTopic:
    def __init__(self, clients: AwsClients, topic_arn: str) -> None:
        self._clients = clients
        self._arn = topic_arn

    def publish(self, message: Mapping[str, Any], attributes: Mapping[str, str]) -> str:
        with aws_errors("The event topic"):
            out = self._clients.get("sns").publish(
                TopicArn=self._arn,
                Message=json.dumps(message, separators=(",", ":")),
                MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
            )
        return str(out.get("MessageId", ""))
