from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col

from app.auth import OrgZone, ReviewWriter, SettingsDep
from app.db import SessionDep
from app.limits import client_address
from app.ranges import Dates
from app.reviews.effective import FIELDS
from app.shopper import service
from app.shopper.models import ShopperAssignment, ShopperTemplate

router = APIRouter(prefix="/api/v1", tags=["mystery shopper"])


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    definition: str = Field(
        min_length=1, max_length=200_000, description="the form in YAML (see the default)"
    )
    team_id: int | None = Field(
        default=None,
        description="a new form's owner: a team a supervisor leads; omitted by an admin: global",
    )


class TemplatePublic(BaseModel):
    id: int
    name: str
    version: int
    team_id: int | None
    definition: str
    created_at: datetime


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent: str | None = Field(None, description="the agent's external id, or give `team`")
    team: int | None = Field(None, description="a team id, with a channel")
    channel: str = Field(description="phone, email, chat or store")
    due: date
    notes: str | None = Field(None, max_length=2000, description="shown to the shopper")
    template_id: int | None = None


class AssignmentPublic(BaseModel):
    id: int
    agent_id: int | None
    team_id: int | None
    channel: str
    due_at: datetime
    expires_at: datetime
    status: str = Field(description="waiting, done or expired")
    template_id: int
    link: str | None = Field(None, description="the form's path; shown once, when made")
    url: str | None = Field(
        None,
        description="the full address to send the shopper: CALLQA_PUBLIC_URL, else the address"
        " this request came to; shown once, when made",
    )


class FormPublic(BaseModel):
    title: str
    intro: str
    channel: str
    notes: str | None
    questions: list[dict[str, Any]]


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: dict[str, Any]
    contact_at: datetime | None = Field(
        None, description="when the contact took place; without an offset, the organisation's time"
    )
    contact_number: str | None = Field(None, description="the number you called from")


class SubmissionPublic(BaseModel):
    id: int
    overall: float | None
    dimensions: dict[str, float | None]
    script_compliance: float | None
    matched_call: bool


class ReportRowPublic(BaseModel):
    group: str
    period: str
    visits: int
    overall: float | None
    overall_ci95: tuple[float, float] | None
    dimensions: dict[str, float | None]


class ComparisonPublic(BaseModel):
    rows: list[dict[str, Any]]
    mean_difference: dict[str, dict[str, Any]] = Field(
        description="per dimension: shopper minus machine, mean, n and 95 % interval"
    )


def _template_public(t: ShopperTemplate) -> TemplatePublic:
    return TemplatePublic(
        id=t.id or 0,
        name=t.name,
        version=t.version,
        team_id=t.team_id,
        definition=t.definition,
        created_at=t.created_at,
    )


def assignment_public(
    a: ShopperAssignment, link: str | None = None, url: str | None = None
) -> AssignmentPublic:
    return AssignmentPublic(
        id=a.id or 0,
        agent_id=a.agent_id,
        team_id=a.team_id,
        channel=a.channel,
        due_at=a.due_at,
        expires_at=a.expires_at,
        status=service.status_of(a),
        template_id=a.template_id,
        link=link,
        url=url,
    )


@router.get("/shopper/templates", response_model=list[TemplatePublic])
def list_templates(session: SessionDep, principal: ReviewWriter) -> list[TemplatePublic]:
    """Every version of the forms one may use (the global ones and one's teams'); the
    built-in one is version 1 of `default`."""
    return [_template_public(t) for t in service.list_templates(session, principal)]


@router.post("/shopper/templates", response_model=TemplatePublic, status_code=201)
def create_template(
    body: TemplateIn, session: SessionDep, principal: ReviewWriter
) -> TemplatePublic:
    """Store the next version of a form (its `name` inside the YAML); errors name the line. A
    global form (`default` among them) only an admin may change (403); a team's, its
    supervisors."""
    row = service.create_template(
        session, principal=principal, definition=body.definition, team_id=body.team_id
    )
    return _template_public(row)


@router.post("/shopper/assignments", response_model=AssignmentPublic, status_code=201)
def create_assignment(
    body: AssignmentIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: ReviewWriter,
) -> AssignmentPublic:
    """Plan a visit and get its one-time link for the shopper (shown only now)."""
    row, token = service.create_assignment(
        session,
        settings=settings,
        principal=principal,
        spec=service.NewAssignment(
            agent=body.agent,
            team_id=body.team,
            channel=body.channel,
            due=body.due,
            notes=body.notes,
            template_id=body.template_id,
        ),
    )
    path = service.link_path(token)
    return assignment_public(row, path, settings.public_link(path, str(request.base_url)))


