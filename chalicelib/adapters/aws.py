"""Lazily created, per-container AWS clients.

botocore is imported on first use, not at import time, so a function pays only for the
clients it really uses, once per container. The clients are botocore's own (what boto3's
clients are, without the boto3 package: ~30 ms less of a cold start), from one session, so
a second client reuses the endpoint data the first one loaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from chalicelib.domain.errors import ServiceUnavailable

# Errors where a retry later may succeed: reported as 503 to clients (or retried by SQS).
TRANSIENT_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "InternalFailure",
        "TooManyRequestsException",
    }
)


@dataclass(frozen=True)
class CallLimits:
    """How long one AWS call may take: botocore's timeouts and attempts (retries included)."""

    connect_timeout: float
    read_timeout: float
    max_attempts: int

    def worst_case_seconds(self) -> float:
        """Every attempt timing out, with botocore's standard-mode backoff at its longest
        (1 s, 2 s, 4 s ... before the 2nd, 3rd, 4th attempt; throttling's scale)."""
        backoff = sum(min(2 ** (n - 1), 20) for n in range(1, self.max_attempts))
        return self.max_attempts * (self.connect_timeout + self.read_timeout) + backoff


# On AWS: a request's first call that hangs ends in a 503 well within the API function's
# 15 s timeout (API Gateway's own limit is 29 s); DynamoDB, SQS and Cognito answer in tens
# of milliseconds, so 2 s is a hundredfold margin, and one retry rides out a lost packet.
AWS_LIMITS = CallLimits(connect_timeout=1, read_timeout=2, max_attempts=2)
# The emulator answers a transaction in about half a second, more as its tables grow.
EMULATOR_LIMITS = CallLimits(connect_timeout=1, read_timeout=5, max_attempts=2)
# The payment function runs up to its 10 s timeout (.chalice/config.json): wait that long
# once; the order processor's queue retries, and a retried invoke could outlast the API.
SERVICE_LIMITS: Mapping[str, CallLimits] = {"lambda": CallLimits(connect_timeout=1, read_timeout=11, max_attempts=1)}


class AwsClients:
    """Creates each client once, on first use, with bounded retries and timeouts:
    ``limits`` for every service when given, else the defaults of AWS or the emulator."""

    def __init__(
        self,
        region: str,
        *,
        emulator: bool = False,
        limits: CallLimits | None = None,
        endpoints: Mapping[str, str] | None = None,
    ) -> None:
        self._region = region
        self._default = limits or (EMULATOR_LIMITS if emulator else AWS_LIMITS)
        self._per_service = {} if limits else dict(SERVICE_LIMITS)
        # Services reached at an endpoint of their own (the WebSocket management API's).
        self._endpoints = {k: v for k, v in (endpoints or {}).items() if v}
        self._clients: dict[str, Any] = {}
        self._session: Any = None
        self._lock = threading.Lock()

    def limits(self, service: str) -> CallLimits:
        return self._per_service.get(service, self._default)

    def get(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            with self._lock:
                client = self._clients.get(service)
                if client is None:
                    client = self._create(service)
                    self._clients[service] = client
        return client

    def _create(self, service: str) -> Any:
        from botocore.config import Config
        from botocore.session import Session

        limits = self.limits(service)
        config = Config(
            region_name=self._region,
            retries={"mode": "standard", "total_max_attempts": limits.max_attempts},
            connect_timeout=limits.connect_timeout,
            read_timeout=limits.read_timeout,
            max_pool_connections=20,
        )
        if self._session is None:
            self._session = Session()
        endpoint = self._endpoints.get(service)
        if endpoint:
            return self._session.create_client(service, config=config, endpoint_url=endpoint)
        return self._session.create_client(service, config=config)


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def is_transient(exc: BaseException) -> bool:
    """Throttling, 5xx and connection failures: worth a retry later, not a bug."""
    if error_code(exc) in TRANSIENT_ERROR_CODES:
        return True
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    return isinstance(exc, (BotoConnectionError, HTTPClientError))


def unavailable(exc: BaseException, what: str) -> ServiceUnavailable:
    """The problem a caller sees when an AWS dependency keeps failing after retries."""
    return ServiceUnavailable(f"{what} is temporarily unavailable ({error_code(exc) or 'error'}); retry shortly")


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Turns transient AWS failures (after botocore's retries) into a 503 problem; anything
    else is a bug and propagates as it is."""
    try:
        yield
    except Exception as exc:
        if is_transient(exc):
            raise unavailable(exc, what) from exc
        raise


First = TypeVar("First")
Second = TypeVar("Second")


def side_by_side(first: Callable[[], First], second: Callable[[], Second]) -> tuple[First, Second]:
    """Two independent reads at once: one round trip's wait instead of two. The second runs
    on a thread of its own; a failure of either is raised, the first's first."""
    from concurrent.futures import ThreadPoolExecutor  # on first use: keeps the import of app small

    with ThreadPoolExecutor(max_workers=1) as pool:  # leaving it waits for the second
        pending = pool.submit(second)
        done = first()
        return done, pending.result()
