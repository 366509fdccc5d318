"""Moves messages from the orders DLQ back to orders.fifo, keeping each message's group id
and deduplication id (processing is idempotent per order, so a redriven message that
already succeeded changes nothing).

    python -m devtools.redrive [--port 8000 | --env .local/stack-8000.env] [--limit N]

Reads ORDERS_DLQ_URL / ORDERS_QUEUE_URL (and the emulator endpoint) from the environment
(on AWS) or from the env file of a running local stack: the one on ``--port`` (or
``PORT``), else the only one running. On AWS, SQS's own redrive (StartMessageMoveTask)
does the same; note that FIFO deduplication ids are remembered for 5 minutes there.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from devtools import stackenv


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


def stack_env(env_file: Path | None, port: int | None) -> dict[str, str]:
    """The variables to use: the given env file's, none on AWS (the environment has them),
    else the running local stack's (``stackenv.StackNotFound`` says which to pick)."""
    if env_file is not None:
        return stackenv.read(env_file)
    if port is None and os.environ.get("ORDERS_DLQ_URL"):
        return {}
    return stackenv.read(stackenv.find(port))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", type=Path, default=None, help="env file of a local stack")
    parser.add_argument(
        "--port", type=int, default=int(os.environ["PORT"]) if os.environ.get("PORT") else None, help="its API port"
    )
    parser.add_argument("--limit", type=int, default=None, help="move at most this many messages")
    args = parser.parse_args(argv)
    try:
        stack = stack_env(args.env, args.port)
    except stackenv.StackNotFound as error:
        sys.exit(f"redrive: {error}")
    # A local stack's emulator and fake credentials win over whatever the shell has.
    os.environ.update({k: v for k, v in stack.items() if k.startswith("AWS_")})
    env = {**os.environ, **stack}
    import boto3

    sqs = boto3.session.Session().client("sqs", region_name=env.get("AWS_REGION", "us-east-1"))
    moved = redrive(sqs, env["ORDERS_DLQ_URL"], env["ORDERS_QUEUE_URL"], args.limit)
    where = f" (emulator {env['AWS_ENDPOINT_URL']})" if env.get("AWS_ENDPOINT_URL") else ""
    print(f"redrove {moved} message(s) from {env['ORDERS_DLQ_URL']} to {env['ORDERS_QUEUE_URL']}{where}")
    return moved


if __name__ == "__main__":
    main()
