from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.dbtypes import enum_type
from app.freetext import identifier, redact_on_write
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


class Channel(StrEnum):
    """How the conversation happened: a phone call (a recording) or text (chat, e-mail)."""

    phone = "phone"
    chat = "chat"
    email = "email"


class Call(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    external_id: str | None = Field(default=None, max_length=200, unique=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    started_at: datetime = Field(index=True)
    direction: Direction = Field(sa_type=enum_type(Direction), index=True)
    call_type: CallType = Field(sa_type=enum_type(CallType), index=True)
    customer_ref: str | None = Field(default=None, max_length=200, index=True)
    # As the customer is addressed: the name_used criterion looks for it.
    customer_name: str | None = Field(default=None, max_length=200)
    channel: Channel = Field(default=Channel.phone, sa_type=enum_type(Channel), index=True)
    # Asked for at upload (ISO 639-1); None: Whisper detects it (the transcript keeps what it
    # detected) or CALLQA_LANGUAGE decides.
    language: str | None = Field(default=None, max_length=16)
    layout: str = Field(max_length=20)
    deal_closed: bool | None = None
    deal_value: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2)))
    status: CallStatus = Field(
        default=CallStatus.received, sa_type=enum_type(CallStatus), index=True
    )
    failure_reason: str | None = Field(default=None, max_length=2000)
    # A uniform draw in [0, 1) made at upload: the call is in the random review sample when it
    # is below the configured share, so the sample is stable and the share can change later.
    review_draw: float | None = Field(default=None, index=True)
    duration_seconds: float
    # The recording; all None for a conversation that came as text (there is none).
    channels: int | None = None
    sample_rate: int | None = None
    audio_format: str | None = Field(default=None, max_length=40)
    audio_codec: str | None = Field(default=None, max_length=40)
    audio_size: int | None = None
    # Indexed: `callqa import` and the watched folder find a file already brought in by it.
    audio_sha256: str | None = Field(default=None, max_length=64, index=True)
    # Relative to the audio directory; internal, never in a public model.
    audio_path: str | None = Field(default=None, max_length=400)
    # Set by the retention sweep: the recording was deleted; the words, scores and customer
    # were removed (the row stays as a tombstone, so reports keep their counts).
    audio_deleted_at: datetime | None = None
    data_deleted_at: datetime | None = None
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
    # Who is the agent and why (transcription.roles.Roles.to_dict); the diarizer of a mono call.
    roles: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    diarizer: str | None = Field(default=None, max_length=200)
    # [start, end] seconds silenced (or toned) in the stored recording for card data.
    audio_redactions: list[list[float]] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)


class TranscriptSegment(SQLModel, table=True):
    __tablename__ = "transcript_segment"
    __table_args__ = (UniqueConstraint("transcript_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    transcript_id: int = Field(foreign_key="transcript.id", index=True)
    position: int
    speaker: str = Field(max_length=10)
    # The channel ("left", "right") or diarized voice ("S1", "S2") that said it.
    voice: str | None = Field(default=None, max_length=20)
    start: float
    end: float
    text: str
    confidence: float
    words: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))


class TranscriptEmbedding(SQLModel, table=True):
    """Sentence vectors of a transcript, per embedder: rescoring with a new scorecard version
    embeds nothing again. Row i of `vectors` (float32, `dim` wide) belongs to `texts[i]`."""

    __tablename__ = "transcript_embedding"
    __table_args__ = (UniqueConstraint("transcript_id", "model"),)

    id: int | None = Field(default=None, primary_key=True)
    transcript_id: int = Field(foreign_key="transcript.id")
    model: str = Field(max_length=400)
    dim: int
    texts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    vectors: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


# A card number typed as a customer reference is not kept; any other reference is (see
# app/freetext.py: it is an identifier).
redact_on_write(Call, customer_ref=identifier)
