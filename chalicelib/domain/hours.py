"""Weekly opening hours and holiday closures, read in the restaurant's own time zone. Pure.

Hours are ``{"mon": ["11:00-14:30", "18:00-23:00"], ...}``: a day left out is closed. A range
whose closing time is not after its opening time runs past midnight into the next day
("18:00-02:00" on Friday is open until 02:00 on Saturday); "00:00-24:00" is the whole day.
Times are wall-clock times, so a daylight-saving change moves the UTC instants, not the
hours. A holiday closure is a whole local date: closed from 00:00 to 24:00 that day, even in
a range that started the evening before.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60

WeeklyHours = Mapping[str, Sequence[str]]


def minutes(text: str) -> int:
    hours, mins = text.split(":")
    return int(hours) * 60 + int(mins)


def span(time_range: str) -> tuple[int, int]:
    """("18:00-02:00") -> (1080, 120): opening and closing minutes of the day."""
    opens, closes = time_range.split("-")
    return minutes(opens), minutes(closes)


def range_problem(time_range: str) -> str | None:
    """Why a well-formed range is not a usable one (``None``: it is)."""
    opens, closes = span(time_range)
    if opens == closes:
        return "opening and closing times are equal; use 00:00-24:00 for the whole day"
    return None


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ``ValueError`` if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. America/New_York)") from exc


def valid_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def is_open_at(moment: datetime, timezone: str, weekly: WeeklyHours | None, closures: Collection[str] = ()) -> bool:
    """Whether the hours admit ``moment`` (an aware datetime). No weekly hours: every hour
    counts (only closures close); ``{}``: never open."""
    local = moment.astimezone(zone(timezone))
    if local.date().isoformat() in closures:
        return False
    if weekly is None:
        return True
    now = local.hour * 60 + local.minute
    today = DAYS[local.weekday()]
    yesterday = DAYS[(local.weekday() - 1) % 7]
    for opens, closes in map(span, weekly.get(today, ())):
        if opens < closes and opens <= now < closes:
            return True
        if closes < opens and now >= opens:
            return True
    return any(closes < opens and now < closes for opens, closes in map(span, weekly.get(yesterday, ())))
