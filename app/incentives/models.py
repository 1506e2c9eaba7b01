from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.dbtypes import enum_type
from app.timeutil import utcnow


class BonusRuleVersion(SQLModel, table=True):
    """One immutable version of the bonus rules; an edit makes the next version."""

    __tablename__ = "bonus_rule_version"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, index=True)
    version: int
    definition: str = Field(sa_column=Column(Text, nullable=False))
    created_by: str | None = Field(default=None, max_length=320)
    created_at: datetime = Field(default_factory=utcnow)


class PeriodStatus(StrEnum):
    open = "open"
    locked = "locked"


class IncentivePeriod(SQLModel, table=True):
    __tablename__ = "incentive_period"

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=7, unique=True)  # YYYY-MM
    status: PeriodStatus = Field(default=PeriodStatus.open, sa_type=enum_type(PeriodStatus))
    rule_version_id: int | None = Field(default=None, foreign_key="bonus_rule_version.id")
    computed_at: datetime | None = None
    locked_at: datetime | None = None
    locked_by: str | None = Field(default=None, max_length=320)
    # Whose months these are (an IANA zone): the organisation's while the period is open, frozen
    # with it at lock, so that a later change of CALLQA_TIME_ZONE cannot move a paid month's
    # calls and raise adjustments nobody earned.
    time_zone: str = Field(default="UTC", max_length=64)
    # The instants whose calls it counts, frozen at lock: next to a locked month, an open one
    # starts where it ended, so a call is never in two months or in none.
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class LineKind(StrEnum):
    regular = "regular"  # the agent's figures for this period
    adjustment = "adjustment"  # a change to a locked earlier period, paid in this one


class IncentiveLine(SQLModel, table=True):
    __tablename__ = "incentive_line"
    __table_args__ = (UniqueConstraint("period_id", "agent_id", "kind", "for_period"),)

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="incentive_period.id", index=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    kind: LineKind = Field(sa_type=enum_type(LineKind))
    for_period: str = Field(max_length=7)  # the period the figures are of
    eligible: bool
    amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    currency: str = Field(max_length=3)
    rule_version_id: int = Field(foreign_key="bonus_rule_version.id")
    scorecard_versions: list[int] = Field(default_factory=list, sa_column=Column(JSON))
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    checks: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    computed_at: datetime = Field(default_factory=utcnow)
