from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.timeutil import utcnow


class AuditEvent(SQLModel, table=True):
    """Append-only: database triggers refuse UPDATE and DELETE (see the migration)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_kind: str = Field(max_length=20)  # user | api_key
    actor_id: int | None = None
    actor_name: str = Field(max_length=320)
    action: str = Field(max_length=40, index=True)
    target_type: str = Field(max_length=40)
    target_id: str = Field(max_length=100)
    outcome: str = Field(max_length=20)  # ok | denied
    detail: str | None = Field(default=None, max_length=2000)
