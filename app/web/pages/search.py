"""Search across transcripts: the words, or what was meant (similar sentences); the call list's
filters; results that open the call at the moment they were said."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlmodel import col

from app.audit.service import record
from app.auth import SettingsDep
from app.calls import meaning, search
from app.calls import service as calls
from app.calls.access import call_filters
from app.calls.models import CallType, Direction
from app.db import SessionDep, writes_audit
from app.errors import BadRequest, Unavailable
from app.scope import visible_agents, visible_teams
from app.users.models import Agent
from app.web.deps import PageReader
from app.web.render import render

router = APIRouter(include_in_schema=False)
PAGE = 50
SPEAKERS = ("agent", "customer", "unknown")
MODES = {"words": "words", "meaning": "similar meaning"}


@router.get("/search", response_class=HTMLResponse)
@writes_audit(when=lambda request: bool(request.query_params.get("q", "").strip()))
def search_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: PageReader,
    filters: Annotated[calls.CallFilters, Depends(call_filters)],
    q: str = "",
    speaker: str = "",
    mode: str = "words",
    page: int = 1,
) -> HTMLResponse:
    page = max(1, page)
    hits: list[search.Hit] = []
    total, error = 0, None
    found: meaning.MeaningResult | None = None
    if q.strip():
        try:
            if speaker and speaker not in SPEAKERS:
                raise BadRequest(f"speaker: one of {', '.join(SPEAKERS)}")
            if mode not in MODES:
                raise BadRequest(f"match: one of {', '.join(MODES)}")
            if mode == "meaning":
                found = meaning.search_meaning(
                    session,
                    principal=principal,
                    filters=filters,
                    q=q,
                    speaker=speaker or None,
                    limit=PAGE,
                    offset=(page - 1) * PAGE,
                    embedder=meaning.app_embedder(settings),
                    floor=settings.search_meaning_floor,
                    max_calls=settings.search_meaning_calls,
                )
                hits, total = list(found.hits), found.total
            else:
                hits, total = search.search(
                    session,
                    principal=principal,
                    filters=filters,
                    q=q,
                    speaker=speaker or None,
                    limit=PAGE,
                    offset=(page - 1) * PAGE,
                )
            record(
                session,
                principal=principal,
                action="transcript_search",
                target_type="transcripts",
                target_id=f"{total} segments" + (" by meaning" if found else ""),
                detail=q[:2000],
            )
        except (BadRequest, Unavailable) as exc:  # said on the page, beside the form
            error = exc.message
    agents = session.exec(visible_agents(principal).order_by(col(Agent.external_id))).all()
    query = {k: v for k, v in request.query_params.items() if k != "page"}
    return render(
        request,
        "search.html",
        principal,
        hits=hits,
        total=total,
        error=error,
        page=page,
        pages=max(1, -(-total // PAGE)),
        link=search.link,
        agents=agents,
        teams=session.exec(visible_teams(principal)).all(),
        q=request.query_params,
        query=query,
        speakers=SPEAKERS,
        modes=MODES,
        mode=mode if mode in MODES else "words",
        found=found,
        meaning_calls=settings.search_meaning_calls,
        types=list(CallType),
        directions=list(Direction),
        urlencode=urlencode,
    )
