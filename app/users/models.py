from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.dbtypes import enum_type
from app.timeutil import utcnow


class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    agent = "agent"


class Scope(StrEnum):
    """What a credential may do: a role carries a fixed set (app.auth), an API key its own."""

    calls_read = "calls:read"
    calls_write = "calls:write"  # upload recordings and conversations (a recorder's key)
    outcomes_write = "outcomes:write"  # deals and customer references (a CRM's key)
    calls_manage = "calls:manage"
    reviews_write = "reviews:write"
    disputes_write = "disputes:write"
    alerts_read = "alerts:read"
    alerts_manage = "alerts:manage"
    teams_manage = "teams:manage"
    audit_read = "audit:read"
    incentives_read = "incentives:read"
    incentives_team = "incentives:team"
    incentives_lock = "incentives:lock"
    incentives_manage = "incentives:manage"
    users_manage = "users:manage"
    privacy_manage = "privacy:manage"


class Agent(SQLModel, table=True):
    """A person who takes calls, known by the recorder's id for them."""

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=200, unique=True, index=True)
    name: str | None = Field(default=None, max_length=200)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # The login name: an email address, or `admin` for the account made on first start.
    email: str = Field(max_length=320, unique=True, index=True)
    password_hash: str = Field(max_length=400)
    role: Role = Field(sa_type=enum_type(Role))
    agent_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    is_active: bool = True
    # In every token; raised on deactivation, password and role changes, so that every token
    # issued before (browser sessions included) stops working at once.
    token_version: int = 0
    # The IANA zone pages show times in for this user; None: the organisation's (CALLQA_TIME_ZONE).
    time_zone: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    """A machine credential. Only a hash of the secret is kept; the key is shown once."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, index=True)
    prefix: str = Field(max_length=16, unique=True)
    key_hash: str = Field(max_length=64)
    scopes: str = Field(max_length=400)  # space-separated
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class LoginFailure(SQLModel, table=True):
    """A failed login, kept for the lockout per account and the limit per address. The login
    name is stored as typed (lowercased), known or not, so an unknown name is limited exactly
    like a real one and the answers tell nothing about which accounts exist."""

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, index=True)
    address: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, index=True)
