"""API Gateway's WebSocket management API: posts a frame to a connection. The endpoint is
the WebSocket stage's (https://<api>.execute-api.<region>.amazonaws.com/<stage>) on AWS and
the local bridge's under ``make run``: the same boto3 client either way."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalicelib.adapters.aws import AwsClients, aws_errors, error_code


class ConnectionGone(Exception):
    """The connection no longer exists (GoneException): forget it."""


class SocketPoster:
    def __init__(self, clients: AwsClients, configured: bool) -> None:
        self._clients = clients
        self._configured = configured

    @property
    def configured(self) -> bool:
        return self._configured

    def post(self, connection_id: str, message: Mapping[str, Any]) -> None:
        data = json.dumps(message, separators=(",", ":")).encode()
        try:
            with aws_errors("The WebSocket API"):
                self._clients.get("apigatewaymanagementapi").post_to_connection(ConnectionId=connection_id, Data=data)
        except Exception as exc:
            if error_code(exc) in ("GoneException", "410"):
                raise ConnectionGone(connection_id) from exc
            raise
