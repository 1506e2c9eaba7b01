"""Times: stored and sent in UTC (ISO 8601 with an offset), shown and grouped in a zone.

The organisation's zone (CALLQA_TIME_ZONE) decides what "a day", "a week" and "a month" are for
incentives, alerts, dashboards and shopper contact times; a user's own zone only changes how
pages show times to that user. Zones come from the IANA database (the tzdata package carries it
where the system has none).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A client's time in UTC; a time without an offset is taken to be UTC already."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


@cache
def zone_names() -> frozenset[str]:
    # available_timezones() also lists legacy aliases ("posixrules", "Factory"); those that a
    # user might type work either way, the picker offers the region/city names.
    return frozenset(n for n in available_timezones() if "/" in n or n == "UTC")


def zone(name: str) -> ZoneInfo:
    """The IANA zone called `name` ("Asia/Jerusalem", "UTC"); ValueError says what is wrong."""
    if not name or name != name.strip() or ".." in name or name.startswith("/"):
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Asia/Jerusalem")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as Asia/Jerusalem"
        ) from None


def local(value: datetime, tz: tzinfo) -> datetime:
    """A stored (UTC) time as the wall-clock time in `tz`."""
    return as_utc(value).astimezone(tz)


def from_local(value: datetime, tz: tzinfo) -> datetime:
    """A time a person typed, in UTC: one without an offset is read in `tz` (a wall-clock time
    that a clock change skips or repeats takes the offset before the change, zoneinfo's fold=0)."""
    return as_utc(value if value.tzinfo else value.replace(tzinfo=tz))


def day_start(day: date, tz: tzinfo) -> datetime:
    """Midnight at the start of `day` in `tz`, in UTC."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def day_end(day: date, tz: tzinfo) -> datetime:
    """The last second of `day` in `tz`, in UTC (for "due on this day")."""
    return day_start(day + timedelta(days=1), tz) - timedelta(seconds=1)


def today(tz: tzinfo) -> date:
    return utcnow().astimezone(tz).date()


def month_bounds(year: int, month: int, tz: tzinfo) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in UTC, for months as `tz` counts them."""
    start = day_start(date(year, month, 1), tz)
    end = day_start(date(year + (month == 12), month % 12 + 1, 1), tz)
    return start, end


def month_of(moment: datetime, tz: tzinfo) -> str:
    """ "YYYY-MM" of the month that `moment` falls in, in `tz`."""
    return local(moment, tz).strftime("%Y-%m")


def week_start(moment: datetime, tz: tzinfo) -> datetime:
    """The Monday 00:00 in `tz` that starts the week of `moment`, in UTC."""
    day = local(moment, tz).date()
    return day_start(day - timedelta(days=day.weekday()), tz)
