"""User accounts for admins: create, change role or agent link, deactivate, reset a password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.accounts import service as accounts
from app.db import SessionDep
from app.errors import BadRequest
from app.timeutil import zone_names
from app.users.models import Role
from app.web.deps import PageUserManager
from app.web.render import back, render
from app.web.session import Csrf

router = APIRouter(include_in_schema=False)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise BadRequest(f"unknown role {value!r}: admin, supervisor or agent") from None


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, principal: PageUserManager) -> HTMLResponse:
    return render(
        request,
        "users.html",
        principal,
        accounts=accounts.list_accounts(session),
        roles=list(Role),
        zones=sorted(zone_names()),
        organisation_zone=request.app.state.settings.time_zone,
    )


@router.post("/users", response_class=HTMLResponse)
def users_add(
    session: SessionDep,
    principal: PageUserManager,
    _csrf: Csrf,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form()] = "",
    agent: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    accounts.add_user(
        session,
        by=principal,
        email=email,
        password=password,
        role=_role(role),
        agent=agent.strip() or None,
    )
    return back("/users")


@router.post("/users/{user_id}", response_class=HTMLResponse)
def users_change(
    user_id: int,
    session: SessionDep,
    principal: PageUserManager,
    _csrf: Csrf,
    role: Annotated[str, Form()] = "",
    agent: Annotated[str, Form(max_length=200)] = "",
    active: Annotated[str, Form()] = "",
    time_zone: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    user = accounts.find_user(session, user_id)
    new_role = _role(role) if role else None
    # The row's agent field is only meant for agents: moving one to another role drops it.
    keeps_agent = (new_role or user.role) is Role.agent
    change = accounts.Change(
        role=new_role,
        agent=(agent.strip() or None) if keeps_agent else None,
        active={"yes": True, "no": False}.get(active),
        time_zone=time_zone,
    )
    accounts.change_user(session, user, change, by=principal)
    return back("/users")


@router.post("/users/{user_id}/password", response_class=HTMLResponse)
def users_reset_password(
    request: Request,
    user_id: int,
    session: SessionDep,
    principal: PageUserManager,
    _csrf: Csrf,
) -> HTMLResponse:
    user = accounts.find_user(session, user_id)
    new = accounts.reset_password(session, user, by=principal)
    # Shown once, on this answer only: it is stored nowhere but as a hash.
    return render(
        request,
        "users.html",
        principal,
        accounts=accounts.list_accounts(session),
        roles=list(Role),
        zones=sorted(zone_names()),
        organisation_zone=request.app.state.settings.time_zone,
        new_password=(user.email, new),
    )
