from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.calls.languages import check_language
from app.calls.models import CallStatus, CallType, Channel, Direction
from app.reviews.schemas import DisputePublic, ReviewPublic


class WordPublic(BaseModel):
    start: float
    end: float
    text: str
    probability: float


class SegmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    speaker: str = Field(
        description="agent | customer | unknown (roles not trusted, or not diarized)"
    )
    voice: str | None = Field(
        default=None,
        description="the channel (left, right) or diarized voice (S1, S2) that said it",
    )
    start: float = Field(description="seconds from the start of the recording")
    end: float
    text: str
    confidence: float
    words: list[WordPublic]


class EvidencePublic(BaseModel):
    side: str
    text: str
    cue: str
    weight: float


class RolesPublic(BaseModel):
    method: Literal["content", "layout", "none"] = Field(
        description="content: read from the words; layout: the channel named at upload or "
        "configured; none: speakers unknown"
    )
    agent_side: str | None = Field(description="left, right, S1 or S2")
    confidence: float | None = Field(
        default=None, description="of the reading from the words, 0.5 to 1"
    )
    reason: str = ""
    swapped: bool = Field(
        default=False,
        description="the words put the agent on the other channel than the layout named",
    )
    evidence: list[EvidencePublic] = Field(default_factory=list)


class TranscriptPublic(BaseModel):
    engine: str
    model: str
    language: str | None
    layout: str
    speakers_labelled: bool = Field(
        description="True when agent and customer are known: a stereo layout, or roles read "
        "from a diarized mono call's words with enough confidence"
    )
    roles: RolesPublic | None = Field(description="who is the agent, and why")
    diarizer: str | None = Field(description="what told the voices of a mono call apart")
    warnings: list[str] = Field(description="e.g. 'agent channel looks swapped'")
    redactions: int = Field(description="card numbers, codes and dates replaced by [REDACTED]")
    audio_redactions: list[tuple[float, float]] = Field(
        default_factory=list,
        description="[start, end] seconds silenced (or covered by a tone) in the stored "
        "recording, on every channel, because card data may be heard there",
    )
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
    customer_name: str | None
    channel: Channel = Field(description="phone (a recording), chat or email (came as text)")
    language: str | None = Field(
        description="asked for at upload; the transcript has the language used"
    )
    layout: str
    deal_closed: bool | None
    deal_value: Decimal | None
    status: CallStatus
    failure_reason: str | None
    duration_seconds: float
    has_recording: bool = Field(
        description="False for a conversation that came as text, or a recording deleted"
    )
    audio_deleted_at: datetime | None = Field(
        default=None, description="when the retention policy deleted the recording"
    )
    data_deleted_at: datetime | None = Field(
        default=None, description="when the retention policy removed transcript and scores"
    )
    channels: int | None
    audio_format: str | None
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
        description="each criterion: passed, reason, evidence (segment, start, end, quote)"
    )
    metrics: dict[str, Any]
    sentiment: dict[str, Any]
    judged: dict[str, int] | None = Field(
        None, description="how many criteria could be judged: applicable / total"
    )
    embedder: str | None = Field(None, description="the sentence embedder of this score")


class TopicTag(BaseModel):
    topic_id: int
    name: str
    segment: int = Field(description="the first segment it matched")
    start: float


class CallDetail(CallPublic):
    transcript: TranscriptPublic | None
    score: ScorePublic | None = Field(description="the latest machine score")
    score_history: list[ScoreSummary] = Field(description="every score, oldest first")
    reviewed_score: ReviewPublic | None = Field(
        None, description="the latest review or accepted dispute: the score that counts"
    )
    reviews: list[ReviewPublic] = Field(default_factory=list, description="oldest first")
    disputes: list[DisputePublic] = Field(default_factory=list)
    topics: list[TopicTag] = Field(default_factory=list, description="the topics it matched")


class CallStatusReport(CallPublic):
    """What a client polling an upload needs, without the transcript (nor its audit row)."""

    score: ScoreSummary | None = Field(description="the latest machine score, in short")


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


class CallOutcome(BaseModel):
    """A call's outcome as PATCH leaves it."""

    id: int
    deal_closed: bool | None
    deal_value: Decimal | None
    customer_ref: str | None
    updated_at: datetime


# Limits of one text conversation: far above a real chat or e-mail thread, low enough that one
# request cannot make a scoring job run for minutes.
MAX_UTTERANCES = 2000
MAX_UTTERANCE_CHARS = 5000
MAX_CONVERSATION_CHARS = 200_000


