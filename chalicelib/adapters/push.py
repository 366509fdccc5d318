"""SNS mobile push: a device token becomes a platform endpoint of the platform's SNS
application; a message goes to one endpoint, formatted per platform (MessageStructure=json)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from chalicelib.adapters.aws import AwsClients, aws_errors, error_code


class EndpointGone(Exception):
    """The endpoint is disabled (the platform refused the token) or deleted: forget the device."""


class PlatformNotConfigured(Exception):
    """No SNS platform application for this platform on this stage."""


class MobilePush:
    def __init__(self, clients: AwsClients, applications: Mapping[str, str]) -> None:
        self._clients = clients
        self._applications = {k: v for k, v in applications.items() if v}

    @property
    def platforms(self) -> list[str]:
        return sorted(self._applications)

    def create_endpoint(self, platform: str, token: str) -> str:
        """The token's endpoint (SNS returns the existing one for a known token: a phone
        that changes hands keeps one endpoint, pushed to for whoever registered it last)."""
        application = self._applications.get(platform)
        if not application:
            raise PlatformNotConfigured(platform)
        with aws_errors("Mobile push"):
            out = self._clients.get("sns").create_platform_endpoint(PlatformApplicationArn=application, Token=token)
        return str(out["EndpointArn"])

    def delete_endpoint(self, endpoint_arn: str) -> None:
        with aws_errors("Mobile push"):
            self._clients.get("sns").delete_endpoint(EndpointArn=endpoint_arn)

    def send(self, endpoint_arn: str, payloads: Mapping[str, str]) -> str:
        try:
            with aws_errors("Mobile push"):
                out = self._clients.get("sns").publish(
                    TargetArn=endpoint_arn, Message=json.dumps(dict(payloads)), MessageStructure="json"
                )
        except Exception as exc:
            code = error_code(exc)
            if code in ("EndpointDisabled", "NotFound") or (code == "InvalidParameter" and "ndpoint" in str(exc)):
                raise EndpointGone(endpoint_arn) from exc
            raise
        return str(out.get("MessageId", ""))
