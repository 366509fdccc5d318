"""The WebSocket API of the local stack (``chalice local`` serves none).

Two servers on 127.0.0.1, as API Gateway offers them on AWS:

- a WebSocket server (the ``websockets`` package) that calls the app's own
  ``websocket_connect`` / ``websocket_message`` / ``websocket_disconnect`` handlers with
  API Gateway-shaped events, the way Lambda calls them. ``$connect`` runs before the
  upgrade: a handler answer other than 200 refuses the handshake with that status.
- the management API (``POST``/``DELETE``/``GET /@connections/{id}``) that the app reaches
  through its ordinary boto3 ``apigatewaymanagementapi`` client, pointed here by
  ``WEBSOCKET_ENDPOINT``. An unknown or closed connection is 410 ``GoneException``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from devtools.emulator import port_in_use

STAGE = "local"
API_ID = "local"


def _connection_id() -> str:
    """Shaped like API Gateway's: 12 random bytes, base64."""
    return base64.b64encode(secrets.token_bytes(12)).decode()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Live:
    """One open socket, as the management API sees it."""

    def __init__(self, connection: Any, source_ip: str, user_agent: str) -> None:
        self.connection = connection
        self.source_ip = source_ip
        self.user_agent = user_agent
        self.connected_at = _now_ms()
        self.last_active_at = self.connected_at


