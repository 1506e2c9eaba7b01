"""Calls: ingest, read (filtered by who asks), update outcomes, retry. Never commits."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, BinaryIO

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import storage
from app.auth import Principal
from app.calls.models import (
    Call,
    CallStatus,
    CallType,
    Channel,
    Direction,
    Transcript,
    TranscriptSegment,
)
from app.calls.schemas import (
    CallDetail,
    CallPublic,
    CallStatusReport,
    CallUpdate,
    ConversationIn,
    RolesPublic,
    ScorePublic,
    ScoreSummary,
    SegmentPublic,
    TopicTag,
    TranscriptPublic,
)
from app.config import Settings
from app.db import on_rollback
from app.errors import Conflict, NotFound, PayloadTooLarge, Unprocessable
from app.jobs import ledger
from app.reviews.effective import latest_scores, latest_verdicts
from app.reviews.models import Review
from app.reviews.service import disputes_of_call, reviews_of
from app.scope import visible_calls, visible_team
from app.scorecards.models import CallScore
from app.scorecards.service import score_history
from app.timeutil import as_utc, from_local, utcnow
from app.topics.models import CallTopic, Topic
from app.users.models import Agent
from app.users.service import get_or_create_agent
from transcription.audio import probe_audio
from transcription.pci import redact_segments
from transcription.roles import RoleMethod, Roles
from transcription.types import Layout, Segment, Speaker

# The transcript of a conversation that came as text: no recogniser, no recording layout.
TEXT_ENGINE = "text"
TEXT_LAYOUT = "text"


@dataclass(frozen=True)
class CallMeta:
    agent: str
    started_at: datetime
    direction: Direction
    call_type: CallType
    layout: Layout
    external_id: str | None = None
    customer_ref: str | None = None
    deal_closed: bool | None = None
    deal_value: Decimal | None = None
    language: str | None = None  # None: CALLQA_LANGUAGE decides; "auto": detected


def find_by_external_id(session: Session, *, external_id: str) -> Call | None:
    return session.exec(select(Call).where(Call.external_id == external_id)).first()


def ingest_call(session: Session, *, settings: Settings, audio: BinaryIO, meta: CallMeta) -> Call:
    """Validate the recording, store it and the call row and its transcription job.

    The file is staged under a name we chose and decoded in full before anything is written to
    the database; on any error the staged file is removed and no row exists.
    """
    max_bytes = settings.max_upload_mb * 1024 * 1024
    try:
        staged = storage.stage(audio, settings.audio_dir, max_bytes=max_bytes)
    except OverflowError:
        raise PayloadTooLarge(f"the recording exceeds {settings.max_upload_mb} MB") from None
    try:
        info = probe_audio(staged.path, max_seconds=settings.max_call_minutes * 60)
        agent = get_or_create_agent(session, external_id=meta.agent)
        extension = storage.extension_for(info.format)
        call = Call(
            external_id=meta.external_id,
            agent_id=agent.id,  # type: ignore[arg-type]
            started_at=from_local(meta.started_at, settings.zone),
            direction=meta.direction,
            call_type=meta.call_type,
            customer_ref=meta.customer_ref,
            layout=meta.layout.value,
            deal_closed=meta.deal_closed,
            deal_value=meta.deal_value,
            language=meta.language,
            duration_seconds=round(info.duration, 3),
            channels=info.channels,
            sample_rate=info.sample_rate,
            audio_format=extension,
            audio_codec=info.codec,
            audio_size=staged.size,
            audio_sha256=staged.sha256,
            audio_path="",
            review_draw=random.random(),
        )
        session.add(call)
        session.flush()
        assert call.id is not None
        ledger.add_job(session, call_id=call.id, stage=ledger.TRANSCRIBE)
        store = storage.audio_store(settings)
        call.audio_path = key = storage.new_key(call.id, extension)
        # Nothing half-stored: the object goes if the row is not committed after all, and a
        # store that refuses it (StorageUnavailable, 503) rolls the row back.
        on_rollback(session, lambda: store.delete(key))
        store.put(staged.path, key)
        session.add(call)
        session.flush()
        return call
    finally:
        staged.path.unlink(missing_ok=True)


def transcript_warnings(transcript: Transcript) -> list[str]:
    """What a supervisor should know before trusting who said what."""
    roles = transcript.roles or {}
    warnings = []
    if roles.get("swapped"):
        warnings.append(f"agent channel looks swapped: {roles.get('reason', '')}")
    if transcript.layout == "mono" and not transcript.speakers_labelled:
        warnings.append(f"speakers unknown: {roles.get('reason') or 'mono recording'}")
    return warnings


def conversation_segments(conversation: ConversationIn) -> tuple[list[Segment], int]:
    """The utterances as transcript segments in time order, PCI-redacted as the pipeline
    redacts a recording's, and how many spans were redacted."""
    segments = [
        Segment(
            speaker=Speaker(u.speaker),
            start=u.start,
            end=u.end,
            text=u.text.strip(),
            confidence=1.0,
        )
        for u in sorted(conversation.utterances, key=lambda u: (u.start, u.end))
    ]
    return redact_segments(segments)


