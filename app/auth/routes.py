from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from app.auth import CurrentPrincipal, SettingsDep, create_token
from app.db import SessionDep
from app.errors import Unauthorized
from app.users.service import authenticate

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class Me(BaseModel):
    kind: str
    name: str
    role: str | None
    scopes: list[str]


@router.post("/token", response_model=Token)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    """Exchange a user name (email) and password for a bearer token."""
    user = authenticate(session, email=form.username, password=form.password)
    if user is None:
        # One message for unknown user and wrong password: no account enumeration.
        raise Unauthorized("incorrect user name or password")
    return Token(access_token=create_token(user, settings))


@router.get("/me", response_model=Me)
def me(principal: CurrentPrincipal) -> Me:
    """Who the credential belongs to, and what it may do."""
    return Me(
        kind=principal.kind,
        name=principal.name,
        role=principal.role.value if principal.role else None,
        scopes=sorted(principal.scopes),
    )
