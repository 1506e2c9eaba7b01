"""Pages of the mystery-shopper side: the public form a link opens, and the supervisor's page
to plan visits and read results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from app.auth import Principal, SettingsDep
from app.db import SessionDep, rollback
from app.errors import BadRequest, CallqaError, FormInvalid, Gone
from app.limits import client_address
from app.reviews.effective import FIELDS
from app.scope import visible_agents, visible_teams
from app.shopper import service
from app.shopper.models import ShopperAssignment
from app.timeutil import today
from app.users.models import Agent
from app.web.deps import PageReviewer
from app.web.render import render
from app.web.session import Csrf

router = APIRouter(include_in_schema=False)


class ShopForm(BaseModel):
    """The public form: `q__<question id>` per question (the template's, known only at run
    time, so they arrive as extra fields), and when and on which number the contact was."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str] = Field(init=False)
    contact_at: str = ""
    contact_number: str = ""

    @property
    def values(self) -> dict[str, str]:
        return {
            **(self.model_extra or {}),
            "contact_at": self.contact_at,
            "contact_number": self.contact_number,
        }

    @property
    def answers(self) -> dict[str, str]:
        return {
            k.removeprefix("q__"): v
            for k, v in (self.model_extra or {}).items()
            if k.startswith("q__")
        }


def _form_context(session: Session, assignment: ShopperAssignment) -> dict[str, Any]:
    template = service.parsed(service.get_template(session, assignment.template_id))
    # Not `template`: that is render()'s own argument, the page's file name.
    return {"shop_form": template, "channel": assignment.channel, "notes": assignment.notes}


@router.get("/shop/{token}", response_class=HTMLResponse)
def shop_page(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    try:
        assignment = service.resolve(session, settings, token)
    except Gone as exc:
        return render(request, "shop_closed.html", None, code=410, message=exc.message)
    return render(
        request,
        "shop.html",
        None,
        token=token,
        values={},
        errors={},
        **_form_context(session, assignment),
    )


@router.post("/shop/{token}", response_class=HTMLResponse)
def shop_send(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[ShopForm, Form()],
) -> HTMLResponse:
    values = form.values
    try:
        try:
            contact_at = datetime.fromisoformat(form.contact_at) if form.contact_at else None
        except ValueError:
            raise FormInvalid(
                "1 answer needs attention", {"contact_at": "give the date and time of the contact"}
            ) from None
        sub = service.submit_through_link(
            session,
            settings=settings,
            token=token,
            address=client_address(request),
            answers=form.answers,
            contact_at=contact_at,
            contact_number=form.contact_number or None,
        )
    except Gone as exc:  # the attempt is kept (submit_through_link): the page commits it
        return render(request, "shop_closed.html", None, code=410, message=exc.message)
    except FormInvalid as exc:
        assignment = service.resolve(session, settings, token)
        return render(
            request,
            "shop.html",
            None,
            code=422,
            token=token,
            values=values,
            errors=exc.errors,
            **_form_context(session, assignment),
        )
    return render(request, "shop_thanks.html", None, overall=sub.overall)


@router.get("/shopper", response_class=HTMLResponse)
def shopper_page(
    request: Request, session: SessionDep, principal: PageReviewer, group: str = "agent"
) -> HTMLResponse:
    return _shopper(request, session, principal, group=group, new_link=None)


def _shopper(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    group: str,
    new_link: str | None,
    error: str | None = None,
    code: int = 200,
) -> HTMLResponse:
    assignments = list(
        session.exec(
            service.visible_assignments(principal)
            .order_by(col(ShopperAssignment.id).desc())
            .limit(100)
        )
    )
    agents = list(session.exec(visible_agents(principal).order_by(col(Agent.external_id))))
    names = {a.id: a.name or a.external_id for a in session.exec(select(Agent))}
    if group not in ("agent", "team", "channel"):
        group = "agent"
    zone = request.app.state.settings.zone
    rows = service.report(
        session, principal=principal, group=group, started_from=None, started_to=None, zone=zone
    )
    compared, summary = service.comparison(session, principal=principal)
    return render(
        request,
        "shopper.html",
        principal,
        code=code,
        assignments=assignments,
        agents=agents,
        teams=list(session.exec(visible_teams(principal))),
        names=names,
        status_of=service.status_of,
        channels=service.CHANNELS,
        report=rows,
        group=group,
        compared=compared,
        summary=summary,
        new_link=new_link,
        error=error,
        today=today(zone).isoformat(),
        FIELDS=FIELDS,
    )


@router.post("/shopper/assignments", response_class=HTMLResponse)
def create_assignment(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: PageReviewer,
    _csrf: Csrf,
    target: Annotated[str, Form()] = "",
    due: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "",
    notes: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    try:
        kind, _, value = target.partition(":")
        if kind not in ("agent", "team") or not value:
            raise BadRequest("choose an agent or a team")
        try:
            due_on = date.fromisoformat(due)
        except ValueError:
            raise BadRequest("give the due date") from None
        _, token = service.create_assignment(
            session,
            settings=settings,
            principal=principal,
            spec=service.NewAssignment(
                agent=value if kind == "agent" else None,
                team_id=int(value) if kind == "team" and value.isdigit() else None,
                channel=channel,
                due=due_on,
                notes=notes,
            ),
        )
    except CallqaError as exc:
        rollback(session)  # the page that follows commits: nothing of the refusal with it
        return _shopper(
            request,
            session,
            principal,
            group="agent",
            new_link=None,
            error=exc.message,
            code=exc.status_code,
        )
    return _shopper(
        request,
        session,
        principal,
        group="agent",
        new_link=settings.public_link(service.link_path(token), str(request.base_url)),
    )
