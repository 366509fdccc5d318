"""Readiness probes of the stores the API uses: one cheap data-plane read each.

A table is probed with a GetItem on a key no item has (half a read unit, no control-plane
call such as DescribeTable, whose quotas are low); the queue with GetQueueAttributes of its
ARN. Either proves the store exists, answers and lets this function in (IAM). The probes
get their own clients with short limits: a probe that hangs is itself the answer.
"""

from __future__ import annotations

from chalicelib.adapters.aws import AwsClients, CallLimits

PROBE_LIMITS = CallLimits(connect_timeout=0.5, read_timeout=1, max_attempts=1)
SENTINEL = "__readiness_probe__"


class TableProbe:
    def __init__(self, clients: AwsClients, table: str, *key: str) -> None:
        self._clients = clients
        self.table = table
        self.key = key

    def __call__(self) -> None:
        self._clients.get("dynamodb").get_item(TableName=self.table, Key={k: {"S": SENTINEL} for k in self.key})


class QueueProbe:
    def __init__(self, clients: AwsClients, queue_url: str) -> None:
        self._clients = clients
        self._url = queue_url

    def __call__(self) -> None:
        self._clients.get("sqs").get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])
