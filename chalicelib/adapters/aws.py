"""Lazily created, per-container AWS clients.

boto3 is imported on first use, not at import time, so a function pays only for the
clients it really uses, once per container.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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


class AwsClients:
    """Creates each boto3 client once, on first use, with bounded retries and timeouts."""

    def __init__(self, region: str, max_attempts: int = 3, endpoints: dict[str, str] | None = None) -> None:
        self._region = region
        self._max_attempts = max_attempts
        # Services reached at an endpoint of their own (the WebSocket management API's).
        self._endpoints = {k: v for k, v in (endpoints or {}).items() if v}
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

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
        import boto3
        from botocore.config import Config

        config = Config(
            region_name=self._region,
            retries={"mode": "standard", "max_attempts": self._max_attempts},
            connect_timeout=2,
            read_timeout=5,
            max_pool_connections=20,
        )
        endpoint = self._endpoints.get(service)
        if endpoint:
            return boto3.session.Session().client(service, config=config, endpoint_url=endpoint)
        return boto3.session.Session().client(service, config=config)


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
