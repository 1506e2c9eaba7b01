from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from app.auth import CurrentPrincipal, Principal, SettingsDep, create_token
from app.config import Settings
from app.db import SessionDep, keep_on_error
from app.errors import Unauthorized
from app.limits import client_address
from app.users import service as users

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class Me(BaseModel):
    kind: str
    name: str
    role: str | None
    scopes: list[str]
    time_zone: str = Field(
        description="the zone pages show times in: the user's own, or else the organisation's"
    )
    team_ids: list[int] = Field(
        default_factory=list,
        description="the teams a supervisor leads: the team_id of their scorecards, choices "
        "and shopper forms",
    )


@router.post("/token", response_model=Token)
def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    """Exchange a user name (email) and password for a bearer token. After
    CALLQA_LOGIN_MAX_FAILURES failures an account answers 429 until the lockout has passed."""
    user = users.login(
        session,
        settings=settings,
        email=form.username,
        password=form.password,
        address=client_address(request),
    )
    if user is None:
        keep_on_error(session)  # the failure counts although the answer is 401
        # One message for unknown user and wrong password: no account enumeration.
        raise Unauthorized("incorrect user name or password")
    return Token(access_token=create_token(user, settings))


@router.get("/me", response_model=Me)
def me(principal: CurrentPrincipal, settings: SettingsDep) -> Me:
    """Who the credential belongs to, and what it may do."""
    return me_of(principal, settings)


def me_of(principal: Principal, settings: Settings) -> Me:
    return Me(
        kind=principal.kind,
        name=principal.name,
        role=principal.role.value if principal.role else None,
        scopes=sorted(principal.scopes),
        time_zone=principal.time_zone or settings.time_zone,
        team_ids=sorted(principal.team_ids),
    )