def ingest_conversation(
    session: Session, *, settings: Settings, conversation: ConversationIn
) -> Call:
    """Store a conversation that came as text: the call (no recording), its transcript, and
    its scoring job, which goes on exactly as a transcribed call's does."""
    if (
        conversation.channel is Channel.phone
        and conversation.duration > settings.max_call_minutes * 60
    ):
        raise Unprocessable(
            f"the call lasts {conversation.duration / 60:.0f} min; the limit is "
            f"{settings.max_call_minutes} min"
        )
    segments, redactions = conversation_segments(conversation)
    agent = get_or_create_agent(session, external_id=conversation.agent)
    call = Call(
        external_id=conversation.external_id,
        agent_id=agent.id,  # type: ignore[arg-type]
        started_at=from_local(conversation.started_at, settings.zone),
        direction=conversation.direction,
        call_type=conversation.call_type,
        customer_ref=conversation.customer_ref,
        customer_name=conversation.customer_name,
        channel=conversation.channel,
        language=conversation.language,
        layout=TEXT_LAYOUT,
        status=CallStatus.transcribed,
        duration_seconds=round(conversation.duration, 3),
        review_draw=random.random(),
    )
    session.add(call)
    session.flush()
    assert call.id is not None
    transcript = Transcript(
        call_id=call.id,
        engine=TEXT_ENGINE,
        model="",
        language=conversation.language,
        layout=TEXT_LAYOUT,
        speakers_labelled=True,
        roles=Roles(
            RoleMethod.layout, "agent", reason="the speakers came labelled with the text"
        ).to_dict(),
        redactions=redactions,
    )
    session.add(transcript)
    session.flush()
    for position, seg in enumerate(segments):
        session.add(
            TranscriptSegment(
                transcript_id=transcript.id,  # type: ignore[arg-type]
                position=position,
                speaker=seg.speaker.value,
                start=round(seg.start, 3),
                end=round(seg.end, 3),
                text=seg.text,
                confidence=1.0,
                words=[],
            )
        )
    ledger.add_job(session, call_id=call.id, stage=ledger.SCORE)
    session.flush()
    return call


def agent_external_ids(session: Session, calls: list[Call]) -> dict[int, str]:
    ids = {c.agent_id for c in calls}
    if not ids:
        return {}
    rows = session.exec(select(Agent.id, Agent.external_id).where(col(Agent.id).in_(ids))).all()
    return {agent_id: external for agent_id, external in rows if agent_id is not None}


def to_public(call: Call, agent_external_id: str) -> CallPublic:
    return CallPublic.model_validate(
        {
            **call.model_dump(),
            "agent": agent_external_id,
            "has_recording": call.audio_path is not None,
        }
    )


CALL_SORTS = ("started_at", "duration_seconds", "id")
SCORE_SORTS = (
    "overall",
    "reliability",
    "responsiveness",
    "empathy",
    "competence",
    "personal_touch",
    "script_compliance",
)
SORTS = (*CALL_SORTS, *SCORE_SORTS)


