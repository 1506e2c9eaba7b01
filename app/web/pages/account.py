"""Your own account: the time zone your pages show times in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.accounts import service as accounts
from app.auth import SettingsDep
from app.db import SessionDep
from app.timeutil import zone_names
from app.web.render import back, render
from app.web.session import Csrf, WebPrincipal

router = APIRouter(include_in_schema=False)


@router.get("/account", response_class=HTMLResponse)
def account_page(
    request: Request, principal: WebPrincipal, settings: SettingsDep, saved: bool = False
) -> HTMLResponse:
    return render(
        request,
        "account.html",
        principal,
        own_zone=principal.time_zone or "",
        organisation_zone=settings.time_zone,
        zones=sorted(zone_names()),
        saved=saved,
    )


@router.post("/account", response_class=HTMLResponse)
def account_save(
    session: SessionDep,
    principal: WebPrincipal,
    _csrf: Csrf,
    time_zone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    user = accounts.find_user(session, principal.id)
    accounts.set_own_zone(session, user, time_zone, by=principal)
    return back("/account?saved=true")
