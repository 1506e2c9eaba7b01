"""Server-rendered pages (Jinja2 + htmx) for supervisors, agents and admins.

Routes are thin: they read the form, call the same services as the API and render a template.
Every page is filtered by who asks, exactly as the API is (app.scope)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlmodel import col, select

from app.alerts import service as alerts
from app.audit import service as audit
from app.audit.service import audited
from app.auth import Principal, SettingsDep, create_token
from app.calls import service as calls
from app.calls.access import audio_response, call_filters, calls_csv
from app.calls.models import CallStatus, CallType, Direction
from app.csvexport import csv_response
from app.dashboards import service as dashboards
from app.dashboards.schemas import AGENT_CSV_HEADER, agent_csv_rows
from app.db import SessionDep
from app.errors import (
    BadRequest,
    CallqaError,
    Forbidden,
    NotFound,
    _callqa_handler,
    validation_handler,
)
from app.reviews import service as reviews
from app.reviews.effective import FIELDS, review_queue
from app.reviews.models import DisputeStatus
from app.reviews.schemas import OverrideIn
from app.scope import visible_agents
from app.teams.models import Team
from app.users.models import Agent, Role, User
from app.users.service import authenticate
from app.web import charts
from app.web.session import (
    Csrf,
    LoginRequired,
    WebPrincipal,
    clear_session,
    csrf_token,
    get_web_principal,
    set_cookies,
    set_session,
)
from qa.types import DIMENSIONS

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(charts=charts, DIMENSIONS=DIMENSIONS, FIELDS=FIELDS)
templates.env.filters["label"] = lambda s: str(s).replace("_", " ")
templates.env.filters["num"] = lambda v, d=0: "–" if v is None else f"{v:.{d}f}"
templates.env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.0f} %"
templates.env.filters["when"] = lambda v: "" if v is None else v.strftime("%Y-%m-%d %H:%M")
templates.env.filters["mmss"] = lambda s: "" if s is None else f"{int(s) // 60}:{s % 60:04.1f}"

router = APIRouter(include_in_schema=False)
PAGE = 50


def render(request: Request, name: str, principal: Principal | None, code: int = 200,
           **context: Any) -> HTMLResponse:
    settings = request.app.state.settings
    context.update(request=request, me=principal, csrf=csrf_token(request),
                   Role=Role)
    response = templates.TemplateResponse(request, name, context, status_code=code)
    set_cookies(request, response, settings)
    return response


def _need(principal: Principal, scope: str) -> None:
    if not principal.can(scope):
        raise Forbidden("your role cannot open this page")


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ---- login ----------------------------------------------------------------------------------

def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an open redirect.
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", None, next=_safe_next(next), error=None, email="")


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, session: SessionDep, settings: SettingsDep, _csrf: Csrf,
          email: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    user = authenticate(session, email=email, password=password)
    if user is None:
        return render(request, "login.html", None, code=401, next=_safe_next(next),
                      error="Incorrect email or password.", email=email)
    response = _back(_safe_next(next))
    set_session(response, create_token(user, settings), settings)
    return response


@router.post("/logout")
def logout(principal: WebPrincipal, _csrf: Csrf) -> Response:
    response = _back("/login")
    clear_session(response)
    return response


@router.get("/")
def home(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    try:
        principal = get_web_principal(request, session, settings)
    except LoginRequired:
        return _back("/login")
    return _back("/me" if principal.role is Role.agent else "/review-queue")


# ---- calls ----------------------------------------------------------------------------------

@router.get("/calls", response_class=HTMLResponse)
def calls_page(request: Request, session: SessionDep, principal: WebPrincipal,
               filters: Annotated[calls.CallFilters, Depends(call_filters)],
               page: int = 1) -> HTMLResponse:
    page = max(1, page)
    items, total = calls.list_calls(session, principal=principal, filters=filters,
                                    limit=PAGE, offset=(page - 1) * PAGE)
    scores = _effective_overall(session, [c.id for c in items])
    agents = session.exec(visible_agents(principal).order_by(col(Agent.external_id))).all()
    teams = _teams_for(session, principal)
    query = {k: v for k, v in request.query_params.items() if k not in ("page", "sort")}
    return render(request, "calls.html", principal, items=items, total=total, page=page,
                  pages=max(1, -(-total // PAGE)), scores=scores, agents=agents, teams=teams,
                  q=request.query_params, query=query, sort=filters.sort,
                  statuses=list(CallStatus), types=list(CallType),
                  directions=list(Direction), urlencode=urlencode)


def _teams_for(session: SessionDep, principal: Principal) -> list[Team]:
    query = select(Team).order_by(col(Team.name))
    if principal.role is Role.supervisor:
        query = query.where(col(Team.id).in_(principal.team_ids or {-1}))
    elif principal.role is Role.agent:
        return []
    return list(session.exec(query))


def _effective_overall(session: SessionDep, call_ids: list[int]) -> dict[int, dict[str, Any]]:
    from app.reviews.effective import scored_calls

    if not call_ids:
        return {}
    out = {}
    for s in scored_calls(session, principal=None, call_ids=call_ids):
        out[s.call.id or 0] = {"overall": s.value("overall"), "auto_fail": s.auto_fail,
                               "reviewed": s.reviewed}
    return out


@router.get("/calls.csv")
def calls_export(session: SessionDep, principal: WebPrincipal,
                 filters: Annotated[calls.CallFilters, Depends(call_filters)]) -> Response:
    with audited(session, principal=principal, action="export", target_type="calls",
                 target_id="list"):
        items, _ = calls.list_calls(session, principal=principal, filters=filters,
                                    limit=100_000, offset=0)
    return calls_csv(items)


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_page(request: Request, call_id: int, session: SessionDep,
              principal: WebPrincipal) -> HTMLResponse:
    with audited(session, principal=principal, action="transcript_view", target_type="call",
                 target_id=call_id):
        call = calls.get_visible_call(session, principal=principal, call_id=call_id)
    detail = calls.call_detail(session, call=call)
    evidence = _evidence_by_segment(detail.score.criteria if detail.score else [])
    segments = detail.transcript.segments if detail.transcript else []
    sentiment = detail.score.sentiment["timeline"] if detail.score else []
    points = [(segments[p["segment"]].start, p["compound"]) for p in sentiment
              if p["segment"] < len(segments) and segments[p["segment"]].speaker != "agent"]
    calibrators = []
    if principal.can("reviews:write"):
        calibrators = [u.email for u in session.exec(
            select(User).where(col(User.role).in_((Role.supervisor, Role.admin)),
                               col(User.is_active)).order_by(col(User.email)))
            if reviews.can_see_call(session, u, call)]
    open_dispute = next((d for d in detail.disputes if d.status is DisputeStatus.open), None)
    return render(request, "call.html", principal, call=detail, evidence=evidence,
                  segments=segments, sentiment_points=points, calibrators=calibrators,
                  open_dispute=open_dispute,
                  is_owner=principal.role is Role.agent and principal.agent_id == call.agent_id)


def _evidence_by_segment(criteria: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Which criteria each transcript line is evidence for, with the quoted words."""
    out: dict[int, list[dict[str, Any]]] = {}
    for c in criteria:
        for e in c.get("evidence", []):
            here = out.setdefault(e["segment"], []) if e.get("segment") is not None else None
            if here is not None and all(x["id"] != c["id"] for x in here):
                here.append(
                    {"id": c["id"], "label": c["label"], "passed": c["passed"],
                     "quote": e.get("quote")})
    return out