@dataclass(frozen=True)
class CallFilters:
    agent: str | None = None
    status: CallStatus | None = None
    call_type: CallType | None = None
    direction: Direction | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None
    min_score: float | None = None
    max_score: float | None = None
    below: tuple[str, float] | None = None  # (dimension, value): that dimension under value
    auto_fail: bool | None = None
    team_id: int | None = None
    deal_closed: bool | None = None
    topic_id: int | None = None  # calls the topic tagged
    sort: str = "-started_at"

    @property
    def on_score(self) -> bool:
        return (self.min_score, self.max_score, self.below, self.auto_fail) != (None,) * 4


def list_calls(
    session: Session, *, principal: Principal, filters: CallFilters, limit: int, offset: int
) -> tuple[list[CallPublic], int]:
    query, column = filtered_calls(session, principal=principal, filters=filters)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    order = (column.desc() if filters.sort.startswith("-") else column.asc()).nulls_last()
    calls = list(
        session.exec(query.order_by(order, col(Call.id).desc()).limit(limit).offset(offset))
    )
    agents = agent_external_ids(session, calls)
    return [to_public(c, agents[c.agent_id]) for c in calls], total


def filtered_calls(
    session: Session, *, principal: Principal, filters: CallFilters
) -> tuple[Any, Any]:
    """The calls the principal may see that pass the filters (a SELECT of Call), and the
    column the filters' sort names. The call list and transcript search share it."""
    query = visible_calls(principal)
    if filters.agent:
        query = query.join(Agent, col(Agent.id) == Call.agent_id).where(
            Agent.external_id == filters.agent
        )
    if filters.team_id is not None:
        visible_team(session, principal, filters.team_id)  # another team's: 404, as on pages
        query = query.where(
            col(Call.agent_id).in_(select(Agent.id).where(Agent.team_id == filters.team_id))
        )
    if filters.deal_closed is not None:
        query = query.where(Call.deal_closed == filters.deal_closed)
    if filters.topic_id is not None:
        query = query.where(
            col(Call.id).in_(
                select(CallTopic.call_id).where(CallTopic.topic_id == filters.topic_id)
            )
        )
    if filters.status:
        query = query.where(Call.status == filters.status)
    if filters.call_type:
        query = query.where(Call.call_type == filters.call_type)
    if filters.direction:
        query = query.where(Call.direction == filters.direction)
    if filters.started_from:
        query = query.where(Call.started_at >= as_utc(filters.started_from))
    if filters.started_to:
        query = query.where(Call.started_at < as_utc(filters.started_to))
    key = filters.sort.lstrip("-")
    if filters.on_score or key in SCORE_SORTS:
        # Scores here are the ones that count: the latest review where a person reviewed the
        # call, else the latest machine score.
        ls, lv = latest_scores(), latest_verdicts()
        query = (
            query.outerjoin(ls, ls.c.call_id == Call.id)
            .outerjoin(CallScore, col(CallScore.id) == ls.c.score_id)
            .outerjoin(lv, lv.c.call_id == Call.id)
            .outerjoin(Review, col(Review.id) == lv.c.review_id)
        )

        def eff(name: str) -> Any:
            return func.coalesce(getattr(Review, name), getattr(CallScore, name))

        if filters.on_score:
            query = query.where(col(CallScore.id).is_not(None))
        if filters.min_score is not None:
            query = query.where(eff("overall") >= filters.min_score)
        if filters.max_score is not None:
            query = query.where(eff("overall") <= filters.max_score)
        if filters.below is not None:
            dimension, value = filters.below
            query = query.where(eff(dimension) < value)
        if filters.auto_fail is not None:
            query = query.where(eff("auto_fail") == filters.auto_fail)
        column = eff(key) if key in SCORE_SORTS else col(getattr(Call, key))
    else:
        column = col(getattr(Call, key))
    return query, column


def call_status(session: Session, *, call: Call) -> CallStatusReport:
    """The call's metadata and its latest score's headline: no transcript is read."""
    agent = session.get(Agent, call.agent_id)
    history = score_history(session, call_id=call.id or 0)
    latest = None
    if history:
        score, version = history[-1]
        latest = ScoreSummary(
            id=score.id or 0,
            scorecard=version.name,
            scorecard_version=version.version,
            overall=score.overall,
            auto_fail=score.auto_fail,
            created_at=score.created_at,
        )
    public = to_public(call, agent.external_id if agent else "")
    return CallStatusReport(**public.model_dump(), score=latest)


