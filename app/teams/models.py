from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.timeutil import utcnow


class Team(SQLModel, table=True):
    """A group of agents led by one or more supervisors; the unit a supervisor's view covers."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


class TeamLead(SQLModel, table=True):
    """A supervisor leading a team (a supervisor may lead several, a team have several)."""

    __tablename__ = "team_lead"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
