"""`from` and `to` of a list, report or page: ISO dates or times, checked in one place.

A time without an offset ("2026-11-01", "2026-11-01T08:00") is the organisation's wall-clock
time (CALLQA_TIME_ZONE), so that "November" on a Jerusalem center's report starts at its own
midnight; one with an offset is taken as given. `to` is exclusive, and empty means open-ended
(a web form sends empty fields).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Annotated

from fastapi import Depends, Query

from app.auth import OrgZone
from app.errors import BadRequest
from app.timeutil import from_local


def parse_time(name: str, value: str | None, zone: tzinfo) -> datetime | None:
    """An ISO date or time in UTC, or None when empty; 400 says what is wrong."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return from_local(datetime.fromisoformat(value), zone)
    except ValueError:
        raise BadRequest(
            f"`{name}` must be an ISO date or time, e.g. 2026-11-01 or 2026-11-01T08:00+02:00"
        ) from None


@dataclass(frozen=True)
class DateRange:
    started_from: datetime | None
    started_to: datetime | None


def date_range(
    zone: OrgZone,
    started_from: Annotated[
        str | None, Query(alias="from", description="from this date or time (inclusive)")
    ] = None,
    started_to: Annotated[
        str | None, Query(alias="to", description="before this date or time (exclusive)")
    ] = None,
) -> DateRange:
    lo, hi = parse_time("from", started_from, zone), parse_time("to", started_to, zone)
    if lo and hi and lo > hi:
        raise BadRequest("`from` must not be after `to`")
    return DateRange(lo, hi)


Dates = Annotated[DateRange, Depends(date_range)]
