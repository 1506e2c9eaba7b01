from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.calls.models import CallStatus, CallType, Direction
from app.reviews.schemas import DisputePublic, ReviewPublic


class WordPublic(BaseModel):
    start: float
    end: float
    text: str
    probability: float


class SegmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    speaker: str = Field(description="agent | customer | unknown (mono recordings)")
    start: float = Field(description="seconds from the start of the recording")
    end: float
    text: str
    confidence: float
    words: list[WordPublic]


class TranscriptPublic(BaseModel):
    engine: str
    model: str
    language: str | None
    layout: str
    speakers_labelled: bool = Field(
        description="False for mono recordings: callqa does not diarize yet, speakers are `unknown`"
    )
    redactions: int = Field(description="card numbers, codes and dates replaced by [REDACTED]")
    segments: list[SegmentPublic]


class CallPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str | None
    agent: str
    started_at: datetime
    direction: Direction
    call_type: CallType
    customer_ref: str | None
    layout: str
    deal_closed: bool | None
    deal_value: Decimal | None
    status: CallStatus
    failure_reason: str | None
    duration_seconds: float
    channels: int
    audio_format: str
    created_at: datetime
    updated_at: datetime


class ScoreSummary(BaseModel):
    id: int
    scorecard: str
    scorecard_version: int
    overall: float | None
    auto_fail: bool
    created_at: datetime


class ScorePublic(ScoreSummary):
    dimensions: dict[str, float | None]
    script_compliance: float | None
    auto_fail_reasons: list[str]
    criteria: list[dict[str, Any]] = Field(
        description="each criterion: passed, reason, evidence (segment, start, end, quote)")
    metrics: dict[str, Any]
    sentiment: dict[str, Any]


class CallDetail(CallPublic):
    transcript: TranscriptPublic | None
    score: ScorePublic | None = Field(description="the latest machine score")
    score_history: list[ScoreSummary] = Field(description="every score, oldest first")
    reviewed_score: ReviewPublic | None = Field(
        None, description="the latest review or accepted dispute: the score that counts")
    reviews: list[ReviewPublic] = Field(default_factory=list, description="oldest first")
    disputes: list[DisputePublic] = Field(default_factory=list)


class CallPage(BaseModel):
    items: list[CallPublic]
    total: int
    limit: int
    offset: int


class CallAccepted(BaseModel):
    id: int
    status: CallStatus
    created: bool = Field(description="False when this external_id was already uploaded")


class CallUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deal_closed: bool | None = None
    deal_value: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    customer_ref: str | None = Field(default=None, max_length=200)
