"""A minimal RFC 6455 WebSocket server that the browser tests point ``ws_url`` at, to see
what the web app's live-channel client does with frames, repeats and a dropped socket.
It answers ``{"action": "ping"}`` with ``{"type": "pong"}`` as API.md says."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class LiveSocket:
    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self._server.getsockname()[1]}/live"
        self.tokens: list[str] = []
        self.received: list[Any] = []
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._clients)

    def send(self, frame: dict[str, Any]) -> None:
        data = json.dumps(frame).encode()
        header = bytes([0x81]) + (
            bytes([len(data)]) if len(data) < 126 else bytes([126]) + struct.pack(">H", len(data))
        )
        with self._lock:
            for client in self._clients:
                client.sendall(header + data)

    def drop_all(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.shutdown(socket.SHUT_RDWR)  # wakes the reader blocked on it, unlike close()
            client.close()

    def close(self) -> None:
        self.drop_all()
        self._server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = client.recv(4096)
            if not chunk:
                return
            request += chunk
        lines = request.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        self.tokens.append(parse_qs(urlsplit(lines[0].split(" ")[1]).query).get("token", [""])[0])
        accept = base64.b64encode(hashlib.sha1(headers["sec-websocket-key"].encode() + GUID).digest()).decode()
        client.sendall(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        with self._lock:
            self._clients.append(client)
        try:
            while (message := _read_text(client)) is not None:
                self.received.append(json.loads(message))
                if self.received[-1].get("action") == "ping":
                    self.send({"type": "pong"})
        except (OSError, ValueError):
            pass


def _read_exact(client: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = client.recv(size - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


def _read_text(client: socket.socket) -> str | None:
    """One client frame (always masked); None on a close frame."""
    first, second = _read_exact(client, 2)
    size = second & 0x7F
    if size == 126:
        size = struct.unpack(">H", _read_exact(client, 2))[0]
    elif size == 127:
        size = struct.unpack(">Q", _read_exact(client, 8))[0]
    mask = _read_exact(client, 4)
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(_read_exact(client, size)))
    if first & 0x0F == 0x8:
        return None
    return payload.decode()
