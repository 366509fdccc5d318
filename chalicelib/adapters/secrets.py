"""A Secrets Manager secret, read on first use and kept for the life of the container.

The stage's environment names the secret (its ARN or name), never holds its value.
"""

from __future__ import annotations

import threading

from chalicelib.adapters.aws import AwsClients, aws_errors


class Secret:
    def __init__(self, clients: AwsClients, secret_id: str) -> None:
        self._clients = clients
        self._id = secret_id
        self._value: str | None = None
        self._lock = threading.Lock()

    def value(self) -> str:
        if self._value is None:
            with self._lock, aws_errors("The secret store"):
                if self._value is None:
                    out = self._clients.get("secretsmanager").get_secret_value(SecretId=self._id)
                    self._value = str(out["SecretString"]).strip()
        return self._value