@router.get("/calls/{call_id}/audio")
def call_audio(request: Request, call_id: int, session: SessionDep, settings: SettingsDep,
               principal: WebPrincipal, download: bool = False) -> FileResponse:
    return audio_response(request, session, settings, principal, call_id, download=download)


def _parse_overrides(form: dict[str, Any]) -> list[OverrideIn]:
    """criterion__<id> = pass|fail|(empty), reason__criterion__<id>; the same for dimension__."""
    out = []
    for name, value in form.items():
        for target in ("criterion", "dimension"):
            prefix = f"{target}__"
            if not name.startswith(prefix) or not str(value).strip():
                continue
            key = name[len(prefix):]
            reason = str(form.get(f"reason__{target}__{key}", "")).strip()
            if not reason:
                raise BadRequest(f"{target} {key!r}: say why you change it")
            if target == "criterion":
                parsed: bool | float = str(value) == "pass"
            else:
                try:
                    parsed = float(str(value))
                except ValueError:
                    raise BadRequest(f"dimension {key!r}: a score from 0 to 100") from None
            out.append(OverrideIn(target=target, key=key, value=parsed, reason=reason))
    return out


@router.post("/calls/{call_id}/review")
async def review_call(request: Request, call_id: int, session: SessionDep,
                      principal: WebPrincipal, _csrf: Csrf) -> Response:
    _need(principal, "reviews:write")
    form = dict(await request.form())
    overrides = _parse_overrides(form)
    with audited(session, principal=principal, action="override", target_type="call",
                 target_id=call_id, detail=f"{len(overrides)} override(s)"):
        call = calls.get_visible_call(session, principal=principal, call_id=call_id)
        reviews.add_review(session, principal=principal, call=call, overrides=overrides,
                           coaching_note=str(form.get("coaching_note") or ""))
    return _back(f"/calls/{call_id}#reviews")


