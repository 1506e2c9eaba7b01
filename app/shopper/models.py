from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.freetext import redact_on_write, text, text_values
from app.timeutil import utcnow


class ShopperTemplate(SQLModel, table=True):
    """One immutable version of a mystery-shopper form; an edit makes the next version."""

    __tablename__ = "shopper_template"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, index=True)
    version: int
    definition: str = Field(sa_column=Column(Text, nullable=False))
    # The team that owns the form's name; None: a global form, which only admins change.
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    created_by: str | None = Field(default=None, max_length=320)
    created_at: datetime = Field(default_factory=utcnow)


class ShopperAssignment(SQLModel, table=True):
    """A visit a shopper is asked to make: one agent, or a team on a channel, by a date. The
    link carries a random secret; only its hash is kept."""

    __tablename__ = "shopper_assignment"

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="shopper_template.id")
    agent_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    channel: str = Field(max_length=20)
    due_at: datetime
    expires_at: datetime
    notes: str | None = Field(default=None, max_length=2000)
    secret_hash: str = Field(max_length=64)
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    used_at: datetime | None = None


class ShopperSubmission(SQLModel, table=True):
    """A filled form: at most one per assignment (the unique key makes the link one-time even
    when two submissions race)."""

    __tablename__ = "shopper_submission"

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="shopper_assignment.id", unique=True)
    agent_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    channel: str = Field(max_length=20)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    items: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    overall: float | None = None
    reliability: float | None = None
    responsiveness: float | None = None
    empathy: float | None = None
    competence: float | None = None
    personal_touch: float | None = None
    script_compliance: float | None = None
    contact_at: datetime | None = None  # when the shopper says the call took place
    contact_number: str | None = Field(default=None, max_length=40)
    matched_call_id: int | None = Field(default=None, foreign_key="call.id", index=True)
    submitted_at: datetime = Field(default_factory=utcnow, index=True)


class ShopperAttempt(SQLModel, table=True):
    """Every submission attempt, kept for rate limiting by link and by address."""

    __tablename__ = "shopper_attempt"

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int | None = Field(default=None, index=True)
    address: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, index=True)


# Shoppers and planners type free text; card data in it is redacted as it is written.
redact_on_write(ShopperAssignment, notes=text)
redact_on_write(ShopperSubmission, answers=text_values)
