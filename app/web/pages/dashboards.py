"""Scorecards (one's own, an agent's) and the supervisor's dashboard, with its CSV."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.audit.service import record
from app.auth import Principal, SettingsDep
from app.config import Settings
from app.csvexport import csv_response
from app.dashboards import service as dashboards
from app.dashboards.schemas import AGENT_CSV_HEADER, agent_csv_rows
from app.db import SessionDep, writes_audit
from app.ranges import DateRange
from app.reviews import service as reviews
from app.scope import visible_agents, visible_teams
from app.shopper import service as shopper
from app.topics import service as topics
from app.web.deps import PageDates, PageReader, PageReviewer, TeamParam
from app.web.render import back, render

router = APIRouter(include_in_schema=False)


def _card_page(
    request: Request,
    session: Session,
    settings: Settings,
    principal: Principal,
    agent_id: int,
    dates: DateRange,
) -> HTMLResponse:
    lo, hi = dates.started_from, dates.started_to
    card = dashboards.agent_card(
        session,
        principal=principal,
        agent_id=agent_id,
        started_from=lo,
        started_to=hi,
        fcr_days=settings.fcr_days,
        zone=settings.zone,
    )
    notes: dict[int, list[Any]] = {}
    for s in card.calls:
        if s.reviewed:
            notes[s.call.id or 0] = reviews.reviews_of(session, call_id=s.call.id or 0)
    disputes = {
        d.call_id: d
        for d in reversed(reviews.list_disputes(session, principal=principal, status=None))
        if d.agent == card.agent.external_id
    }
    found, blended = shopper.sources(
        session,
        settings=settings,
        agent_id=agent_id,
        calls=card.calls,
        started_from=lo,
        started_to=hi,
    )
    return render(
        request,
        "scorecard.html",
        principal,
        card=card,
        s=card.summary,
        notes=notes,
        disputes=disputes,
        q=request.query_params,
        sources=found,
        blended=blended,
        visits=shopper.visits_of(session, agent_id=agent_id),
    )


@router.get("/me", response_class=HTMLResponse)
def my_scorecard(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: PageReader,
    dates: PageDates,
) -> Response:
    if principal.agent_id is None:
        return back("/dashboard")
    return _card_page(request, session, settings, principal, principal.agent_id, dates)


@router.get("/agents/{agent_id}", response_class=HTMLResponse)
def agent_page(
    request: Request,
    agent_id: int,
    session: SessionDep,
    settings: SettingsDep,
    principal: PageReader,
    dates: PageDates,
) -> HTMLResponse:
    return _card_page(request, session, settings, principal, agent_id, dates)


def _dashboard(
    session: Session,
    settings: Settings,
    principal: Principal,
    team_id: int | None,
    dates: DateRange,
) -> dashboards.Summary:
    # Another team's id answers 404 there (app.scope.visible_team), as on the API.
    return dashboards.dashboard(
        session,
        principal=principal,
        team_id=team_id,
        agent_id=None,
        started_from=dates.started_from,
        started_to=dates.started_to,
        fcr_days=settings.fcr_days,
        zone=settings.zone,
    )


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: PageReviewer,
    team: TeamParam,
    dates: PageDates,
) -> HTMLResponse:
    summary, rows = dashboards.dashboard_rows(
        session,
        principal=principal,
        team_id=team,
        agent_id=None,
        started_from=dates.started_from,
        started_to=dates.started_to,
        fcr_days=settings.fcr_days,
        zone=settings.zone,
    )
    return render(
        request,
        "dashboard.html",
        principal,
        s=summary,
        missed=dashboards.missed_criteria(rows),
        missed_agents=dashboards.missed_by_agent(session, rows),
        drill=_drill_query(request),
        topic_trend=topics.trend(session, principal=principal, zone=settings.zone, team_id=team),
        teams=session.exec(visible_teams(principal)).all(),
        team_id=team,
        q=request.query_params,
        fcr_days=settings.fcr_days,
        zone=settings.zone,
    )


def _drill_query(request: Request) -> str:
    """The dashboard's own filters, for the drill-down links."""
    keep = {k: v for k, v in request.query_params.items() if k in ("team", "from", "to") and v}
    return urlencode(keep)


@router.get("/dashboard/missed", response_class=HTMLResponse)
def missed_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: PageReviewer,
    team: TeamParam,
    dates: PageDates,
    criterion: str = "",
    agent: int | None = None,
) -> HTMLResponse:
    """The calls that missed one criterion (of one agent if given), in the dashboard's scope."""
    _, rows = dashboards.dashboard_rows(
        session,
        principal=principal,
        team_id=team,
        agent_id=agent,
        started_from=dates.started_from,
        started_to=dates.started_to,
        fcr_days=settings.fcr_days,
        zone=settings.zone,
    )
    found = next(
        (m for m in dashboards.missed_criteria(rows, limit=None) if m.criterion == criterion),
        None,
    )
    calls = {r.call.id: r for r in rows}
    missed_rows = [calls[i] for i in (found.calls if found else []) if i in calls]
    return render(
        request,
        "missed.html",
        principal,
        criterion=criterion,
        found=found,
        rows=list(reversed(missed_rows)),  # newest first
        agents={a.id: a for a in session.exec(visible_agents(principal))},
        back_query=_drill_query(request),
    )


@router.get("/dashboard.csv")
@writes_audit
def dashboard_export(
    session: SessionDep,
    settings: SettingsDep,
    principal: PageReviewer,
    team: TeamParam,
    dates: PageDates,
) -> Response:
    summary = _dashboard(session, settings, principal, team, dates)
    record(
        session,
        principal=principal,
        action="export",
        target_type="dashboard",
        target_id=f"team={team}",
    )
    return csv_response(AGENT_CSV_HEADER, agent_csv_rows(summary), filename="agents.csv")