@router.post("/calls/{call_id}/dispute")
def dispute_call(call_id: int, session: SessionDep, principal: WebPrincipal, _csrf: Csrf,
                 reason: Annotated[str, Form()] = "") -> Response:
    _need(principal, "disputes:write")
    if len(reason.strip()) < 3:
        raise BadRequest("say why you dispute the score")
    call = calls.get_visible_call(session, principal=principal, call_id=call_id)
    reviews.raise_dispute(session, principal=principal, call=call, reason=reason)
    session.commit()
    return _back(f"/calls/{call_id}#disputes")


@router.post("/reviews/{review_id}/acknowledge")
def acknowledge_review(review_id: int, session: SessionDep, principal: WebPrincipal,
                       _csrf: Csrf) -> Response:
    with audited(session, principal=principal, action="acknowledge", target_type="review",
                 target_id=review_id):
        review = reviews.acknowledge(session, principal=principal, review_id=review_id)
    return _back(f"/calls/{review.call_id}#reviews")


@router.post("/disputes/{dispute_id}/decision")
async def decide_dispute(request: Request, dispute_id: int, session: SessionDep,
                         principal: WebPrincipal, _csrf: Csrf) -> Response:
    _need(principal, "reviews:write")
    form = dict(await request.form())
    accept = form.get("decision") == "accept"
    reason = str(form.get("decision_reason") or "").strip()
    if len(reason) < 3:
        raise BadRequest("give a reason for the decision")
    overrides = _parse_overrides(form) if accept else []
    with audited(session, principal=principal, action="dispute_decision",
                 target_type="dispute", target_id=dispute_id,
                 detail="accepted" if accept else "rejected"):
        dispute, call = reviews.visible_dispute(session, principal=principal,
                                                dispute_id=dispute_id)
        reviews.decide_dispute(session, principal=principal, dispute=dispute, call=call,
                               accept=accept, reason=reason, overrides=overrides)
    return _back(f"/calls/{call.id}#disputes")


@router.post("/calls/{call_id}/calibrations")
async def create_calibration(request: Request, call_id: int, session: SessionDep,
                             principal: WebPrincipal, _csrf: Csrf) -> Response:
    _need(principal, "reviews:write")
    form = await request.form()
    call = calls.get_visible_call(session, principal=principal, call_id=call_id)
    calibration = reviews.create_calibration(
        session, principal=principal, call=call,
        reviewers=[str(v) for v in form.getlist("reviewers")])
    session.commit()
    return _back(f"/calibrations/{calibration.id}")


