"""The worker's part in incentives: keep the open months' lines fresh, so that reading them (a
GET, payroll's key) never has to compute."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine

from app.config import Settings
from app.db import unit_of_work
from app.errors import Conflict
from app.incentives import service
from app.incentives.models import PeriodStatus
from app.timeutil import utcnow

log = logging.getLogger(__name__)


def refresh_open_periods(
    engine: Engine, settings: Settings, *, now: datetime | None = None
) -> list[str]:
    """Recompute every open month (those already stored, and last month and this month), each
    in its own unit of work, oldest first. Returns
    the months computed. Safe to run anywhere, any number of times: computing is deterministic
    and one period is computed by one transaction at a time. Months are the organisation's
    (CALLQA_TIME_ZONE)."""
    zone = settings.zone
    current = service.period_of(now or utcnow(), zone)
    with unit_of_work(engine, writes=False) as session:
        stored = service.open_periods(session)
    done = []
    # Oldest first: a month carries the adjustments of the locked months before it.
    for period in sorted({*stored, service.previous(current), current}):
        try:
            with unit_of_work(engine) as session:
                row = service.refresh(session, period, zone=zone)
        except Conflict:  # locked between the look and the computation: its lines are frozen
            continue
        if row.status is PeriodStatus.open:
            done.append(period)
    if done:
        log.debug("incentives: recomputed %s", ", ".join(done))
    return done
