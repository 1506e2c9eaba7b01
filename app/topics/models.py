from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.timeutil import utcnow


class Topic(SQLModel, table=True):
    """A saved search ("cancellation": `cancel* OR "close my account"` is two topics' worth:
    one query per topic, in the search's language) that tags every call it matches."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    query: str = Field(max_length=500)
    speaker: str | None = Field(default=None, max_length=10)  # only what this side said
    created_by: str = Field(max_length=320)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CallTopic(SQLModel, table=True):
    """A call the topic matched, and where first (the call page jumps there)."""

    __tablename__ = "call_topic"
    __table_args__ = (UniqueConstraint("call_id", "topic_id"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="call.id", index=True)
    topic_id: int = Field(foreign_key="topic.id", index=True)
    segment: int  # position of the first matching segment
    start: float
    tagged_at: datetime = Field(default_factory=utcnow)
