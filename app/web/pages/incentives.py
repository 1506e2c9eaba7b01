"""Pages for incentives: the supervisor's month (lines, recompute, performance, service vs
sales; an admin also locks it) and the agent's own line with what is still missing. Reading a
month never computes it: the worker does, every few minutes, and so does "Recompute now"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.audit.service import audited
from app.auth import OrgZone
from app.db import SessionDep, rollback, writes_audit
from app.errors import BadRequest, CallqaError
from app.incentives import service
from app.incentives.schemas import csv_export, to_public
from app.scope import visible_team, visible_teams
from app.timeutil import utcnow
from app.web.deps import PageIncentiveLocker, PageIncentiveTeam, TeamParam
from app.web.render import back, render
from app.web.session import Csrf, WebPrincipal
from scorecards import bonus

router = APIRouter(include_in_schema=False)


def month(zone: OrgZone, period: str | None = None) -> str:
    """`?period=YYYY-MM`, checked; the organisation's current month when absent."""
    return service.check_period(period or service.period_of(utcnow(), zone))


Month = Annotated[str, Depends(month)]


@router.get("/incentives", response_class=HTMLResponse)
def incentives_page(
    request: Request,
    session: SessionDep,
    principal: PageIncentiveTeam,
    period: Month,
    zone: OrgZone,
    team: TeamParam,
    group: str = "agent",
    error: str | None = None,
) -> HTMLResponse:
    if team is not None:
        visible_team(session, principal, team)  # another team's: 404, as everywhere
    row, lines = service.read_lines(session, period, principal=principal)
    group = "team" if group == "team" else "agent"
    perf = service.performance(session, principal=principal, period=period, group=group, zone=zone)
    bands = service.service_vs_sales(
        session, principal=principal, period=period, team_id=team, zone=zone
    )
    return render(
        request,
        "incentives.html",
        principal,
        period=period,
        row=row,
        lines=lines,
        perf=perf,
        group=group,
        bands=bands,
        teams=list(session.exec(visible_teams(principal))),
        team_id=team,
        error=error,
    )


@router.get("/incentives.csv")
@writes_audit
def incentives_csv(session: SessionDep, principal: PageIncentiveTeam, period: Month) -> Response:
    with audited(
        session, principal=principal, action="export", target_type="incentives", target_id=period
    ):
        row, lines = service.read_lines(session, period, principal=principal)
    return csv_export([to_public(row, p) for p in lines], period)


def _back_to_month(session: Session, period: str, action: Callable[[], object]) -> Response:
    # A refusal (a locked month, open disputes) goes back to the page with its reason; what the
    # action did so far is undone first, as the redirect that follows commits.
    try:
        action()
    except CallqaError as exc:
        rollback(session)
        return back(f"/incentives?period={quote(period)}&error={quote(exc.message)}")
    return back(f"/incentives?period={quote(period)}")


@router.post("/incentives/{period}/compute")
def compute(
    period: str, session: SessionDep, principal: PageIncentiveTeam, zone: OrgZone, _csrf: Csrf
) -> Response:
    return _back_to_month(session, period, lambda: service.compute(session, period, zone=zone))


@router.post("/incentives/{period}/lock")
def lock(
    period: str,
    session: SessionDep,
    principal: PageIncentiveLocker,
    zone: OrgZone,
    _csrf: Csrf,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    def act() -> object:
        # A lock cannot be undone: the box on the form says what it freezes.
        if confirm != "yes":
            raise BadRequest(f"tick the box to confirm that {period} is locked for every team")
        return service.lock(session, period, by=principal.name, zone=zone)

    return _back_to_month(session, period, act)


@router.get("/me/incentives", response_class=HTMLResponse)
def my_incentives(
    request: Request, session: SessionDep, principal: WebPrincipal, period: Month
) -> HTMLResponse:
    lines: list[service.PayLine] = []
    row = None
    if principal.agent_id is not None:
        row, lines = service.read_lines(
            session, period, principal=principal, agent_id=principal.agent_id
        )
    return render(
        request,
        "my_incentives.html",
        principal,
        period=period,
        row=row,
        pay=lines[0] if lines else None,
        bands=bonus.BANDS,
    )