# A week in seconds: message times of a long e-mail thread fit, an absurd number does not.
MAX_SECONDS = 7 * 24 * 3600.0


class UtteranceIn(BaseModel):
    # Infinity and NaN would be stored and then fail every JSON response that shows them.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    speaker: Literal["agent", "customer"]
    start: float = Field(
        ge=0, le=MAX_SECONDS, description="seconds from the start (chat: message times)"
    )
    end: float = Field(ge=0, le=MAX_SECONDS)
    text: str = Field(min_length=1, max_length=MAX_UTTERANCE_CHARS)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> UtteranceIn:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


class ConversationIn(BaseModel):
    """A conversation that came as text: a chat, an e-mail thread, another recorder's
    transcript. Scored like a call."""

    model_config = ConfigDict(extra="forbid")

    agent: str = Field(min_length=1, max_length=200, description="agent's external id")
    external_id: str | None = Field(None, min_length=1, max_length=200)
    started_at: datetime
    channel: Channel = Channel.chat
    call_type: CallType = CallType.service
    direction: Direction = Direction.inbound
    language: str | None = Field(None, description="ISO 639-1 code, e.g. en, he, fa")
    customer_name: str | None = Field(None, max_length=200)
    customer_ref: str | None = Field(None, max_length=200)
    utterances: list[UtteranceIn] = Field(min_length=1, max_length=MAX_UTTERANCES)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        code = check_language(value)
        return None if code == "auto" else code  # text has nothing to detect it from here

    @field_validator("utterances")
    @classmethod
    def _size(cls, value: list[UtteranceIn]) -> list[UtteranceIn]:
        total = sum(len(u.text) for u in value)
        if total > MAX_CONVERSATION_CHARS:
            raise ValueError(
                f"the conversation is {total} characters long; the limit is "
                f"{MAX_CONVERSATION_CHARS}"
            )
        return value

    @property
    def duration(self) -> float:
        return max(u.end for u in self.utterances)


class SearchHitPublic(BaseModel):
    call_id: int
    segment: int = Field(description="the segment's position in the call's transcript")
    start: float = Field(description="seconds into the recording: where the player jumps")
    end: float
    speaker: str
    snippet: str = Field(description="HTML: the text escaped, the matched words in <mark>")
    started_at: datetime
    agent: str
    link: str = Field(description="the call page at this moment")


class SearchPage(BaseModel):
    items: list[SearchHitPublic]
    total: int
    limit: int
    offset: int


class MeaningHitPublic(SearchHitPublic):
    similarity: float = Field(description="cosine similarity of the marked sentence to `q`")


class MeaningPage(BaseModel):
    """`mode=meaning`: the segments whose sentences mean what `q` says, most similar first."""

    items: list[MeaningHitPublic]
    total: int
    limit: int
    offset: int
    searched: int = Field(
        description="calls compared: the newest CALLQA_SEARCH_MEANING_CALLS transcribed calls "
        "of the filter that have sentence vectors of the current embedder"
    )
    not_embedded: int = Field(
        description="calls among those newest without vectors of the current embedder (made "
        "by another CALLQA_EMBEDDER, or not scored yet): not searched; a rescore embeds them"
    )


# ---- what a draft scorecard would score a stored call -----------------------------------------

Verdict = Literal["pass", "fail", "not judged"]


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    definition: str = Field(min_length=1, max_length=200_000, description="scorecard YAML")
    call_id: int = Field(description="a call you may see, with a transcript")


class FigureChange(BaseModel):
    name: str = Field(description="overall, a dimension, or script_compliance")
    before: float | None = Field(description="in the call's current score; null: not judged")
    after: float | None = Field(description="with the draft scorecard; null: not judged")
    delta: float | None = Field(description="after - before, where both are judged")


class CriterionChange(BaseModel):
    id: str
    label: str
    dimension: str
    before: Verdict | None = Field(description="null: the current score has no such criterion")
    after: Verdict | None = Field(description="null: the draft has no such criterion")
    changed: bool
    reason: str = Field(description="why the draft's verdict is what it is")


class ScorePreview(BaseModel):
    call_id: int
    current: str | None = Field(description="the scorecard version of the current score")
    draft: str = Field(description="the draft's scorecard name")
    overall: FigureChange
    dimensions: list[FigureChange] = Field(description="each dimension, then script compliance")
    auto_fail_before: bool | None
    auto_fail_after: bool
    auto_fail_reasons: list[str]
    criteria: list[CriterionChange] = Field(
        description="the draft's criteria in order, then those only the current score has"
    )
    changed: list[str] = Field(description="ids of the criteria whose verdict changed")
