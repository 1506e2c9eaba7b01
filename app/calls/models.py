from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.dbtypes import enum_type
from app.timeutil import utcnow


class CallStatus(StrEnum):
    received = "received"
    transcribing = "transcribing"
    transcribed = "transcribed"
    scoring = "scoring"
    scored = "scored"
    failed = "failed"


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"


class CallType(StrEnum):
    service = "service"
    sales = "sales"
    other = "other"


class Call(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    external_id: str | None = Field(default=None, max_length=200, unique=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    started_at: datetime = Field(index=True)
    direction: Direction = Field(sa_type=enum_type(Direction), index=True)
    call_type: CallType = Field(sa_type=enum_type(CallType), index=True)
    customer_ref: str | None = Field(default=None, max_length=200, index=True)
    layout: str = Field(max_length=20)
    deal_closed: bool | None = None
    deal_value: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2)))
    status: CallStatus = Field(default=CallStatus.received, sa_type=enum_type(CallStatus),
                               index=True)
    failure_reason: str | None = Field(default=None, max_length=2000)
    # A uniform draw in [0, 1) made at upload: the call is in the random review sample when it
    # is below the configured share, so the sample is stable and the share can change later.
    review_draw: float | None = Field(default=None, index=True)
    duration_seconds: float
    channels: int
    sample_rate: int
    audio_format: str = Field(max_length=40)
    audio_codec: str = Field(max_length=40)
    audio_size: int
    audio_sha256: str = Field(max_length=64)
    # Relative to the audio directory; internal, never in a public model.
    audio_path: str = Field(max_length=400)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Transcript(SQLModel, table=True):
    """At most one per call: the unique call_id is what stops a re-run job writing twice."""

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="call.id", unique=True)
    engine: str = Field(max_length=40)
    model: str = Field(max_length=400)
    language: str | None = Field(default=None, max_length=16)
    layout: str = Field(max_length=20)
    speakers_labelled: bool
    redactions: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class TranscriptSegment(SQLModel, table=True):
    __tablename__ = "transcript_segment"
    __table_args__ = (UniqueConstraint("transcript_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    transcript_id: int = Field(foreign_key="transcript.id", index=True)
    position: int
    speaker: str = Field(max_length=10)
    start: float
    end: float
    text: str
    confidence: float
    words: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
