"""Logging in and out, and the landing page that sends each role to its start page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.accounts import service as accounts
from app.auth import SettingsDep, create_token
from app.db import SessionDep
from app.limits import client_address
from app.users.models import Role
from app.users.service import login as login_user
from app.web.deps import MaybePrincipal
from app.web.render import back, render
from app.web.session import Csrf, WebPrincipal, clear_session, set_session

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an open redirect.
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", None, next=_safe_next(next), error=None, email="")


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _csrf: Csrf,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    user = login_user(
        session,
        settings=settings,
        email=email,
        password=password,
        address=client_address(request),
    )
    if user is None:  # the failure is counted: this answer commits its unit of work
        return render(
            request,
            "login.html",
            None,
            code=401,
            next=_safe_next(next),
            error="Incorrect email or password.",
            email=email,
        )
    response = back(_safe_next(next))
    set_session(response, create_token(user, settings), settings)
    return response


@router.post("/logout")
def logout(principal: WebPrincipal, session: SessionDep, _csrf: Csrf) -> Response:
    # The cookie goes, and so does the token in it: a copy of it no longer opens anything.
    accounts.end_sessions(session, accounts.find_user(session, principal.id), by=principal)
    response = back("/login")
    clear_session(response)
    return response


@router.get("/")
def home(principal: MaybePrincipal) -> Response:
    if principal is None:
        return back("/login")
    return back("/me" if principal.role is Role.agent else "/review-queue")
