"""Pages of the mystery-shopper side: the public form a link opens, and the supervisor's page
to plan visits and read results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import col, select

from app.auth import SettingsDep
from app.db import SessionDep, rollback
from app.errors import BadRequest, CallqaError, FormInvalid, Gone
from app.reviews.effective import FIELDS
from app.scope import visible_agents
from app.shopper import service
from app.shopper.models import ShopperAssignment
from app.shopper.routes import address, link_path
from app.users.models import Agent
from app.web.routes import _need, _teams_for, render
from app.web.session import Csrf, WebPrincipal

router = APIRouter(include_in_schema=False)


def _form_context(session: SessionDep, assignment: ShopperAssignment) -> dict[str, Any]:
    template = service.parsed(service.get_template(session, assignment.template_id))
    # Not `template`: that is render()'s own argument, the page's file name.
    return {"shop_form": template, "channel": assignment.channel, "notes": assignment.notes}


@router.get("/shop/{token}", response_class=HTMLResponse)
def shop_page(request: Request, token: str, session: SessionDep,
              settings: SettingsDep) -> HTMLResponse:
    try:
        assignment = service.resolve(session, settings, token)
    except Gone as exc:
        return render(request, "shop_closed.html", None, code=410, message=exc.message)
    return render(request, "shop.html", None, token=token, values={}, errors={},
                  **_form_context(session, assignment))


@router.post("/shop/{token}", response_class=HTMLResponse)
async def shop_send(request: Request, token: str, session: SessionDep,
                    settings: SettingsDep) -> HTMLResponse:
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    answers = {k.removeprefix("q__"): v for k, v in values.items() if k.startswith("q__")}
    try:
        try:
            contact_at = (datetime.fromisoformat(values["contact_at"])
                          if values.get("contact_at") else None)
        except ValueError:
            raise FormInvalid("1 answer needs attention",
                              {"contact_at": "give the date and time of the contact"}) from None
        sub = service.submit_through_link(
            session, settings=settings, token=token, address=address(request),
            answers=answers, contact_at=contact_at,
            contact_number=values.get("contact_number") or None)
    except Gone as exc:  # the attempt is kept (submit_through_link): the page commits it
        return render(request, "shop_closed.html", None, code=410, message=exc.message)
    except FormInvalid as exc:
        assignment = service.resolve(session, settings, token)
        return render(request, "shop.html", None, code=422, token=token, values=values,
                      errors=exc.errors, **_form_context(session, assignment))
    return render(request, "shop_thanks.html", None, overall=sub.overall)


@router.get("/shopper", response_class=HTMLResponse)
def shopper_page(request: Request, session: SessionDep,
                 principal: WebPrincipal) -> HTMLResponse:
    _need(principal, "reviews:write")
    return _shopper(request, session, principal, new_link=None)


def _shopper(request: Request, session: SessionDep, principal: WebPrincipal,
             new_link: str | None, error: str | None = None, code: int = 200) -> HTMLResponse:
    assignments = list(session.exec(service.visible_assignments(principal).order_by(
        col(ShopperAssignment.id).desc()).limit(100)))
    agents = list(session.exec(visible_agents(principal).order_by(col(Agent.external_id))))
    names = {a.id: a.name or a.external_id for a in session.exec(select(Agent))}
    group = request.query_params.get("group", "agent")
    if group not in ("agent", "team", "channel"):
        group = "agent"
    rows = service.report(session, principal=principal, group=group, started_from=None,
                          started_to=None)
    compared, summary = service.comparison(session, principal=principal)
    return render(request, "shopper.html", principal, code=code, assignments=assignments,
                  agents=agents, teams=_teams_for(session, principal), names=names,
                  status_of=service.status_of, channels=service.CHANNELS, report=rows,
                  group=group, compared=compared, summary=summary, new_link=new_link,
                  error=error, today=date.today().isoformat(), FIELDS=FIELDS)


@router.post("/shopper/assignments", response_class=HTMLResponse)
async def create_assignment(request: Request, session: SessionDep, settings: SettingsDep,
                            principal: WebPrincipal, _csrf: Csrf) -> HTMLResponse:
    _need(principal, "reviews:write")
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        target = form.get("target", "")
        kind, _, value = target.partition(":")
        if kind not in ("agent", "team") or not value:
            raise BadRequest("choose an agent or a team")
        try:
            due = date.fromisoformat(form.get("due", ""))
        except ValueError:
            raise BadRequest("give the due date") from None
        row, token = service.create_assignment(
            session, settings=settings, principal=principal,
            spec=service.NewAssignment(
                agent=value if kind == "agent" else None,
                team_id=int(value) if kind == "team" and value.isdigit() else None,
                channel=form.get("channel", ""), due=due, notes=form.get("notes")))
    except CallqaError as exc:
        rollback(session)  # the page that follows commits: nothing of the refusal with it
        return _shopper(request, session, principal, new_link=None, error=exc.message,
                        code=exc.status_code)
    del row
    return _shopper(request, session, principal,
                    new_link=str(request.base_url).rstrip("/") + link_path(token))
