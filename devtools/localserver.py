"""Chalice's own local server, with one repair: real token checks.

``chalice local`` decodes any Cognito token without verifying it and crashes on a token
that is not a JWT. Here its authorizer simply passes the request on, and the app's
middleware verifies the token against the user pool's JWKS (``VERIFY_TOKENS=true``), as
API Gateway's Cognito authorizer does on AWS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chalice import CognitoUserPoolAuthorizer
from chalice.local import LocalGatewayAuthorizer

PROJECT_DIR = Path(__file__).resolve().parent.parent

_original_authorize = LocalGatewayAuthorizer.authorize


def _authorize(self: LocalGatewayAuthorizer, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
    route = self._route_for_event(lambda_event)
    if route is not None and isinstance(route.authorizer, CognitoUserPoolAuthorizer):
        return lambda_event, lambda_context
    return _original_authorize(self, raw_path, lambda_event, lambda_context)


def install_token_passthrough() -> None:
    LocalGatewayAuthorizer.authorize = _authorize  # type: ignore[method-assign]


def create_server(host: str, port: int, stage: str = "local") -> Any:
    """Builds chalice's LocalDevServer for ``stage``, as ``chalice local`` would."""
    import os

    from chalice.cli.factory import CLIFactory

    install_token_passthrough()
    factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    return factory.create_local_server(config.chalice_app, config, host, port)
