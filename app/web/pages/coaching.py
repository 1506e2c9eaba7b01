"""Coaching pages: the sessions one may see (overdue follow-ups marked), the form a coach
fills in (from the call page: that call and its agent chosen), and one session with its calls,
its focus criteria, how the agent has done on them since, and the agent's acknowledgement."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col

from app.audit.service import audited
from app.auth import OrgZone, Principal
from app.coaching import service
from app.coaching.models import CoachingSession, CoachingStatus
from app.coaching.schemas import CoachingUpdate
from app.db import SessionDep, rollback
from app.errors import BadRequest, Conflict, Unprocessable
from app.scope import visible_agents, visible_call
from app.users.models import Agent, Role
from app.web.deps import PageReader, PageReviewer
from app.web.render import back, render
from app.web.session import Csrf

router = APIRouter(include_in_schema=False)

# What a coach can fix on the form itself; a 404 or 403 is the error page, as everywhere.
_FORM_ERRORS = (BadRequest, Unprocessable, Conflict)
DUE = {"overdue": "overdue", "week": "due within a week"}


@dataclass
class FormValues:
    """What the coach typed, shown again when the form is refused."""

    note: str = ""
    focus: list[str] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    follow_up: str = ""


def _today(zone: OrgZone) -> date:
    return datetime.now(zone).date()


def _number(value: str, what: str) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise BadRequest(f"`{what}` must be a number")
    return int(value)


def _day(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest("`follow_up`: a day as YYYY-MM-DD") from None


def _calls(values: list[str]) -> list[int]:
    return [n for v in values if (n := _number(v, "calls")) is not None]


def _agents(session: Session, principal: Principal) -> list[Agent]:
    return list(session.exec(visible_agents(principal).order_by(col(Agent.external_id))))


@router.get("/coaching", response_class=HTMLResponse)
def coaching_list(
    request: Request,
    session: SessionDep,
    principal: PageReader,
    zone: OrgZone,
    agent: str = "",
    status: str = "",
    due: str = "",
) -> HTMLResponse:
    today = _today(zone)
    try:
        chosen = CoachingStatus(status) if status else None
    except ValueError:
        raise BadRequest(f"`status`: one of {', '.join(s.value for s in CoachingStatus)}") from None
    if due and due not in DUE:
        raise BadRequest(f"`due`: one of {', '.join(DUE)}")
    rows = service.list_sessions(
        session,
        principal=principal,
        today=today,
        agent_id=_number(agent, "agent"),
        status=chosen,
        overdue=True if due == "overdue" else None,
        due_by=today + timedelta(days=7) if due == "week" else None,
    )
    return render(
        request,
        "coaching.html",
        principal,
        rows=service.public(session, rows, today=today),
        agents=_agents(session, principal),
        statuses=list(CoachingStatus),
        dues=DUE,
        filters={"agent": agent, "status": status, "due": due},
    )


def _form_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    agent_id: int | None,
    form: FormValues,
    error: str | None = None,
    code: int = 200,
) -> HTMLResponse:
    choices = (
        service.form_choices(session, principal=principal, agent_id=agent_id, keep=form.calls)
        if agent_id is not None
        else None
    )
    return render(
        request,
        "coaching_new.html",
        principal,
        code=code,
        agents=_agents(session, principal),
        choices=choices,
        form=form,
        error=error,
    )


@router.get("/coaching/new", response_class=HTMLResponse)
def coaching_new(
    request: Request, session: SessionDep, principal: PageReviewer, agent: str = "", call: str = ""
) -> HTMLResponse:
    """The form; `?call=` picks that call and its agent (the call page's link), `?agent=` an
    agent (callqa's id)."""
    call_id = _number(call, "call")
    agent_id = _number(agent, "agent")
    if call_id is not None:
        found = visible_call(session, principal, call_id)
        if agent_id is not None and agent_id != found.agent_id:
            raise BadRequest(f"call {call_id} is not this agent's")
        agent_id = found.agent_id
    form = FormValues(calls=[call_id] if call_id is not None else [])
    return _form_page(request, session, principal, agent_id=agent_id, form=form)


@router.post("/coaching", response_class=HTMLResponse)
def coaching_create(
    request: Request,
    session: SessionDep,
    principal: PageReviewer,
    _csrf: Csrf,
    agent_id: Annotated[int, Form()],
    focus: Annotated[list[str], Form(default_factory=list)],
    calls: Annotated[list[str], Form(default_factory=list)],
    note: Annotated[str, Form(max_length=5000)] = "",
    follow_up: Annotated[str, Form()] = "",
) -> Response:
    form = FormValues(
        note=note, focus=focus, calls=[int(c) for c in calls if c.isdigit()], follow_up=follow_up
    )
    try:
        with audited(
            session,
            principal=principal,
            action="coaching_create",
            target_type="agent",
            target_id=agent_id,
            detail=f"focus: {', '.join(focus) or '-'}; {len(calls)} call(s)",
        ):
            row = service.create(
                session,
                principal=principal,
                spec=service.CoachingSpec(
                    agent_id=agent_id,
                    note=note,
                    focus=focus,
                    calls=_calls(calls),
                    follow_up=_day(follow_up),
                ),
            )
    except _FORM_ERRORS as exc:
        rollback(session)
        return _form_page(
            request, session, principal, agent_id=agent_id, form=form, error=exc.message, code=422
        )
    return back(f"/coaching/{row.id}")


def _detail_page(
    request: Request,
    session: Session,
    principal: Principal,
    row: CoachingSession,
    *,
    today: date,
    error: str | None = None,
    code: int = 200,
) -> HTMLResponse:
    detail = service.detail(session, row, today=today)
    may_coach = principal.can("reviews:write")
    choices = (
        service.form_choices(
            session,
            principal=principal,
            agent_id=row.agent_id,
            keep=[c.id for c in detail.calls],
        )
        if may_coach
        else None
    )
    return render(
        request,
        "coaching_detail.html",
        principal,
        code=code,
        s=detail,
        choices=choices,
        linked={c.id for c in detail.calls},
        may_coach=may_coach,
        is_agent=principal.role is Role.agent and principal.agent_id == row.agent_id,
        error=error,
    )


@router.get("/coaching/{coaching_id}", response_class=HTMLResponse)
def coaching_detail(
    coaching_id: int, request: Request, session: SessionDep, principal: PageReader, zone: OrgZone
) -> HTMLResponse:
    row = service.visible_session(session, principal, coaching_id)
    return _detail_page(request, session, principal, row, today=_today(zone))


@router.post("/coaching/{coaching_id}", response_class=HTMLResponse)
def coaching_update(
    coaching_id: int,
    request: Request,
    session: SessionDep,
    principal: PageReviewer,
    zone: OrgZone,
    _csrf: Csrf,
    focus: Annotated[list[str], Form(default_factory=list)],
    calls: Annotated[list[str], Form(default_factory=list)],
    note: Annotated[str, Form(max_length=5000)] = "",
    follow_up: Annotated[str, Form()] = "",
) -> Response:
    try:
        with audited(
            session,
            principal=principal,
            action="coaching_update",
            target_type="coaching",
            target_id=coaching_id,
            detail="calls, focus, follow_up, note",
        ):
            row = service.visible_session(session, principal, coaching_id)
            service.update(
                session,
                principal=principal,
                row=row,
                # Built unvalidated: the service checks the limits and answers 422 in words,
                # where the model's own check would be an unhandled validation error here.
                changes=CoachingUpdate.model_construct(
                    note=note, focus=focus, calls=_calls(calls), follow_up=_day(follow_up)
                ),
            )
    except _FORM_ERRORS as exc:
        rollback(session)
        row = service.visible_session(session, principal, coaching_id)
        return _detail_page(
            request, session, principal, row, today=_today(zone), error=exc.message, code=422
        )
    return back(f"/coaching/{coaching_id}")


@router.post("/coaching/{coaching_id}/done", response_class=HTMLResponse)
def coaching_done(
    coaching_id: int,
    session: SessionDep,
    principal: PageReviewer,
    _csrf: Csrf,
    done: Annotated[str, Form()] = "1",
) -> Response:
    with audited(
        session,
        principal=principal,
        action="coaching_update",
        target_type="coaching",
        target_id=coaching_id,
        detail="done" if done == "1" else "reopened",
    ):
        row = service.visible_session(session, principal, coaching_id)
        service.update(
            session, principal=principal, row=row, changes=CoachingUpdate(done=done == "1")
        )
    return back(f"/coaching/{coaching_id}")


@router.post("/coaching/{coaching_id}/acknowledge", response_class=HTMLResponse)
def coaching_acknowledge(
    coaching_id: int,
    session: SessionDep,
    principal: PageReader,
    _csrf: Csrf,
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    with audited(
        session,
        principal=principal,
        action="coaching_acknowledge",
        target_type="coaching",
        target_id=coaching_id,
    ):
        service.acknowledge(session, principal=principal, coaching_id=coaching_id, comment=comment)
    return back(f"/coaching/{coaching_id}")