def call_detail(session: Session, *, call: Call) -> CallDetail:
    agent = session.get(Agent, call.agent_id)
    transcript = session.exec(select(Transcript).where(Transcript.call_id == call.id)).first()
    transcript_public = None
    if transcript is not None:
        segments = session.exec(
            select(TranscriptSegment)
            .where(TranscriptSegment.transcript_id == transcript.id)
            .order_by(col(TranscriptSegment.position))
        ).all()
        transcript_public = TranscriptPublic(
            engine=transcript.engine,
            model=transcript.model,
            language=transcript.language,
            layout=transcript.layout,
            speakers_labelled=transcript.speakers_labelled,
            roles=RolesPublic.model_validate(transcript.roles) if transcript.roles else None,
            diarizer=transcript.diarizer,
            warnings=transcript_warnings(transcript),
            redactions=transcript.redactions,
            audio_redactions=[(a, b) for a, b in transcript.audio_redactions or []],
            segments=[SegmentPublic.model_validate(s) for s in segments],
        )
    history = score_history(session, call_id=call.id or 0)
    summaries = [
        ScoreSummary(
            id=sc.id or 0,
            scorecard=v.name,
            scorecard_version=v.version,
            overall=sc.overall,
            auto_fail=sc.auto_fail,
            created_at=sc.created_at,
        )
        for sc, v in history
    ]
    latest = _score_public(history[-1][0], summaries[-1]) if history else None
    public = to_public(call, agent.external_id if agent else "")
    reviews = reviews_of(session, call_id=call.id or 0)
    return CallDetail(
        **public.model_dump(),
        transcript=transcript_public,
        score=latest,
        score_history=summaries,
        reviews=reviews,
        reviewed_score=reviews[-1] if reviews else None,
        disputes=disputes_of_call(session, call_id=call.id or 0),
        topics=[
            TopicTag(topic_id=t.id or 0, name=t.name, segment=ct.segment, start=ct.start)
            for ct, t in session.exec(
                select(CallTopic, Topic)
                .join(Topic, col(Topic.id) == CallTopic.topic_id)
                .where(CallTopic.call_id == call.id)
                .order_by(col(Topic.name))
            )
        ],
    )


def _score_public(score: CallScore, summary: ScoreSummary) -> ScorePublic:
    d = score.detail
    return ScorePublic(
        **summary.model_dump(),
        dimensions=d["dimensions"],
        script_compliance=d["script_compliance"],
        auto_fail_reasons=d["auto_fail_reasons"],
        criteria=d["criteria"],
        metrics=d["metrics"],
        sentiment=d["sentiment"],
        judged=d.get("judged"),
        embedder=d.get("embedder"),
    )


def get_score(session: Session, *, call: Call, score_id: int) -> ScorePublic:
    """One score of a call, old ones included, in full."""
    for score, version in score_history(session, call_id=call.id or 0):
        if score.id == score_id:
            summary = ScoreSummary(
                id=score_id,
                scorecard=version.name,
                scorecard_version=version.version,
                overall=score.overall,
                auto_fail=score.auto_fail,
                created_at=score.created_at,
            )
            return _score_public(score, summary)
    raise NotFound(f"score {score_id} of call {call.id} not found")


def update_call(session: Session, *, call: Call, changes: CallUpdate) -> Call:
    for field, value in changes.model_dump(exclude_unset=True).items():
        setattr(call, field, value)
    call.updated_at = utcnow()
    session.add(call)
    session.flush()
    return call


def retry_call(session: Session, *, call: Call) -> list[str]:
    """Put a failed call back in the queue; returns the stages to enqueue."""
    if call.status != CallStatus.failed:
        raise Conflict(f"call {call.id} is {call.status.value}; only a failed call can be retried")
    jobs = ledger.reset_for_retry(session, call_id=call.id)  # type: ignore[arg-type]
    call.status = CallStatus.received
    call.failure_reason = None
    call.updated_at = utcnow()
    session.add(call)
    session.flush()
    return [j.stage for j in jobs]
