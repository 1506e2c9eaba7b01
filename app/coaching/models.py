from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.dbtypes import enum_type
from app.freetext import redact_on_write, text
from app.timeutil import utcnow


class CoachingStatus(StrEnum):
    open = "open"  # agreed with the agent, not yet confirmed by them
    acknowledged = "acknowledged"  # the agent confirmed it
    done = "done"  # the coach closed it after the follow-up


class CoachingSession(SQLModel, table=True):
    """A coach sat with an agent about some of their calls and agreed what to work on (the
    focus criteria) and when to look again (the follow-up)."""

    __tablename__ = "coaching_session"

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    coach_id: int = Field(foreign_key="user.id", index=True)
    note: str | None = Field(default=None, sa_column=Column(Text))
    # Criterion ids of the agent's scorecards, in the order the coach chose them.
    focus: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # A day in the organisation's zone; overdue once it has passed and the session is not done.
    follow_up: date | None = Field(default=None, index=True)
    status: CoachingStatus = Field(
        default=CoachingStatus.open, sa_type=enum_type(CoachingStatus), index=True
    )
    acknowledged_at: datetime | None = None
    agent_comment: str | None = Field(default=None, sa_column=Column(Text))
    done_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class CoachingCall(SQLModel, table=True):
    """A call the session was about (one of the agent's)."""

    __tablename__ = "coaching_call"
    __table_args__ = (UniqueConstraint("coaching_id", "call_id"),)

    id: int | None = Field(default=None, primary_key=True)
    coaching_id: int = Field(foreign_key="coaching_session.id", index=True)
    call_id: int = Field(foreign_key="call.id", index=True)


# What the coach and the agent type is redacted for card data as it is written (app/freetext.py).
redact_on_write(CoachingSession, note=text, agent_comment=text)
