"""A report's period from what people type: dates or date-times in a time zone.

``period("2026-07-01", "2026-07-31", "Asia/Ho_Chi_Minh")`` is July in Vietnam: from the
first instant of 1 July to the first instant of 1 August there, as milliseconds since the
epoch (the end excluded). A date-time (``2026-07-01T08:00``) is taken as written, in the
zone; one with an offset keeps its offset. Both the CLI and the HTTP route read periods so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledger.errors import InvalidInput

__all__ = ["Period", "period"]

_MAX_TZ = 64


@dataclass(frozen=True, slots=True)
class Period:
    from_ms: int
    to_ms: int
    tz: str
    from_local: str
    to_local: str


def _zone(tz: str) -> ZoneInfo:
    if not tz or len(tz) > _MAX_TZ or ".." in tz or tz.startswith("/"):
        raise InvalidInput(f"{tz[:_MAX_TZ]!r} is not a time zone name", code="bad_period")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {tz!r}: use an IANA name like Asia/Ho_Chi_Minh or UTC",
            code="bad_period",
        ) from None


def _instant(text: str, zone: ZoneInfo, *, end: bool) -> datetime:
    text = text.strip()
    if len(text) > 40:
        raise InvalidInput("a date is at most 40 characters", code="bad_period")
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=zone)
            return start + timedelta(days=1) if end else start
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a date (2026-07-01) or date-time (2026-07-01T08:00)",
            code="bad_period",
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def period(start: str, end: str, tz: str = "UTC") -> Period:
    """The period from ``start`` to ``end`` (a date ends with its day) in ``tz``."""
    zone = _zone(tz)
    low, high = _instant(start, zone, end=False), _instant(end, zone, end=True)
    from_ms, to_ms = int(low.timestamp() * 1000), int(high.timestamp() * 1000)
    if from_ms >= to_ms:
        raise InvalidInput("the period's start must be before its end", code="bad_period")
    return Period(from_ms, to_ms, tz, low.isoformat(), high.isoformat())
