from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import AfterValidator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.audit.service import audited, record
from app.auth import CallManager, CallReader, CallWriter, OutcomeWriter, Principal, SettingsDep
from app.calls import meaning, preview, search, service
from app.calls.access import audio_response, call_filters, calls_csv
from app.calls.languages import check_language
from app.calls.models import Call, CallType, Direction
from app.calls.schemas import (
    CallAccepted,
    CallDetail,
    CallOutcome,
    CallPage,
    CallStatusReport,
    CallUpdate,
    ConversationIn,
    MeaningHitPublic,
    MeaningPage,
    PreviewRequest,
    ScorePreview,
    ScorePublic,
    SearchHitPublic,
    SearchPage,
)
from app.csvexport import csv_requested, wants_csv
from app.db import ReaderDep, SessionDep, rollback, writes_audit
from app.errors import BadRequest, Conflict
from app.jobs.ledger import SCORE, TRANSCRIBE
from app.scope import check_agent_for_write, visible_call, visible_calls
from transcription.types import Layout

router = APIRouter(prefix="/api/v1/calls", tags=["calls"])
conversations_router = APIRouter(prefix="/api/v1/conversations", tags=["calls"])
search_router = APIRouter(prefix="/api/v1/search", tags=["calls"])
# Scoring a stored call is this domain's work (the worker's stage), not the scorecards'.
scorecard_preview_router = APIRouter(prefix="/api/v1/scorecards", tags=["scorecards"])


def _already_uploaded(
    session: Session, principal: Principal, response: Response, call: Call
) -> CallAccepted:
    """A recorder re-sending a call gets the existing one: 200, never a duplicate. Someone who
    may not see that call learns nothing of it (neither its id nor its status)."""
    if session.exec(visible_calls(principal).where(Call.id == call.id)).first() is None:
        raise Conflict("this external_id is already used by a call outside your teams")
    response.status_code = 200
    return CallAccepted(id=call.id or 0, status=call.status, created=False)


@router.post("", status_code=202, response_model=CallAccepted)
def upload_call(
    request: Request,
    response: Response,
    session: SessionDep,
    reader: ReaderDep,
    settings: SettingsDep,
    principal: CallWriter,
    audio: Annotated[UploadFile, File(description="the recording: WAV, FLAC, MP3, OGG/Opus, M4A")],
    agent: Annotated[str, Form(min_length=1, max_length=200, description="agent's external id")],
    started_at: Annotated[
        datetime,
        Form(description="ISO 8601; without an offset, the organisation's time (CALLQA_TIME_ZONE)"),
    ],
    direction: Annotated[Direction, Form()],
    call_type: Annotated[CallType, Form()] = CallType.service,
    external_id: Annotated[str | None, Form(max_length=200)] = None,
    customer_ref: Annotated[str | None, Form(max_length=200)] = None,
    layout: Annotated[Layout, Form()] = Layout.auto,
    deal_closed: Annotated[bool | None, Form()] = None,
    deal_value: Annotated[Decimal | None, Form(ge=0, max_digits=14, decimal_places=2)] = None,
    language: Annotated[
        str | None,
        Form(
            max_length=16,
            description="ISO 639-1 (en, he, fa) or auto: detect; default CALLQA_LANGUAGE",
        ),
        AfterValidator(check_language),
    ] = None,
) -> CallAccepted:
    """Upload a recording; transcription runs as a job. Same external_id again: 200, no copy."""
    # Looked up in a read-only session: the request's write transaction (and, on SQLite, the
    # write lock) starts only after the recording is decoded, which takes seconds.
    with reader() as look:
        check_agent_for_write(look, principal, agent)
        existing = (
            service.find_by_external_id(look, external_id=external_id) if external_id else None
        )
        if existing is not None:
            return _already_uploaded(look, principal, response, existing)
    meta = service.CallMeta(
        agent=agent,
        started_at=started_at,
        direction=direction,
        call_type=call_type,
        layout=layout,
        external_id=external_id or None,
        customer_ref=customer_ref,
        deal_closed=deal_closed,
        deal_value=deal_value,
        language=language,
    )
    try:
        call = service.ingest_call(session, settings=settings, audio=audio.file, meta=meta)
    except IntegrityError:
        # Two uploads of one external_id raced; the other one won.
        existing = _winner(session, external_id)
        return _already_uploaded(session, principal, response, existing)
    request.app.state.queue.enqueue_after_commit(session, TRANSCRIBE, call.id)
    return CallAccepted(id=call.id or 0, status=call.status, created=True)


