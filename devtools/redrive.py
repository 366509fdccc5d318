"""Moves messages from the orders DLQ back to orders.fifo, keeping each message's group id
and deduplication id (processing is idempotent per order, so a redriven message that
already succeeded changes nothing).

    python -m devtools.redrive [--env .local/stack.env] [--limit N]

Reads ORDERS_DLQ_URL / ORDERS_QUEUE_URL (and the emulator endpoint) from the environment
or from the env file ``make run`` writes. On AWS, SQS's own redrive (StartMessageMoveTask)
does the same; note that FIFO deduplication ids are remembered for 5 minutes there.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

ENV_FILE = Path(__file__).resolve().parent.parent / ".local" / "stack.env"


def redrive(sqs: Any, dlq_url: str, queue_url: str, limit: int | None = None) -> int:
    """Sends each DLQ message to the queue, then deletes it from the DLQ. Returns the count."""
    moved = 0
    while limit is None or moved < limit:
        batch = min(10, limit - moved) if limit is not None else 10
        out = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=batch,
            WaitTimeSeconds=0,
            VisibilityTimeout=60,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = out.get("Messages", [])
        if not messages:
            break
        for message in messages:
            attributes = message.get("Attributes", {})
            params: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": message["Body"]}
            if attributes.get("MessageGroupId"):
                params["MessageGroupId"] = attributes["MessageGroupId"]
                params["MessageDeduplicationId"] = attributes.get("MessageDeduplicationId") or message["MessageId"]
            if message.get("MessageAttributes"):
                params["MessageAttributes"] = message["MessageAttributes"]
            sqs.send_message(**params)
            # Deleted only once the copy is safely in the queue: a crash here duplicates, never loses.
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def load_env(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", type=Path, default=ENV_FILE, help="env file of the local stack (if present)")
    parser.add_argument("--limit", type=int, default=None, help="move at most this many messages")
    args = parser.parse_args(argv)
    env = {**load_env(args.env), **os.environ}
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        if name in env and name not in os.environ:
            os.environ[name] = env[name]
    import boto3

    sqs = boto3.session.Session().client("sqs", region_name=env.get("AWS_REGION", "us-east-1"))
    moved = redrive(sqs, env["ORDERS_DLQ_URL"], env["ORDERS_QUEUE_URL"], args.limit)
    print(f"redrove {moved} message(s) from {env['ORDERS_DLQ_URL']} to {env['ORDERS_QUEUE_URL']}")
    return moved


if __name__ == "__main__":
    main()