@router.get("/shopper/assignments", response_model=list[AssignmentPublic])
def list_assignments(session: SessionDep, principal: ReviewWriter) -> list[AssignmentPublic]:
    """The visits you planned or may see, the newest first."""
    rows = session.exec(
        service.visible_assignments(principal).order_by(col(ShopperAssignment.id).desc())
    )
    return [assignment_public(a) for a in rows]


@router.post("/shopper/assignments/{assignment_id}/link", response_model=AssignmentPublic)
def renew_link(
    assignment_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: ReviewWriter,
) -> AssignmentPublic:
    """A new link for a visit not made yet; the old link stops working."""
    row = service.get_assignment(session, principal=principal, assignment_id=assignment_id)
    token = service.renew_link(session, settings=settings, assignment=row)
    path = service.link_path(token)
    return assignment_public(row, path, settings.public_link(path, str(request.base_url)))


@router.get("/shopper/report", response_model=list[ReportRowPublic])
def shopper_report(
    session: SessionDep,
    principal: ReviewWriter,
    dates: Dates,
    zone: OrgZone,
    group: str = "agent",
) -> list[ReportRowPublic]:
    """Shopper results per agent, team or channel, per month."""
    rows = service.report(
        session,
        principal=principal,
        group=group,
        started_from=dates.started_from,
        started_to=dates.started_to,
        zone=zone,
    )
    return [
        ReportRowPublic(
            group=r.group,
            period=r.period,
            visits=r.visits,
            overall=None if r.overall.mean is None else round(r.overall.mean, 1),
            overall_ci95=(round(r.overall.low, 1), round(r.overall.high, 1))
            if r.overall.low is not None and r.overall.high is not None
            else None,
            dimensions={k: None if v is None else round(v, 1) for k, v in r.dimensions.items()},
        )
        for r in rows
    ]


@router.get("/shopper/comparison", response_model=ComparisonPublic)
def shopper_comparison(session: SessionDep, principal: ReviewWriter) -> ComparisonPublic:
    """Where a visit was matched to a recording: the shopper's scores against the call's."""
    rows, summary = service.comparison(session, principal=principal)
    return ComparisonPublic(
        rows=[
            {
                "submission_id": r.submission_id,
                "call_id": r.call_id,
                "agent": r.agent,
                "submitted_at": r.submitted_at,
                "shopper": r.shopper,
                "machine": r.machine,
                "difference": r.difference,
            }
            for r in rows
        ],
        mean_difference={
            f: {
                "mean": None if e.mean is None else round(e.mean, 1),
                "n": e.n,
                "ci95": None
                if e.low is None or e.high is None
                else (round(e.low, 1), round(e.high, 1)),
            }
            for f, e in summary.items()
            if f in FIELDS
        },
    )


# ---- the shopper's side: public, reached only through a link ---------------------------------


def form_public(session: SessionDep, assignment: ShopperAssignment) -> FormPublic:
    template = service.parsed(service.get_template(session, assignment.template_id))
    return FormPublic(
        title=template.title,
        intro=template.intro,
        channel=assignment.channel,
        notes=assignment.notes,
        questions=[
            {
                "id": q.id,
                "text": q.text,
                "kind": q.kind,
                "required": q.required,
                "options": list(q.options) or None,
            }
            for q in template.questions
        ],
    )


@router.get("/shop/{token}", response_model=FormPublic)
def shop_form(token: str, session: SessionDep, settings: SettingsDep) -> FormPublic:
    """The form a link opens (no account needed); 410 once used or expired."""
    return form_public(session, service.resolve(session, settings, token))


@router.post("/shop/{token}", response_model=SubmissionPublic, status_code=201)
def shop_submit(
    token: str, body: SubmissionIn, request: Request, session: SessionDep, settings: SettingsDep
) -> SubmissionPublic:
    """Send the form once: 422 names each question that needs attention; 429 when a link or
    an address tries too often."""
    sub = service.submit_through_link(
        session,
        settings=settings,
        token=token,
        address=client_address(request),
        answers=body.answers,
        contact_at=body.contact_at,
        contact_number=body.contact_number,
    )
    return SubmissionPublic(
        id=sub.id or 0,
        overall=sub.overall,
        dimensions={f: getattr(sub, f) for f in FIELDS[1:-1]},
        script_compliance=sub.script_compliance,
        matched_call=sub.matched_call_id is not None,
    )