def _winner(session: Session, external_id: str | None) -> Call:
    rollback(session)
    existing = service.find_by_external_id(session, external_id=external_id or "")
    if existing is None:
        raise Conflict("the call could not be stored: another upload changed it meanwhile")
    return existing


@conversations_router.post("", status_code=202, response_model=CallAccepted)
def post_conversation(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: CallWriter,
    conversation: ConversationIn,
) -> CallAccepted:
    """A conversation that came as text (chat, e-mail, another recorder's transcript), scored
    like a call. Same external_id again: 200 with the existing one."""
    check_agent_for_write(session, principal, conversation.agent)
    if conversation.external_id:
        existing = service.find_by_external_id(session, external_id=conversation.external_id)
        if existing is not None:
            return _already_uploaded(session, principal, response, existing)
    try:
        call = service.ingest_conversation(session, settings=settings, conversation=conversation)
    except IntegrityError:
        existing = _winner(session, conversation.external_id)
        return _already_uploaded(session, principal, response, existing)
    request.app.state.queue.enqueue_after_commit(session, SCORE, call.id)
    return CallAccepted(id=call.id or 0, status=call.status, created=True)


@router.get("", response_model=CallPage)
@writes_audit(when=csv_requested)
def list_calls(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CallReader,
    filters: Annotated[service.CallFilters, Depends(call_filters)],
    limit: Annotated[int, Query(ge=1)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    format: str | None = None,
) -> CallPage | Response:
    """List calls you may see (newest first unless `sort`); `limit` is capped by the server.
    Scores are the ones that count: reviewed where reviewed. CSV with `Accept: text/csv`."""
    if wants_csv(request, format):
        with audited(
            session, principal=principal, action="export", target_type="calls", target_id="list"
        ):
            items, _ = service.list_calls(
                session, principal=principal, filters=filters, limit=100_000, offset=0
            )
        return calls_csv(items)
    limit = min(limit, settings.page_size_max)
    items, total = service.list_calls(
        session, principal=principal, filters=filters, limit=limit, offset=offset
    )
    return CallPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/{call_id}", response_model=CallDetail)
@writes_audit
def get_call(call_id: int, session: SessionDep, principal: CallReader) -> CallDetail:
    """A call's metadata, status and speaker-labelled transcript."""
    with audited(
        session,
        principal=principal,
        action="transcript_view",
        target_type="call",
        target_id=call_id,
    ):
        call = visible_call(session, principal, call_id)
    return service.call_detail(session, call=call)


@router.get("/{call_id}/status", response_model=CallStatusReport)
def get_call_status(call_id: int, session: SessionDep, principal: CallReader) -> CallStatusReport:
    """A call's status and its latest score in short, for polling after an upload: no
    transcript is sent, so no transcript view is audited."""
    call = visible_call(session, principal, call_id)
    return service.call_status(session, call=call)


@router.get("/{call_id}/scores/{score_id}", response_model=ScorePublic)
def get_score(
    call_id: int, score_id: int, session: SessionDep, principal: CallReader
) -> ScorePublic:
    """One score of the call in full (criteria, evidence, metrics), older versions included."""
    call = visible_call(session, principal, call_id)
    return service.get_score(session, call=call, score_id=score_id)


@router.patch("/{call_id}", response_model=CallOutcome)
def update_call(
    call_id: int, changes: CallUpdate, session: SessionDep, principal: OutcomeWriter
) -> CallOutcome:
    """Set a call's outcome (deal closed, deal value) or customer reference (`outcomes:write`).
    The answer is what the call's outcome now is, nothing else about the call: a CRM's key
    writes outcomes without reading calls."""
    if not changes.model_fields_set:
        raise BadRequest("name at least one of deal_closed, deal_value, customer_ref")
    call = visible_call(session, principal, call_id)
    service.update_call(session, call=call, changes=changes)
    return CallOutcome.model_validate(call, from_attributes=True)


@router.post("/{call_id}/retry", response_model=CallAccepted, status_code=202)
def retry_call(
    call_id: int, request: Request, session: SessionDep, principal: CallManager
) -> CallAccepted:
    """Queue a failed call again from its failed stage."""
    call = visible_call(session, principal, call_id)
    for stage in service.retry_call(session, call=call):
        request.app.state.queue.enqueue_after_commit(session, stage, call_id)
    return CallAccepted(id=call_id, status=call.status, created=False)


@router.get("/{call_id}/audio", response_class=FileResponse)
@writes_audit
def get_audio(
    request: Request,
    call_id: int,
    session: SessionDep,
    settings: SettingsDep,
    principal: CallReader,
    download: bool = False,
    reason: Annotated[
        str | None,
        Query(max_length=500, description="why the recording is downloaded (required, audited)"),
    ] = None,
) -> Response:
    """The recording, with HTTP Range support so a player can seek; `download=true` to save."""
    return audio_response(
        request, session, settings, principal, call_id, download=download, reason=reason
    )


Speaker = Literal["agent", "customer", "unknown"]
SearchMode = Literal["words", "meaning"]


@search_router.get("", response_model=SearchPage | MeaningPage)
@writes_audit
def search_transcripts(
    session: SessionDep,
    settings: SettingsDep,
    principal: CallReader,
    filters: Annotated[service.CallFilters, Depends(call_filters)],
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=500,
            description='words, "a phrase", refund*; with mode=meaning, what was meant',
        ),
    ],
    mode: Annotated[
        SearchMode,
        Query(description="words (the default): every word; meaning: similar sentences"),
    ] = "words",
    speaker: Speaker | None = None,
    limit: Annotated[int, Query(ge=1)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SearchPage | MeaningPage:
    """Transcript segments with every word of `q` (any case, accents ignored), in the calls
    you may see that pass the call list's filters; newest call first. `mode=meaning`: the
    segments whose sentences mean what `q` says, most similar first, over the newest
    CALLQA_SEARCH_MEANING_CALLS calls of the filter. Each search is audited (what was looked
    for is a transcript view of every call it finds)."""
    limit = min(limit, settings.page_size_max)
    if mode == "meaning":
        found = meaning.search_meaning(
            session,
            principal=principal,
            filters=filters,
            q=q,
            speaker=speaker,
            limit=limit,
            offset=offset,
            embedder=meaning.app_embedder(settings),
            floor=settings.search_meaning_floor,
            max_calls=settings.search_meaning_calls,
        )
        _audit_search(session, principal, q, f"{found.total} segments by meaning")
        return MeaningPage(
            items=[MeaningHitPublic(**h.__dict__, link=search.link(h)) for h in found.hits],
            total=found.total,
            limit=limit,
            offset=offset,
            searched=found.searched,
            not_embedded=found.not_embedded,
        )
    hits, total = search.search(
        session,
        principal=principal,
        filters=filters,
        q=q,
        speaker=speaker,
        limit=limit,
        offset=offset,
    )
    _audit_search(session, principal, q, f"{total} segments")
    return SearchPage(
        items=[SearchHitPublic(**h.__dict__, link=search.link(h)) for h in hits],
        total=total,
        limit=limit,
        offset=offset,
    )


def _audit_search(session: Session, principal: Principal, q: str, found: str) -> None:
    record(
        session,
        principal=principal,
        action="transcript_search",
        target_type="transcripts",
        target_id=found,
        detail=q,
    )


@scorecard_preview_router.post("/preview", response_model=ScorePreview)
def preview_scorecard(
    body: PreviewRequest, session: SessionDep, settings: SettingsDep, principal: CallManager
) -> ScorePreview:
    """What a draft scorecard (YAML, checked as when it is saved: 422) would score a call you
    may see (else 404), beside its current score: overall and dimensions with their deltas,
    each criterion's verdict before and after, and which changed. Nothing is stored; the
    transcript view is audited."""
    return preview.preview_score(
        session,
        principal=principal,
        call_id=body.call_id,
        definition=body.definition,
        embedder=preview.embedder_for(settings),
    )
