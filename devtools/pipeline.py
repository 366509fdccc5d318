"""The event sources ``chalice local`` lacks, run as threads (``sources`` picks which; ``make
run`` polls the stream in a process of its own, devtools/pipeline_processes.py):

- orders.fifo -> ``process_order``: long polls (batch 10) with as many pollers as the
  function's maximum concurrency, Lambda-shaped SQS events, partial batch responses: the
  records not in ``batchItemFailures`` are deleted, the failed ones are made visible again
  at once (the emulator's FIFO redelivery after a visibility timeout can lose messages of a
  group) unless the handler set their visibility itself (a payment retry's backoff, which
  Lambda leaves as set too), and after ``maxReceiveCount`` receives are moved to the DLQ here.
- the Orders table stream -> ``notify``: Lambda-shaped stream events of up to 100 records,
  retried from the first failed record, as Lambda does with ReportBatchItemFailures; each
  read is split by order id over concurrent invocations, as the shards of a busy table are
  (STREAM_SHARDS).
- ``sweep_pending_orders`` every minute.

Handlers are called the way Lambda calls them: ``app.process_order(event, context)``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devtools.lambda_context import invoke

log = logging.getLogger("chowline.pipeline")

# With the backoff below, 20 attempts span over a minute: longer than a notification claim.
MAX_STREAM_ATTEMPTS = 20
MAX_STREAM_BACKOFF = 5.0
# An idle stream poller reads again after 50 ms, doubling up to 1 s; a DynamoDB write made in
# this process wakes it at once.
STREAM_IDLE_WAITS = (0.05, 1.0)
# What a stream read answers when its iterator no longer serves: read again from the position.
STALE_ITERATOR = frozenset({"ExpiredIteratorException", "TrimmedDataAccessException", "ResourceNotFoundException"})
DYNAMODB_WRITES = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "ExecuteStatement"}
)
PROJECT_DIR = Path(__file__).resolve().parent.parent
# How long stopping waits for the threads beyond a long poll: a call's worth.
STOP_MARGIN_S = 5.0
# On AWS the Orders stream has a shard per table partition, each read by its own notify
# invocation at once; the emulator's stream has one shard. Each read is spread over this many
# concurrent notify calls by partition key (the order id), so an order's records stay in
# sequence, as they do on AWS. A failure anywhere re-reads from the first failed record, as
# before: records delivered meanwhile come again, and notify's claims make that a no-op.
STREAM_SHARDS = 4
# What a pipeline polls: orders.fifo (process_order), the Orders stream (notify), the schedule.
SOURCES = ("queue", "stream", "sweep")


def _app() -> Any:
    import app

    return app


class Pipeline:
    def __init__(
        self,
        env: dict[str, str],
        *,
        workers: int | None = None,
        wait_seconds: int = 1,
        sweep_every: float = 60.0,
        stream_start: str = "TRIM_HORIZON",
        stream_shards: int = STREAM_SHARDS,
        sources: Collection[str] = SOURCES,
        stream_wake: Any = None,
    ) -> None:
        """``sources``: which of SOURCES this pipeline polls (devtools/pipeline_processes.py
        runs the stream in a process of its own). ``stream_wake``: what wakes an idle stream
        poller (an Event shared with that process); one of its own by default."""
        from chalicelib.settings import PAYMENT_CONCURRENCY

        self._env = env
        self._workers = workers or PAYMENT_CONCURRENCY
        self._wait = wait_seconds
        self._sweep_every = sweep_every
        self._stop = threading.Event()
        unknown = set(sources) - set(SOURCES)
        if unknown:
            raise ValueError(f"unknown event sources {sorted(unknown)}: expected some of {SOURCES}")
        self._sources = frozenset(sources)
        self._stream_wake = stream_wake if stream_wake is not None else threading.Event()
        # Receipt handles whose visibility the handler changed (its backoff stands).
        self._delayed: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.queue_url = env["ORDERS_QUEUE_URL"]
        self.dlq_url = env.get("ORDERS_DLQ_URL", "")
        self.queue_arn = env.get("ORDERS_QUEUE_ARN", "")
        self.stream_arn = env.get("ORDERS_STREAM_ARN", "")
        self.region = env.get("AWS_REGION", "us-east-1")
        self.max_receives = 5
        self._stream_position: str | None = None
        self._shard: str | None = None
        self._iterator: str | None = None
        self._stream_failures = 0
        self._stream_start = stream_start
        self._stream_shards = max(1, stream_shards)
        self.stats = {"batches": 0, "records": 0, "failed": 0, "dead_lettered": 0, "stream_records": 0}

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> Pipeline:
        self.prepare()
        if "queue" in self._sources:
            for index in range(self._workers):
                self._spawn(f"orders-poller-{index}", self._poll_queue_forever)
        if "stream" in self._sources and self.stream_arn:
            self._spawn("orders-stream", self._poll_stream_forever)
        if "sweep" in self._sources and self._sweep_every > 0:
            self._spawn("sweeper", self._sweep_forever)
        return self

    def stop(self) -> None:
        """Waits for the threads within one deadline for all of them (a long poll and
        STOP_MARGIN_S): a thread held up in a call, which its daemon flag lets the process
        leave behind, must not make Ctrl-C wait that long once per thread."""
        self._stop.set()
        self._stream_wake.set()
        deadline = time.monotonic() + self._wait + STOP_MARGIN_S
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads = []

    def prepare(self) -> None:
        """Applies the local stage's variables (as ``chalice local`` does when it loads the
        app) and builds the app's services once, before any thread races to do it."""
        from chalicelib import bootstrap

        stage = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())["stages"]["local"]
        missing = {k: v for k, v in stage.get("environment_variables", {}).items() if k not in os.environ}
        if missing:
            os.environ.update(missing)
            bootstrap.reset()
        app = bootstrap.container()
        _ = (app.order_processor, app.orders, app.notifications, app.payment_provider)
        # Imported lazily by the metrics adapter: two threads importing powertools' metrics
        # package at once can meet its circular imports half done (ImportError).
        import aws_lambda_powertools.metrics  # noqa: F401

        app.clients.get("dynamodb").meta.events.register(
            "after-call.dynamodb", self._wake_stream, unique_id=f"wake-stream-{id(self)}"
        )
        app.clients.get("sqs").meta.events.register(
            "before-parameter-build.sqs.ChangeMessageVisibility", self._note_delay, unique_id=f"note-delay-{id(self)}"
        )
        attributes = self._client("sqs").get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])
        policy = json.loads(attributes["Attributes"].get("RedrivePolicy", "{}") or "{}")
        self.max_receives = int(policy.get("maxReceiveCount", self.max_receives))
        self.queue_arn = self.queue_arn or attributes["Attributes"].get("QueueArn", "")
        if self.stream_arn and self._stream_position is None and self._stream_start == "LATEST":
            self._skip_to_stream_end()

    def _failed(self, what: str, error: Exception) -> None:
        """One line when the emulator is busy or gone (a traceback says nothing more then),
        the traceback for anything else; nothing once stopping."""
        from chalicelib.adapters.aws import is_transient

        if self._stop.is_set():
            return
        if is_transient(error):
            log.warning("%s: %s; retrying", what, error)
        else:
            log.error("%s failed; retrying", what, exc_info=error)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                import boto3
                from botocore.config import Config

                self._clients[service] = boto3.session.Session().client(
                    service, config=Config(region_name=self.region, max_pool_connections=20)
                )
            return self._clients[service]

    # --- orders.fifo -> process_order ----------------------------------------------------

    def _poll_queue_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.pump_queue(self._wait)
            except Exception as error:  # noqa: BLE001 (a poller outlives any failure; _failed logs it)
                self._failed("orders poller", error)
                self._stop.wait(1)

    def pump_queue(self, wait_seconds: int = 0) -> int:
        """One receive (up to 10), one handler call, then acknowledgements. Returns the
        number of records delivered."""
        sqs = self._client("sqs")
        out = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = out.get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [self._sqs_record(m) for m in messages]}
        try:
            result = invoke(_app().process_order, "process_order", event)
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception:
            log.exception("process_order raised: the whole batch is retried")
            failed = {m["MessageId"] for m in messages}
        self._acknowledge(messages, failed)
        with self._lock:
            self.stats["batches"] += 1
            self.stats["records"] += len(messages)
            self.stats["failed"] += len(failed)
        return len(messages)

    def drain(self, timeout: float = 60.0) -> int:
        """Processes until the queue has nothing visible or in flight (tests, benches)."""
        deadline = time.monotonic() + timeout
        total = 0
        sqs = self._client("sqs")
        while time.monotonic() < deadline:
            delivered = self.pump_queue(0)
            total += delivered
            if delivered:
                continue
            attributes = sqs.get_queue_attributes(
                QueueUrl=self.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            if (
                int(attributes["ApproximateNumberOfMessages"])
                + int(attributes["ApproximateNumberOfMessagesNotVisible"])
                == 0
            ):
                return total
            time.sleep(0.02)
        raise TimeoutError(f"orders.fifo did not drain within {timeout} s")

    def _sqs_record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
                "SenderId": attributes.get("SenderId", "AIDALOCAL"),
                "ApproximateFirstReceiveTimestamp": attributes.get(
                    "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
                ),
                "SequenceNumber": attributes.get("SequenceNumber", "0"),
                "MessageGroupId": attributes.get("MessageGroupId", ""),
                "MessageDeduplicationId": attributes.get("MessageDeduplicationId", ""),
            },
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }

    def _acknowledge(self, messages: list[dict[str, Any]], failed: set[str]) -> None:
        sqs = self._client("sqs")
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        retry = []
        for message in (m for m in messages if m["MessageId"] in failed):
            receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            with self._lock:
                delayed = message["ReceiptHandle"] in self._delayed
                self._delayed.discard(message["ReceiptHandle"])
            if self.dlq_url and receives >= self.max_receives:
                self._dead_letter(message)
            elif not delayed:
                retry.append(message)
        if retry:
            sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(retry)
                ],
            )

    def _note_delay(self, params: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self._delayed.add(str(params.get("ReceiptHandle", "")))

    def _dead_letter(self, message: dict[str, Any]) -> None:
        attributes = message.get("Attributes", {})
        sqs = self._client("sqs")
        sqs.send_message(
            QueueUrl=self.dlq_url,
            MessageBody=message["Body"],
            MessageGroupId=attributes.get("MessageGroupId") or message["MessageId"],
            MessageDeduplicationId=attributes.get("MessageDeduplicationId") or message["MessageId"],
        )
        sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        log.warning("message %s moved to the DLQ after %s receives", message["MessageId"], self.max_receives)
        with self._lock:
            self.stats["dead_lettered"] += 1

    # --- Orders stream -> notify ---------------------------------------------------------

    def _wake_stream(self, model: Any, **_: Any) -> None:
        if model.name in DYNAMODB_WRITES:
            self._stream_wake.set()

    def _poll_stream_forever(self) -> None:
        shortest, longest = STREAM_IDLE_WAITS
        idle = shortest
        while not self._stop.is_set():
            try:
                if not self.pump_stream():
                    self._stream_wake.wait(idle)
                    self._stream_wake.clear()
                    idle = min(idle * 2, longest)
                    continue
                idle = shortest
                if self._stream_failures:
                    self._stop.wait(min(MAX_STREAM_BACKOFF, 0.1 * 2 ** (self._stream_failures - 1)))
            except Exception as error:  # noqa: BLE001 (a poller outlives any failure; _failed logs it)
                self._failed("stream poller", error)
                self._stop.wait(1)

    def _shard_iterator(self) -> str:
        """An iterator from where the last delivered record ends (TRIM_HORIZON before any)."""
        streams = self._client("dynamodbstreams")
        if self._shard is None:
            self._shard = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0][
                "ShardId"
            ]
        if self._stream_position is None:
            kwargs: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
        else:
            kwargs = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._stream_position}
        return streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=self._shard, **kwargs)["ShardIterator"]

    def _read_stream(self, limit: int) -> list[dict[str, Any]]:
        """One GetRecords, going on from the last read's NextShardIterator: an idle read is
        one call. The emulator keeps a table's stream through a cancelled transaction (its
        patch 2), so the iterator holds; a refused one is asked for again from the position."""
        from botocore.exceptions import ClientError

        streams = self._client("dynamodbstreams")
        try:
            out = streams.get_records(ShardIterator=self._iterator or self._shard_iterator(), Limit=limit)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in STALE_ITERATOR:
                raise
            self._shard = None
            out = streams.get_records(ShardIterator=self._shard_iterator(), Limit=limit)
        self._iterator = out.get("NextShardIterator")
        return list(out["Records"])

    def _skip_to_stream_end(self) -> None:
        while records := self._read_stream(1000):
            self._stream_position = records[-1]["dynamodb"]["SequenceNumber"]

    def pump_stream(self) -> int:
        """One GetRecords (up to 100), handed to ``notify`` (one call per shard's share).
        Returns records delivered."""
        records = self._read_stream(100)
        if not records:
            return 0
        shards = self._shards(records)
        if len(shards) == 1:
            failed = self._notify(shards[0])
        else:
            with ThreadPoolExecutor(len(shards), thread_name_prefix="orders-stream-shard") as pool:
                failed = set().union(*pool.map(self._notify, shards))
        sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
        first_failed = next((i for i, s in enumerate(sequence) if s in failed), None)
        if first_failed is None:
            self._stream_position = sequence[-1]
            self._stream_failures = 0
        else:
            self._stream_failures += 1
            if self._stream_failures >= MAX_STREAM_ATTEMPTS:
                log.error("stream record %s failed %s times: skipped", sequence[first_failed], MAX_STREAM_ATTEMPTS)
                self._stream_position = sequence[first_failed]
                self._stream_failures = 0
            elif first_failed > 0:
                self._stream_position = sequence[first_failed - 1]
            self._iterator = None  # the next read starts again after the position
        with self._lock:
            self.stats["stream_records"] += len(records)
        return len(records)

    def _shards(self, records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """The records spread over up to STREAM_SHARDS groups by partition key (the order
        id), each key's records in one group, each group in stream order. The read waits for
        its slowest call, so the groups are made even: the keys with the most records first,
        each to the smallest group so far (a hash of the key gave 44 of 100 records to one of
        four calls)."""
        keys = [json.dumps(record["dynamodb"].get("Keys", {}), sort_keys=True) for record in records]
        counts = Counter(keys)
        sizes = [0] * min(self._stream_shards, len(counts))
        group_of: dict[str, int] = {}
        for key, count in counts.most_common():
            group_of[key] = sizes.index(min(sizes))
            sizes[group_of[key]] += count
        groups: list[list[dict[str, Any]]] = [[] for _ in sizes]
        for key, record in zip(keys, records, strict=True):
            groups[group_of[key]].append(record)
        return groups

    def _notify(self, records: list[dict[str, Any]]) -> set[str]:
        """One ``notify`` invocation; the sequence numbers of the records that failed."""
        event = {"Records": [self._stream_record(r) for r in records]}
        try:
            result = invoke(_app().notify, "notify", event)
            return {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception:
            log.exception("notify raised: the whole batch is retried")
            return {r["dynamodb"]["SequenceNumber"] for r in records}

    def drain_stream(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        total = 0
        while time.monotonic() < deadline:
            delivered = self.pump_stream()
            if not delivered:
                return total
            total += delivered
        raise TimeoutError("the Orders stream did not drain")

    def _stream_record(self, record: dict[str, Any]) -> dict[str, Any]:
        dynamodb = dict(record["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            dynamodb["ApproximateCreationDateTime"] = created.timestamp()
        dynamodb.setdefault("ApproximateCreationDateTime", time.time())
        dynamodb.setdefault("SizeBytes", len(json.dumps(dynamodb, default=str)))
        return {
            "eventID": record.get("eventID", uuid.uuid4().hex),
            "eventName": record["eventName"],
            "eventVersion": record.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": record.get("awsRegion", self.region),
            "dynamodb": dynamodb,
            "eventSourceARN": self.stream_arn,
        }

    # --- the schedule --------------------------------------------------------------------

    def _sweep_forever(self) -> None:
        while not self._stop.wait(self._sweep_every):
            try:
                self.sweep()
            except Exception:
                log.exception("sweep failed")

    def sweep(self) -> Any:
        now = datetime.now(UTC)
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/chowline-local-sweep_pending_orders"],
            "detail": {},
        }
        return invoke(_app().sweep_pending_orders, "sweep_pending_orders", event)
