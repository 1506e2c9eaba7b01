"""User accounts for admins (API): list, create, change role, agent link, active, password."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.accounts import service as accounts
from app.auth import UserManager
from app.db import SessionDep
from app.users.models import Role

router = APIRouter(prefix="/api/v1/users", tags=["users"])


class UserPublic(BaseModel):
    id: int
    email: str
    role: Role
    agent: str | None = Field(description="the agent id an agent user is linked to")
    active: bool
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
