"""The composition root: the one place that builds adapters and services from settings.

Everything is built on first use and kept for the life of the container, so importing
``app`` creates no AWS client and each function pays only for what it uses.
"""

from __future__ import annotations

from functools import cached_property

from chalicelib.adapters.aws import AwsClients
from chalicelib.adapters.dynamo import CursorCodec
from chalicelib.adapters.identity import CognitoIdentity
from chalicelib.adapters.metrics import Metrics
from chalicelib.adapters.token_verifier import CognitoTokenVerifier
from chalicelib.adapters.users_repo import UsersRepository
from chalicelib.entry.auth import Verifier
from chalicelib.services.accounts import AccountsService
from chalicelib.settings import Settings


class Container:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def clients(self) -> AwsClients:
        return AwsClients(self.settings.region)

    @cached_property
    def cursors(self) -> CursorCodec:
        return CursorCodec(self.settings.cursor_key)

    @cached_property
    def token_verifier(self) -> Verifier | None:
        if not self.settings.verify_tokens:
            return None
        verifier = CognitoTokenVerifier(
            jwks_url=self.settings.jwks_url,
            issuer=self.settings.issuer,
            audience=self.settings.user_pool_client_id,
        )
        return verifier.verify

    @cached_property
    def accounts(self) -> AccountsService:
        s = self.settings
        identity = CognitoIdentity(self.clients, s.user_pool_id, s.user_pool_client_id)
        return AccountsService(identity, UsersRepository(self.clients, s.users_table))

    # --- catalog ---------------------------------------------------------------------

    # --- orders ----------------------------------------------------------------------

    # --- observability ---------------------------------------------------------------

    @cached_property
    def metrics(self) -> Metrics:
        return Metrics(stage=self.settings.stage)


_container: Container | None = None


def container() -> Container:
    global _container
    if _container is None:
        _container = Container(Settings.from_env())
    return _container


def reset(settings: Settings | None = None) -> Container:
    """Drops every cached adapter (tests and the local stack re-point the app with this)."""
    global _container
    _container = Container(settings or Settings.from_env())
    return _container
