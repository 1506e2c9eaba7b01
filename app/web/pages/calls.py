"""The call list (filters, sort, CSV) and the call page: player, transcript, scores, reviews,
disputes and the calibration form."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col

from app.audit.service import audited
from app.auth import SettingsDep
from app.calls import service as calls
from app.calls.access import audio_response, call_filters, calls_csv, may_download
from app.calls.models import CallStatus, CallType, Direction
from app.db import SessionDep, writes_audit
from app.reviews import service as reviews
from app.reviews.effective import scored_calls
from app.reviews.models import DisputeStatus
from app.scope import visible_agents, visible_call, visible_teams
from app.topics import service as topic_service
from app.users.models import Agent, Role
from app.web.deps import PageReader
from app.web.render import render

router = APIRouter(include_in_schema=False)
PAGE = 50

CallFilters = Annotated[calls.CallFilters, Depends(call_filters)]


@router.get("/calls", response_class=HTMLResponse)
def calls_page(
    request: Request,
    session: SessionDep,
    principal: PageReader,
    filters: CallFilters,
    page: int = 1,
) -> HTMLResponse:
    page = max(1, page)
    items, total = calls.list_calls(
        session, principal=principal, filters=filters, limit=PAGE, offset=(page - 1) * PAGE
    )
    agents = session.exec(visible_agents(principal).order_by(col(Agent.external_id))).all()
    query = {k: v for k, v in request.query_params.items() if k not in ("page", "sort")}
    return render(
        request,
        "calls.html",
        principal,
        items=items,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE)),
        scores=_effective_overall(session, [c.id for c in items]),
        agents=agents,
        teams=session.exec(visible_teams(principal)).all(),
        q=request.query_params,
        query=query,
        sort=filters.sort,
        statuses=list(CallStatus),
        types=list(CallType),
        directions=list(Direction),
        topics=topic_service.list_topics(session),
        urlencode=urlencode,
    )


def _effective_overall(session: Session, call_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The score that counts (reviewed, else the machine's) of each listed call."""
    if not call_ids:
        return {}
    return {
        s.call.id or 0: {
            "overall": s.value("overall"),
            "auto_fail": s.auto_fail,
            "reviewed": s.reviewed,
        }
        for s in scored_calls(session, principal=None, call_ids=call_ids)
    }


@router.get("/calls.csv")
@writes_audit
def calls_export(session: SessionDep, principal: PageReader, filters: CallFilters) -> Response:
    with audited(
        session, principal=principal, action="export", target_type="calls", target_id="list"
    ):
        items, _ = calls.list_calls(
            session, principal=principal, filters=filters, limit=100_000, offset=0
        )
    return calls_csv(items)


@router.get("/calls/{call_id}", response_class=HTMLResponse)
@writes_audit
def call_page(
    request: Request,
    call_id: int,
    session: SessionDep,
    settings: SettingsDep,
    principal: PageReader,
) -> HTMLResponse:
    with audited(
        session,
        principal=principal,
        action="transcript_view",
        target_type="call",
        target_id=call_id,
    ):
        call = visible_call(session, principal, call_id)
    detail = calls.call_detail(session, call=call)
    evidence = _evidence_by_segment(detail.score.criteria if detail.score else [])
    segments = detail.transcript.segments if detail.transcript else []
    sentiment = detail.score.sentiment["timeline"] if detail.score else []
    points = [
        (segments[p["segment"]].start, p["compound"])
        for p in sentiment
        if p["segment"] < len(segments) and segments[p["segment"]].speaker != "agent"
    ]
    calibrators = reviews.calibrators(session, call=call) if principal.can("reviews:write") else []
    open_dispute = next((d for d in detail.disputes if d.status is DisputeStatus.open), None)
    return render(
        request,
        "call.html",
        principal,
        call=detail,
        evidence=evidence,
        segments=segments,
        sentiment_points=points,
        calibrators=calibrators,
        open_dispute=open_dispute,
        is_owner=principal.role is Role.agent and principal.agent_id == call.agent_id,
        may_download=may_download(principal, settings),
    )


def _evidence_by_segment(criteria: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Which criteria each transcript line is evidence for, with the quoted words."""
    out: dict[int, list[dict[str, Any]]] = {}
    for c in criteria:
        for e in c.get("evidence", []):
            here = out.setdefault(e["segment"], []) if e.get("segment") is not None else None
            if here is not None and all(x["id"] != c["id"] for x in here):
                here.append(
                    {
                        "id": c["id"],
                        "label": c["label"],
                        "passed": c["passed"],
                        "quote": e.get("quote"),
                    }
                )
    return out


@router.get("/calls/{call_id}/audio")
@writes_audit
def call_audio(
    request: Request,
    call_id: int,
    session: SessionDep,
    settings: SettingsDep,
    principal: PageReader,
    download: bool = False,
    reason: Annotated[
        str | None,
        Query(max_length=500, description="why the recording is downloaded (required, audited)"),
    ] = None,
) -> Response:
    return audio_response(
        request, session, settings, principal, call_id, download=download, reason=reason
    )
