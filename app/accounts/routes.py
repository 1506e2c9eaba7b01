"""User accounts for admins (API): list, create, change role, agent link, active, password."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.accounts import service as accounts
from app.auth import CurrentPrincipal, SettingsDep, UserManager
from app.auth.routes import Me, me_of
from app.db import SessionDep
from app.errors import BadRequest
from app.users.models import Role

router = APIRouter(prefix="/api/v1/users", tags=["users"])
# Your own account, beside GET /api/v1/auth/me (here, since accounts sits above auth).
me_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class UserPublic(BaseModel):
    id: int
    email: str
    role: Role
    agent: str | None = Field(description="the agent id an agent user is linked to")
    active: bool
    time_zone: str | None = Field(
        description="IANA zone of this user's pages; null: the organisation's"
    )
    created_at: datetime

    @classmethod
    def of(cls, account: accounts.Account) -> UserPublic:
        u = account.user
        return cls(
            id=u.id or 0,
            email=u.email,
            role=u.role,
            agent=account.agent,
            active=u.is_active,
            time_zone=u.time_zone,
            created_at=u.created_at,
        )


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=320, description="login name")
    password: str = Field(min_length=accounts.MIN_PASSWORD, max_length=200)
    role: Role
    agent: str | None = Field(default=None, max_length=200, description="agents only")


class UserUpdate(BaseModel):
    """Only the fields given change. `active: false` deactivates and ends every session;
    so do a new password and a new role."""

    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    role: Role | None = None
    agent: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, min_length=accounts.MIN_PASSWORD, max_length=200)
    time_zone: str | None = Field(
        default=None, max_length=64, description='IANA name; "" for the organisation\'s zone'
    )


@router.get("", response_model=list[UserPublic])
def list_users(session: SessionDep, principal: UserManager) -> list[UserPublic]:
    return [UserPublic.of(a) for a in accounts.list_accounts(session)]


@router.post("", response_model=UserPublic, status_code=201)
def add_user(body: UserCreate, session: SessionDep, principal: UserManager) -> UserPublic:
    return UserPublic.of(accounts.add_user(session, by=principal, **body.model_dump()))


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(
    user_id: int, body: UserUpdate, session: SessionDep, principal: UserManager
) -> UserPublic:
    user = accounts.find_user(session, user_id)
    change = accounts.Change(**body.model_dump())
    return UserPublic.of(accounts.change_user(session, user, change, by=principal))


@me_router.post("/logout", status_code=204)
def logout(principal: CurrentPrincipal, session: SessionDep) -> None:
    """End every token and browser session of yours at once (this token included)."""
    if principal.user_id is None:
        raise BadRequest("an API key is not logged in: revoke it instead")
    accounts.end_sessions(session, accounts.find_user(session, principal.user_id), by=principal)


class MeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time_zone: str = Field(max_length=64, description='IANA name; "" for the organisation\'s zone')


@me_router.patch("/me", response_model=Me)
def update_me(
    body: MeUpdate, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> Me:
    """Change your own time zone (the zone your pages show times in)."""
    if principal.user_id is None:
        raise BadRequest("only a user has a time zone of their own; an API key has none")
    user = accounts.find_user(session, principal.user_id)
    accounts.set_own_zone(session, user, body.time_zone, by=principal)
    return me_of(replace(principal, time_zone=user.time_zone), settings)
