from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.timeutil import utcnow
from qa.types import StoredScore


class ScorecardVersion(SQLModel, table=True):
    """One immutable version of a scorecard definition; an edit makes the next version."""

    __tablename__ = "scorecard_version"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, index=True)
    version: int
    definition: str = Field(sa_column=Column(Text, nullable=False))  # the YAML as submitted
    # The team that owns the name (every version carries its first version's owner); None: a
    # global scorecard, which only admins change.
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    created_by: str | None = Field(default=None, max_length=320)
    created_at: datetime = Field(default_factory=utcnow)


class ScorecardChoice(SQLModel, table=True):
    """Which scorecard scores the calls of a team and/or a call type. The most specific choice
    wins: team and call type, then team, then call type, then the organisation's (neither);
    without any, `default`."""

    __tablename__ = "scorecard_choice"

    id: int | None = Field(default=None, primary_key=True)
    # "team:call_type" with "*" for either left open: unique, since NULLs are never equal in a
    # unique index and two rows for one slot would make the choice ambiguous.
    slot: str = Field(max_length=60, unique=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    call_type: str | None = Field(default=None, max_length=20)
    scorecard: str = Field(max_length=100)
    created_by: str | None = Field(default=None, max_length=320)
    created_at: datetime = Field(default_factory=utcnow)


class CallScore(SQLModel, table=True):
    """A call scored with one scorecard version; rescoring adds a row, old scores stay."""

    __tablename__ = "call_score"
    __table_args__ = (UniqueConstraint("call_id", "scorecard_version_id"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="call.id", index=True)
    scorecard_version_id: int = Field(foreign_key="scorecard_version.id", index=True)
    overall: float | None = Field(default=None, index=True)
    reliability: float | None = None
    responsiveness: float | None = None
    empathy: float | None = None
    competence: float | None = None
    personal_touch: float | None = None
    script_compliance: float | None = None
    auto_fail: bool = Field(default=False, index=True)
    # Facts the incentive figures need, as columns so a month of calls is read without
    # parsing every score's detail.
    agent_talk_share: float | None = None
    hold_seconds: float | None = None
    transferred: bool | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)

    def result(self) -> StoredScore:
        """The stored detail read back into the scoring library's types."""
        return StoredScore.from_dict(self.detail)