@router.get("/calibrations/{calibration_id}", response_class=HTMLResponse)
def calibration_page(request: Request, calibration_id: int, session: SessionDep,
                     principal: WebPrincipal) -> HTMLResponse:
    _need(principal, "reviews:write")
    view = reviews.visible_calibration(session, principal=principal,
                                       calibration_id=calibration_id)
    public = reviews.calibration_public(session, principal=principal, view=view)
    seat = next((s for s in view.seats if s.user_id == principal.id), None)
    detail = calls.call_detail(session, call=view.call)
    criteria = [c for c in (detail.score.criteria if detail.score else []) if c["applicable"]]
    return render(request, "calibration.html", principal, cal=public, call=detail,
                  criteria=criteria, must_score=seat is not None and seat.review_id is None)


@router.post("/calibrations/{calibration_id}/verdicts")
async def calibration_verdicts(request: Request, calibration_id: int, session: SessionDep,
                               principal: WebPrincipal, _csrf: Csrf) -> Response:
    _need(principal, "reviews:write")
    form = await request.form()
    verdicts = {k.removeprefix("verdict__"): v == "pass" for k, v in form.items()
                if k.startswith("verdict__")}
    with audited(session, principal=principal, action="calibration_score",
                 target_type="calibration", target_id=calibration_id):
        view = reviews.visible_calibration(session, principal=principal,
                                           calibration_id=calibration_id)
        reviews.submit_verdicts(session, principal=principal, view=view, verdicts=verdicts)
    return _back(f"/calibrations/{calibration_id}")


# ---- review queue, disputes, agreement ------------------------------------------------------

@router.get("/review-queue", response_class=HTMLResponse)
def queue_page(request: Request, session: SessionDep, settings: SettingsDep,
               principal: WebPrincipal) -> HTMLResponse:
    _need(principal, "reviews:write")
    items = review_queue(session, principal=principal, share=settings.review_sample_share,
                         below=settings.review_below)
    agents = {a.id: a.external_id for a in session.exec(visible_agents(principal))}
    return render(request, "queue.html", principal, items=items, agents=agents,
                  share=settings.review_sample_share, below=settings.review_below)


@router.get("/disputes.csv")
def disputes_export(session: SessionDep, principal: WebPrincipal) -> Response:
    from app.reviews.routes import disputes_csv

    with audited(session, principal=principal, action="export", target_type="disputes",
                 target_id="list"):
        rows = reviews.list_disputes(session, principal=principal, status=None)
    return disputes_csv(rows)


@router.get("/review-queue.csv")
def queue_export(session: SessionDep, settings: SettingsDep,
                 principal: WebPrincipal) -> Response:
    from app.reviews.routes import queue_csv, queue_items

    _need(principal, "reviews:write")
    with audited(session, principal=principal, action="export", target_type="queue",
                 target_id="list"):
        items = queue_items(session, settings, principal)
    return queue_csv(items)


@router.get("/disputes", response_class=HTMLResponse)
def disputes_page(request: Request, session: SessionDep, principal: WebPrincipal,
                  status: str | None = "open") -> HTMLResponse:
    wanted = DisputeStatus(status) if status in {s.value for s in DisputeStatus} else None
    rows = reviews.list_disputes(session, principal=principal, status=wanted)
    return render(request, "disputes.html", principal, rows=rows, status=status)


def _dates(started_from: str | None, started_to: str | None) -> tuple[datetime | None,
                                                                        datetime | None]:
    f = call_filters(started_from=started_from, started_to=started_to)
    return f.started_from, f.started_to


