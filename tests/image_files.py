"""Real image files, built byte by byte: what a browser would upload."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 64, height: int = 48, middle: bytes = b"") -> bytes:
    """A real RGB PNG (what a browser would upload); ``middle`` goes between IHDR and IDAT."""
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    rows = b"".join(b"\x00" + bytes(range(256))[: 3 * width] for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + header + middle + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b"")


def jpeg(width: int = 640, height: int = 480, metadata: int = 0) -> bytes:
    """A JPEG's structure: SOI, JFIF, optional metadata (an APP1 segment), a baseline frame
    header, a scan and EOI."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    app1 = b"\xff\xe1" + struct.pack(">H", metadata + 2) + b"\x00" * metadata if metadata else b""
    components = b"".join(bytes([i, 0x11, 0]) for i in (1, 2, 3))
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + components
    sos = b"\xff\xda" + struct.pack(">HB", 12, 3) + b"\x01\x00\x02\x11\x03\x11\x00\x3f\x00"
    return b"\xff\xd8" + app0 + app1 + sof + sos + b"\x12\x34" * 2000 + b"\xff\xd9"


def webp(width: int = 320, height: int = 200, kind: bytes = b"VP8L") -> bytes:
    if kind == b"VP8L":
        payload = b"\x2f" + struct.pack("<I", (width - 1) | (height - 1) << 14) + b"\x00" * 64
    elif kind == b"VP8X":
        payload = b"\x00" * 4 + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    else:
        payload = b"\x10\x02\x00\x9d\x01\x2a" + struct.pack("<HH", width, height) + b"\x00" * 64
    chunk = kind + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk
