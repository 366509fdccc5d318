"""The live channel: WebSocket connections (connect, ping, disconnect) and the delivery of
one event to one user over every channel they have (their sockets and their devices)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib import __version__
from chalicelib.adapters.connections_repo import COURIERS_AUDIENCE, ConnectionsRepository
from chalicelib.adapters.sockets import ConnectionGone, SocketPoster
from chalicelib.domain.errors import Unauthorized
from chalicelib.domain.live import CONNECTION_TTL_SECONDS, ClientConfig
from chalicelib.domain.principal import COURIERS
from chalicelib.entry.auth import parse_groups
from chalicelib.settings import Settings

PONG = {"type": "pong"}


@dataclass
class Posted:
    """What one post to a user did: frames posted, and the connections found gone."""

    posted: int = 0
    gone_connections: list[str] = field(default_factory=list)


class LiveService:
    def __init__(
        self,
        connections: ConnectionsRepository,
        sockets: SocketPoster,
        verifier: Callable[[], Callable[[str], dict[str, Any]]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._connections = connections
        self._sockets = sockets
        self._verifier = verifier
        self._clock = clock

    # --- the WebSocket API's routes -------------------------------------------------------

    def connect(self, connection_id: str, query: Mapping[str, str] | None) -> str:
        """Verifies ``?token=`` (an ID token of the pool) and records the connection; returns
        the user id. Raises Unauthorized: API Gateway then refuses the upgrade."""
        token = (query or {}).get("token", "").strip()
        if not token:
            raise Unauthorized("A ?token= with a Cognito ID token is required")
        claims = self._verifier()(token)
        user_id = str(claims.get("sub") or "")
        if not user_id:
            raise Unauthorized("The token names no user")
        audience = COURIERS_AUDIENCE if COURIERS in parse_groups(claims) else None
        now = int(self._clock())
        self._connections.put(connection_id, user_id, audience, now, now + CONNECTION_TTL_SECONDS)
        return user_id

    def message(self, connection_id: str, body: str) -> None:
        """``{"action": "ping"}`` is answered with ``{"type": "pong"}``; anything else is ignored."""
        try:
            action = json.loads(body).get("action") if body else None
        except (ValueError, AttributeError):
            action = None
        if action == "ping":
            try:
                self._sockets.post(connection_id, PONG)
            except ConnectionGone:
                self._connections.delete(connection_id)

    def disconnect(self, connection_id: str) -> None:
        self._connections.delete(connection_id)

    # --- delivery -------------------------------------------------------------------------

    def couriers_online(self) -> dict[str, list[str]]:
        """Connected couriers: user id -> their connection ids."""
        by_user: dict[str, list[str]] = {}
        for row in self._connections.couriers(int(self._clock())):
            by_user.setdefault(str(row["user_id"]), []).append(str(row["connection_id"]))
        return by_user

    def connections_of(self, user_id: str) -> list[str]:
        """The user's live connections (none read while no socket API is configured)."""
        return self._connections.of_user(user_id, int(self._clock())) if self._sockets.configured else []

    def post(self, user_id: str, message: Mapping[str, Any], known: Iterable[str] | None = None) -> Posted:
        """Posts to every connection of the user (``known``: already looked up). A connection
        that is gone loses its row; any other failure propagates."""
        done = Posted()
        if not self._sockets.configured:
            return done
        for connection_id in list(known) if known is not None else self.connections_of(user_id):
            try:
                self._sockets.post(connection_id, message)
                done.posted += 1
            except ConnectionGone:
                self._connections.delete(connection_id)
                done.gone_connections.append(connection_id)
        return done


def client_config(settings: Settings, push_platforms: list[str], host: str) -> ClientConfig:
    """Where a client connects: configured URLs on AWS; locally the API is the host asked."""
    local = bool(settings.endpoint_url)
    api_url = settings.api_url or (f"http://{host}" if local else f"https://{host}/api")
    return ClientConfig(
        api_url=api_url,
        ws_url=settings.ws_url,
        region=settings.region,
        user_pool_id=settings.user_pool_id,
        user_pool_client_id=settings.user_pool_client_id,
        stage=settings.stage,
        version=__version__,
        push_platforms=push_platforms,
        web_api_key=settings.web_api_key,
    )
