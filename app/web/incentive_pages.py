"""Pages for incentives: the supervisor's month (lines, recompute, lock, performance, service vs
sales) and the agent's own line with what is still missing. Reading a month never computes it:
the worker does, every few minutes, and so does "Recompute now"."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.audit.service import audited
from app.db import SessionDep, rollback, writes_audit
from app.errors import CallqaError
from app.incentives import service
from app.incentives.routes import _csv, _public
from app.timeutil import utcnow
from app.web.routes import _back, _need, _teams_for, render
from app.web.session import Csrf, WebPrincipal
from scorecards import bonus

router = APIRouter(include_in_schema=False)


def _period(request: Request) -> str:
    period = request.query_params.get("period") or service.period_of(utcnow())
    service.bounds(period)
    return period


@router.get("/incentives", response_class=HTMLResponse)
def incentives_page(request: Request, session: SessionDep,
                    principal: WebPrincipal) -> HTMLResponse:
    _need(principal, "incentives:team")
    period = _period(request)
    team = request.query_params.get("team")
    team_id = int(team) if team and team.isdigit() else None
    row, lines = service.read_lines(session, period, principal=principal)
    group = "team" if request.query_params.get("group") == "team" else "agent"
    perf = service.performance(session, principal=principal, period=period, group=group)
    bands = service.service_vs_sales(session, principal=principal, period=period,
                                     team_id=team_id)
    return render(request, "incentives.html", principal, period=period, row=row, lines=lines,
                  perf=perf, group=group, bands=bands, teams=_teams_for(session, principal),
                  team_id=team_id, error=request.query_params.get("error"))


@router.get("/incentives.csv")
@writes_audit
def incentives_csv(request: Request, session: SessionDep, principal: WebPrincipal) -> Response:
    _need(principal, "incentives:team")
    period = _period(request)
    with audited(session, principal=principal, action="export", target_type="incentives",
                 target_id=period):
        row, lines = service.read_lines(session, period, principal=principal)
    return _csv([_public(row, p) for p in lines], period)


def _back_to_month(session: SessionDep, period: str, action: Callable[[], object]) -> Response:
    # A refusal (a locked month, open disputes) goes back to the page with its reason; what the
    # action did so far is undone first, as the redirect that follows commits.
    try:
        action()
    except CallqaError as exc:
        rollback(session)
        return _back(f"/incentives?period={quote(period)}&error={quote(exc.message)}")
    return _back(f"/incentives?period={quote(period)}")


@router.post("/incentives/{period}/compute")
def compute(request: Request, period: str, session: SessionDep, principal: WebPrincipal,
            _csrf: Csrf) -> Response:
    _need(principal, "incentives:lock")
    return _back_to_month(session, period, lambda: service.compute(session, period))


@router.post("/incentives/{period}/lock")
def lock(request: Request, period: str, session: SessionDep, principal: WebPrincipal,
         _csrf: Csrf) -> Response:
    _need(principal, "incentives:lock")
    return _back_to_month(session, period,
                          lambda: service.lock(session, period, by=principal.name))


@router.get("/me/incentives", response_class=HTMLResponse)
def my_incentives(request: Request, session: SessionDep,
                  principal: WebPrincipal) -> HTMLResponse:
    period = _period(request)
    lines: list[service.PayLine] = []
    row = None
    if principal.agent_id is not None:
        row, lines = service.read_lines(session, period, principal=principal,
                                        agent_id=principal.agent_id)
    return render(request, "my_incentives.html", principal, period=period, row=row,
                  pay=lines[0] if lines else None, bands=bonus.BANDS)