@router.get("/agreement", response_class=HTMLResponse)
def agreement_page(request: Request, session: SessionDep,
                   principal: WebPrincipal) -> HTMLResponse:
    _need(principal, "reviews:write")
    lo, hi = _dates(request.query_params.get("from"), request.query_params.get("to"))
    report = reviews.agreement(session, principal=principal, started_from=lo, started_to=hi)
    return render(request, "agreement.html", principal, report=report, q=request.query_params)


# ---- scorecards and dashboards --------------------------------------------------------------

def _card_page(request: Request, session: SessionDep, settings: SettingsDep,
               principal: Principal, agent_id: int) -> HTMLResponse:
    lo, hi = _dates(request.query_params.get("from"), request.query_params.get("to"))
    card = dashboards.agent_card(session, principal=principal, agent_id=agent_id,
                                 started_from=lo, started_to=hi, fcr_days=settings.fcr_days)
    notes: dict[int, list[Any]] = {}
    for s in card.calls:
        if s.reviewed:
            notes[s.call.id or 0] = reviews.reviews_of(session, call_id=s.call.id or 0)
    disputes = {d.call_id: d for d in reversed(reviews.list_disputes(
        session, principal=principal, status=None)) if d.agent == card.agent.external_id}
    from app.shopper import service as shopper

    found, blended = shopper.sources(session, settings=settings, agent_id=agent_id,
                                     calls=card.calls, started_from=lo, started_to=hi)
    return render(request, "scorecard.html", principal, card=card, s=card.summary,
                  notes=notes, disputes=disputes, q=request.query_params, sources=found,
                  blended=blended, visits=shopper.visits_of(session, agent_id=agent_id))


@router.get("/me", response_class=HTMLResponse)
def my_scorecard(request: Request, session: SessionDep, settings: SettingsDep,
                 principal: WebPrincipal) -> Response:
    if principal.agent_id is None:
        return _back("/dashboard")
    return _card_page(request, session, settings, principal, principal.agent_id)


@router.get("/agents/{agent_id}", response_class=HTMLResponse)
def agent_page(request: Request, agent_id: int, session: SessionDep, settings: SettingsDep,
               principal: WebPrincipal) -> HTMLResponse:
    return _card_page(request, session, settings, principal, agent_id)


def _dashboard(request: Request, session: SessionDep, settings: SettingsDep,
               principal: Principal) -> tuple[dashboards.Summary, int | None]:
    _need(principal, "reviews:write")
    team = request.query_params.get("team") or None
    if team is not None and not team.isdigit():
        raise BadRequest("`team` must be a team id")
    team_id = int(team) if team else None
    if team_id is not None and principal.role is Role.supervisor and \
            team_id not in principal.team_ids:
        raise NotFound(f"team {team_id} not found")
    lo, hi = _dates(request.query_params.get("from"), request.query_params.get("to"))
    return dashboards.dashboard(session, principal=principal, team_id=team_id, agent_id=None,
                                started_from=lo, started_to=hi,
                                fcr_days=settings.fcr_days), team_id


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, session: SessionDep, settings: SettingsDep,
                   principal: WebPrincipal) -> HTMLResponse:
    summary, team_id = _dashboard(request, session, settings, principal)
    return render(request, "dashboard.html", principal, s=summary,
                  teams=_teams_for(session, principal), team_id=team_id,
                  q=request.query_params, fcr_days=settings.fcr_days)


@router.get("/dashboard.csv")
def dashboard_export(request: Request, session: SessionDep, settings: SettingsDep,
                     principal: WebPrincipal) -> Response:
    summary, team_id = _dashboard(request, session, settings, principal)
    with audited(session, principal=principal, action="export", target_type="dashboard",
                 target_id=f"team={team_id}"):
        pass
    return csv_response(AGENT_CSV_HEADER, agent_csv_rows(summary), filename="agents.csv")


# ---- alerts ---------------------------------------------------------------------------------

