from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.dbtypes import enum_type
from app.timeutil import utcnow


class JobState(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class Job(SQLModel, table=True):
    """The ledger: the truth about a call's stage, because Huey forgets a job once taken."""

    __table_args__ = (UniqueConstraint("call_id", "stage"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="call.id", index=True)
    stage: str = Field(max_length=40)
    state: JobState = Field(default=JobState.queued, sa_type=enum_type(JobState), index=True)
    attempts: int = 0
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_expires_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=2000)
    # Its message could not be sent (the queue was down when the row committed): the reconciler
    # sends it on its first pass that reaches the queue, not after the usual staleness wait.
    unsent: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
