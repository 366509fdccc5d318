"""API Gateway's WebSocket management API: posts a frame to a connection. The endpoint is
the WebSocket stage's (https://<api>.execute-api.<region>.amazonaws.com/<stage>) on AWS and
the local bridge's under ``make run``: the same boto3 client either way."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from chalicelib.adapters.aws import aws_errors, error_code


class ConnectionGone(Exception):
    """The connection no longer exists (GoneException): forget it."""


class SocketPoster:
    def __init__(self, endpoint_url: str, region: str) -> None:
        self._endpoint = endpoint_url
        self._region = region
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return bool(self._endpoint)

    def post(self, connection_id: str, message: Mapping[str, Any]) -> None:
        data = json.dumps(message, separators=(",", ":")).encode()
        try:
            with aws_errors("The WebSocket API"):
                self._management().post_to_connection(ConnectionId=connection_id, Data=data)
        except Exception as exc:
            if error_code(exc) in ("GoneException", "410"):
                raise ConnectionGone(connection_id) from exc
            raise

    def _management(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    config = Config(
                        region_name=self._region,
                        retries={"mode": "standard", "max_attempts": 3},
                        connect_timeout=2,
                        read_timeout=5,
                        max_pool_connections=20,
                    )
                    self._client = boto3.session.Session().client(
                        "apigatewaymanagementapi", endpoint_url=self._endpoint, config=config
                    )
        return self._client