class WebSocketBridge:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self.port = 0
        self.management_port = 0
        self._live: dict[str, _Live] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._management: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self.stats = {"connected": 0, "refused": 0, "posted": 0, "gone": 0}

    # --- life cycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def management_url(self) -> str:
        return f"http://{self.host}:{self.management_port}"

    @property
    def env(self) -> dict[str, str]:
        """What the app needs to reach the bridge (Settings: WS_URL, WEBSOCKET_ENDPOINT)."""
        return {"WS_URL": self.url, "WEBSOCKET_ENDPOINT": self.management_url}

    def start(self) -> WebSocketBridge:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._spawn("ws-bridge", lambda: self._run_loop(ready, failure))
        if not ready.wait(10) or failure:
            self.stop()
            raise RuntimeError(f"the WebSocket bridge did not start: {failure[:1]}")
        # Bound after the WebSocket port, so that its ephemeral port cannot take that one.
        self._management = ThreadingHTTPServer((self.host, 0), _management_handler(self))
        self._management.daemon_threads = True
        self.management_port = int(self._management.server_address[1])
        self._spawn("ws-management", self._management.serve_forever)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            server = self._server

            async def close() -> None:
                server.close()
                await server.wait_closed()

            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=5)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._management is not None:
            self._management.shutdown()
            self._management.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _run_loop(self, ready: threading.Event, failure: list[BaseException]) -> None:
        from websockets.asyncio.server import serve

        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)

        async def open_server() -> None:
            options: dict[str, Any] = {
                "process_request": self._connect,
                "ping_interval": None,
                "max_size": 128 * 1024,  # API Gateway's message limit
            }
            try:
                self._server = await serve(self._session, self.host, self._requested_port, **options)
            except OSError:
                if not self._requested_port:
                    raise
                # The wanted port was taken since it was checked: any free one will do.
                self._server = await serve(self._session, self.host, 0, **options)
            self.port = int(next(iter(self._server.sockets)).getsockname()[1])

        try:
            loop.run_until_complete(open_server())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            failure.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.close()

    # --- the WebSocket side ---------------------------------------------------------------

    def _base_context(self, connection_id: str, route: str, event_type: str) -> dict[str, Any]:
        now = _now_ms()
        return {
            "routeKey": route,
            "eventType": event_type,
            "messageDirection": "IN",
            "stage": STAGE,
            "apiId": API_ID,
            "domainName": f"{self.host}:{self.port}",
            "connectionId": connection_id,
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": str(uuid.uuid4()),
            "requestTimeEpoch": now,
            "requestTime": datetime.fromtimestamp(now / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        }

    async def _connect(self, connection: Any, request: Any) -> Any:
        """``$connect``, before the upgrade: the handler's status decides."""
        connection_id = _connection_id()
        connection.chowline_id = connection_id
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}
        headers = {k: v for k, v in request.headers.raw_items()}
        source_ip = str(connection.remote_address[0]) if connection.remote_address else "127.0.0.1"
        context = self._base_context(connection_id, "$connect", "CONNECT")
        context["connectedAt"] = _now_ms()
        context["identity"] = {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", "")}
        event = {
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
            "requestContext": context,
            "isBase64Encoded": False,
        }
        answer = await asyncio.to_thread(_invoke, "websocket_connect", event)
        status = int((answer or {}).get("statusCode", 200))
        if status != 200:
            self.stats["refused"] += 1
            body = answer.get("body") if isinstance(answer, dict) else ""
            return connection.respond(HTTPStatus(status), (body if isinstance(body, str) else json.dumps(body)) + "\n")
        with self._lock:
            self._live[connection_id] = _Live(connection, source_ip, headers.get("User-Agent", ""))
        self.stats["connected"] += 1
        return None

    async def _session(self, connection: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        connection_id = connection.chowline_id
        try:
            async for frame in connection:
                with self._lock:
                    live = self._live.get(connection_id)
                if live:
                    live.last_active_at = _now_ms()
                context = self._base_context(connection_id, "$default", "MESSAGE")
                context["messageId"] = str(uuid.uuid4())
                body = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
                event = {"requestContext": context, "body": body, "isBase64Encoded": False}
                await asyncio.to_thread(_invoke, "websocket_message", event)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._live.pop(connection_id, None)
            context = self._base_context(connection_id, "$disconnect", "DISCONNECT")
            context["disconnectStatusCode"] = connection.close_code or 1006
            context["disconnectReason"] = connection.close_reason or ""
            await asyncio.to_thread(
                _invoke, "websocket_disconnect", {"requestContext": context, "isBase64Encoded": False}
            )

    # --- the management API ---------------------------------------------------------------

    def post(self, connection_id: str, data: bytes) -> bool:
        """Sends one text frame; False when the connection is gone."""
        from websockets.exceptions import ConnectionClosed

        with self._lock:
            live = self._live.get(connection_id)
        if live is None or self._loop is None:
            self.stats["gone"] += 1
            return False
        try:
            future = asyncio.run_coroutine_threadsafe(live.connection.send(data.decode("utf-8")), self._loop)
            future.result(timeout=5)
        except ConnectionClosed:
            with self._lock:
                self._live.pop(connection_id, None)
            self.stats["gone"] += 1
            return False
        self.stats["posted"] += 1
        return True

    def close(self, connection_id: str) -> bool:
        with self._lock:
            live = self._live.pop(connection_id, None)
        if live is None or self._loop is None:
            return False
        asyncio.run_coroutine_threadsafe(live.connection.close(), self._loop).result(timeout=5)
        return True

    def describe(self, connection_id: str) -> dict[str, Any] | None:
        with self._lock:
            live = self._live.get(connection_id)
        if live is None:
            return None
        return {
            "ConnectedAt": _iso(live.connected_at),
            "LastActiveAt": _iso(live.last_active_at),
            "Identity": {"SourceIp": live.source_ip, "UserAgent": live.user_agent},
        }


def _invoke(function: str, event: dict[str, Any]) -> Any:
    """Calls a handler of app.py as Lambda would: ``handler(event, context)``."""
    import app
    from devtools.lambda_context import invoke

    return invoke(getattr(app, function), function, event)


def _management_handler(bridge: WebSocketBridge) -> type[BaseHTTPRequestHandler]:
    class Management(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _connection(self) -> str | None:
            path = unquote(urlsplit(self.path).path)
            prefix = "/@connections/"
            return path[len(prefix) :] if path.startswith(prefix) and len(path) > len(prefix) else None

        def _answer(self, status: int, body: dict[str, Any] | None = None, error: str | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if error:
                self.send_header("x-amzn-ErrorType", error)
            self.end_headers()
            self.wfile.write(data)

        def _gone(self) -> None:
            self._answer(410, {"message": None}, "GoneException")

        def do_POST(self) -> None:
            connection_id = self._connection()
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if connection_id is None:
                return self._answer(404, {"message": "Not Found"}, "NotFoundException")
            if len(data) > 128 * 1024:
                return self._answer(413, {"message": "Message too long"}, "PayloadTooLargeException")
            return self._answer(200) if bridge.post(connection_id, data) else self._gone()

        def do_DELETE(self) -> None:
            connection_id = self._connection()
            if connection_id is None:
                return self._answer(404, {"message": "Not Found"}, "NotFoundException")
            return self._answer(204) if bridge.close(connection_id) else self._gone()

        def do_GET(self) -> None:
            connection_id = self._connection()
            described = bridge.describe(connection_id) if connection_id else None
            return self._answer(200, described) if described else self._gone()

    return Management


def start_bridge(api_port: int) -> WebSocketBridge:
    """The bridge ``make run`` starts: on WS_PORT, else the port after the API's (or any
    free port when that one is taken). Points this process's app at it."""
    wanted = int(os.environ.get("WS_PORT") or api_port + 1)
    bridge = WebSocketBridge(port=0 if port_in_use(wanted) else wanted).start()
    os.environ.update(bridge.env)
    from chalicelib import bootstrap

    bootstrap.reset()
    return bridge
