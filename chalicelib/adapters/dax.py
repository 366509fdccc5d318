"""DAX: catalog reads through the cluster's item and query caches (EnableDax on).

The client is created on first use and imported only then: ``amazon-dax-client`` is the
prod-with-DAX extra (requirements-dax.txt), absent from every other stage's zip. It speaks
the DynamoDB low-level API, so a repository reads through it exactly as through boto3's
client; writes stay on DynamoDB (DAX's TTLs bound how long a read can lag a write).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from chalicelib.adapters.aws import AwsClients

DaxFactory = Callable[..., Any]


def _amazon_dax_client(**options: Any) -> Any:
    from amazondax import AmazonDaxClient

    return AmazonDaxClient(**options)


class DaxClients:
    """Looks like ``AwsClients`` to a repository: ``get("dynamodb")`` is the DAX client on
    ``endpoint`` (the cluster's discovery URL, ``daxs://...``); any other service comes
    from ``fallback``."""

    def __init__(
        self, endpoint: str, region: str, fallback: AwsClients, factory: DaxFactory = _amazon_dax_client
    ) -> None:
        self.endpoint = endpoint
        self._region = region
        self._fallback = fallback
        self._factory = factory
        self._client: Any = None
        self._lock = threading.Lock()

    def get(self, service: str) -> Any:
        if service != "dynamodb":
            return self._fallback.get(service)
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._factory(endpoint_url=self.endpoint, region_name=self._region)
        return self._client
