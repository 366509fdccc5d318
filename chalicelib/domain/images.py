"""What an uploaded image really is, read from its own bytes: the whole header of a PNG
(signature and IHDR with its CRC), a JPEG (segments up to the frame header) or a WebP (RIFF
and its VP8/VP8L/VP8X header), with sane dimensions, and the file's proper end. The declared
type is only what the uploader claimed; a script behind a few magic bytes is refused here,
and the published copy is served with the type found here (and ``nosniff``)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

PNG, JPEG, WEBP = "image/png", "image/jpeg", "image/webp"
EXTENSIONS = {PNG: "png", JPEG: "jpg", WEBP: "webp"}
MAX_SIDE = 10_000  # pixels, either way
MAX_PIXELS = 40_000_000  # a 5 MiB file that decodes to more is a decompression bomb
HEADER_BYTES = 64 * 1024  # JPEG metadata (EXIF, ICC) may come before the frame header
TAIL_BYTES = 12

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_PNG_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
# Start-of-frame markers (baseline, progressive, lossless, arithmetic); not DHT/JPG/DAC.
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}
_JPEG_START_OF_SCAN = 0xDA


class NotAnImage(ValueError):
    """Why the bytes are not an acceptable image."""


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]


def identify(head: bytes, tail: bytes, size: int) -> ImageInfo:
    """The image in a file of ``size`` bytes, from its first ``HEADER_BYTES`` (``head``) and
    last ``TAIL_BYTES`` (``tail``); raises ``NotAnImage``."""
    if head.startswith(_PNG_SIGNATURE):
        info = _png(head, tail)
    elif head.startswith(b"\xff\xd8"):
        info = _jpeg(head, tail)
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        info = _webp(head, size)
    else:
        raise NotAnImage("the bytes are not a PNG, JPEG or WebP image")
    if not (0 < info.width <= MAX_SIDE and 0 < info.height <= MAX_SIDE) or info.width * info.height > MAX_PIXELS:
        raise NotAnImage(f"{info.width}x{info.height} pixels is out of bounds (at most {MAX_SIDE} a side)")
    return info


def _png(head: bytes, tail: bytes) -> ImageInfo:
    chunk = head[8:33]
    if len(chunk) < 25 or chunk[:8] != b"\x00\x00\x00\x0dIHDR":
        raise NotAnImage("the PNG has no IHDR header")
    data, crc = chunk[8:21], struct.unpack(">I", chunk[21:25])[0]
    if zlib.crc32(b"IHDR" + data) != crc:
        raise NotAnImage("the PNG header is corrupt (CRC)")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", data)
    if depth not in _PNG_DEPTHS.get(colour, set()) or compression or filtering or interlace not in (0, 1):
        raise NotAnImage("the PNG header is not valid")
    if not tail.endswith(_PNG_END):
        raise NotAnImage("the PNG does not end with IEND")
    return ImageInfo(PNG, width, height)


def _jpeg(head: bytes, tail: bytes) -> ImageInfo:
    offset = 2
    while offset + 4 <= len(head):
        if head[offset] != 0xFF:
            raise NotAnImage("the JPEG's segments are corrupt")
        marker = head[offset + 1]
        if marker == 0xFF:  # a fill byte
            offset += 1
            continue
        if marker in _JPEG_STANDALONE:
            offset += 2
            continue
        (length,) = struct.unpack(">H", head[offset + 2 : offset + 4])
        if marker == _JPEG_START_OF_SCAN or length < 2:
            raise NotAnImage("the JPEG has no valid frame header")
        if marker in _JPEG_FRAMES:
            frame = head[offset + 4 : offset + 2 + length]
            if len(frame) < 6:
                raise NotAnImage("the JPEG frame header is truncated")
            precision, height, width, components = struct.unpack(">BHHB", frame[:6])
            if precision not in (8, 12) or components not in (1, 3, 4) or length != 8 + 3 * components:
                raise NotAnImage("the JPEG frame header is not valid")
            if not tail.endswith(b"\xff\xd9"):
                raise NotAnImage("the JPEG does not end with an end-of-image marker")
            return ImageInfo(JPEG, width, height)
        offset += 2 + length
    raise NotAnImage("the JPEG has no frame header within its first 64 KiB")


def _webp(head: bytes, size: int) -> ImageInfo:
    if len(head) < 30:
        raise NotAnImage("the WebP header is truncated")
    (riff_size,) = struct.unpack("<I", head[4:8])
    if riff_size != size - 8:
        raise NotAnImage("the WebP's RIFF size does not match the file")
    kind = head[12:16]
    if kind == b"VP8 ":
        if head[20] & 1 or head[23:26] != b"\x9d\x01\x2a":
            raise NotAnImage("the WebP (VP8) frame header is not valid")
        width, height = (v & 0x3FFF for v in struct.unpack("<HH", head[26:30]))
        return ImageInfo(WEBP, width, height)
    if kind == b"VP8L":
        (bits,) = struct.unpack("<I", head[21:25])
        if head[20] != 0x2F or bits >> 29:
            raise NotAnImage("the WebP (lossless) header is not valid")
        return ImageInfo(WEBP, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if kind == b"VP8X":
        if head[16:20] != b"\x0a\x00\x00\x00":
            raise NotAnImage("the WebP (extended) header is not valid")
        width = 1 + int.from_bytes(head[24:27], "little")
        height = 1 + int.from_bytes(head[27:30], "little")
        return ImageInfo(WEBP, width, height)
    raise NotAnImage("the WebP has no VP8, VP8L or VP8X header")