@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, session: SessionDep, principal: WebPrincipal,
                show: str = "open") -> HTMLResponse:
    _need(principal, "alerts:read")
    rows, total = alerts.list_alerts(session, principal=principal, open_only=show == "open",
                                     kind=None, limit=200, offset=0)
    return render(request, "alerts.html", principal, rows=rows, total=total, show=show)


@router.post("/alerts/{alert_id}/acknowledge", response_class=HTMLResponse)
def acknowledge_alert(request: Request, alert_id: int, session: SessionDep,
                      principal: WebPrincipal, _csrf: Csrf) -> Response:
    _need(principal, "alerts:read")
    alert = alerts.acknowledge(session, principal=principal, alert_id=alert_id)
    session.commit()
    if request.headers.get("hx-request"):
        agent = session.get(Agent, alert.agent_id) if alert.agent_id else None
        return render(request, "_alert_row.html", principal, alert=alert,
                      agent=agent.external_id if agent else None)
    return _back("/alerts")


@router.get("/alerts.csv")
def alerts_export(session: SessionDep, principal: WebPrincipal) -> Response:
    _need(principal, "alerts:read")
    with audited(session, principal=principal, action="export", target_type="alerts",
                 target_id="list"):
        rows, _ = alerts.list_alerts(session, principal=principal, open_only=False, kind=None,
                                     limit=100_000, offset=0)
    return csv_response(["id", "kind", "message", "call_id", "agent", "created_at",
                         "acknowledged_at"],
                        [(a.id, a.kind.value, a.message, a.call_id, agent, a.created_at,
                          a.acknowledged_at) for a, agent in rows], filename="alerts.csv")


# ---- audit ----------------------------------------------------------------------------------

@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: SessionDep, principal: WebPrincipal,
               action: str | None = None, outcome: str | None = None,
               page: int = 1) -> HTMLResponse:
    _need(principal, "audit:read")
    page = max(1, page)
    rows, total = audit.list_events(session, action=action or None, actor=None,
                                    outcome=outcome or None, started_from=None,
                                    started_to=None, limit=PAGE, offset=(page - 1) * PAGE)
    return render(request, "audit.html", principal, rows=rows, total=total, page=page,
                  pages=max(1, -(-total // PAGE)), action=action, outcome=outcome,
                  actions=audit.ACTIONS)


@router.get("/audit.csv")
def audit_export(session: SessionDep, principal: WebPrincipal) -> Response:
    _need(principal, "audit:read")
    with audited(session, principal=principal, action="export", target_type="audit",
                 target_id="log"):
        rows, _ = audit.list_events(session, action=None, actor=None, outcome=None,
                                    started_from=None, started_to=None, limit=1_000_000,
                                    offset=0)
    return csv_response(["id", "at", "actor", "action", "target_type", "target_id", "outcome",
                         "detail"], [(e.id, e.at, e.actor_name, e.action, e.target_type,
                                      e.target_id, e.outcome, e.detail) for e in rows],
                        filename="audit.csv")


# ---- wiring ---------------------------------------------------------------------------------

def _is_web(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def install(app: FastAPI) -> None:
    from app.web.incentive_pages import router as incentive_pages
    from app.web.shopper_pages import router as shopper_pages

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(router)
    app.include_router(shopper_pages)
    app.include_router(incentive_pages)

    def error_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CallqaError)
        if not _is_web(request):
            return _callqa_handler(request, exc)
        if isinstance(exc, LoginRequired):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            if request.headers.get("hx-request"):
                return Response(status_code=401, headers={"HX-Redirect": "/login"})
            return _back(f"/login?next={quote(target)}")
        return render(request, "error.html", None, code=exc.status_code,
                      message=exc.message, status=exc.status_code)

    async def invalid_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not _is_web(request):
            return await validation_handler(request, exc)
        message = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}"
                            for e in exc.errors())
        return render(request, "error.html", None, code=422, message=message, status=422)

    app.add_exception_handler(CallqaError, error_page)
    app.add_exception_handler(RequestValidationError, invalid_page)
