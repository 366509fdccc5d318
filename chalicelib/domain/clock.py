"""Time in the format the API speaks: RFC 3339 UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now_text() -> str:
    return rfc3339(now())


def parse_rfc3339(text: str) -> datetime:
    """The instant an ``rfc3339`` text names (aware, UTC)."""
    return datetime.fromisoformat(text).astimezone(UTC)
