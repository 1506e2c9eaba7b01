from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.dbtypes import enum_type
from app.timeutil import utcnow


class RuleKind(StrEnum):
    score_below = "score_below"  # params: dimension (or overall), threshold
    auto_fail = "auto_fail"
    negative_ending = "negative_ending"  # params: threshold (customer's end compound)
    dead_air = "dead_air"  # params: seconds (longest dead air)
    weekly_below = "weekly_below"  # params: dimension, target, min_calls
    review_sla = "review_sla"  # params: hours
    repeat_call = "repeat_call"  # params: days (first-contact resolution)
    # The layout named at upload puts the agent on one channel, the words on the other.
    channel_swapped = "channel_swapped"


class AlertRule(SQLModel, table=True):
    __tablename__ = "alert_rule"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    kind: RuleKind = Field(sa_type=enum_type(RuleKind))
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class Alert(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="alert_rule.id", index=True)
    kind: RuleKind = Field(sa_type=enum_type(RuleKind))
    # What makes an alert one of a kind (rule + call, or rule + agent + week): a rescore or a
    # second sweep cannot raise the same alert twice.
    dedupe_key: str = Field(max_length=200, unique=True)
    call_id: int | None = Field(default=None, foreign_key="call.id", index=True)
    agent_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    message: str = Field(max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    acknowledged_by: int | None = Field(default=None, foreign_key="user.id")
    acknowledged_at: datetime | None = None
    # Why it closed without a person acknowledging it ("cleared by review 12").
    resolution: str | None = Field(default=None, max_length=200)
    delivered_at: datetime | None = None
    delivery_attempts: int = 0
    delivery_error: str | None = Field(default=None, max_length=2000)
