"""Who is asking: bearer tokens for people, API keys for machines, and role/scope aliases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session, select

from app.config import Settings
from app.db import ReadSessionDep
from app.errors import Forbidden, Unauthorized
from app.teams.models import TeamLead
from app.users.models import Role, User
from app.users.service import KEY_PREFIX, find_api_key

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" | "api_key"
    id: int
    name: str
    role: Role | None
    agent_id: int | None
    scopes: frozenset[str]
    team_ids: frozenset[int] = frozenset()  # the teams a supervisor leads

    @property
    def user_id(self) -> int | None:
        return self.id if self.kind == "user" else None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    def can(self, scope: str) -> bool:
        return scope in self.scopes


# What each role may do; API keys carry their own scopes.
_ROLE_SCOPES: dict[Role, frozenset[str]] = {
    # incentives:read (every agent's pay line) is for payroll's API key only; people read the
    # lines of the agents they may see through incentives:team.
    Role.admin: frozenset({"calls:read", "calls:write", "calls:manage", "reviews:write",
                           "alerts:read", "alerts:manage", "teams:manage", "audit:read",
                           "incentives:team", "incentives:lock", "incentives:manage"}),
    Role.supervisor: frozenset({"calls:read", "calls:write", "calls:manage", "reviews:write",
                                "alerts:read", "incentives:team", "incentives:lock"}),
    Role.agent: frozenset({"calls:read", "disputes:write"}),
}


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def create_token(user: User, settings: Settings) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": str(user.id),
        "role": user.role.value,
        "iat": now,
        "exp": now + timedelta(minutes=settings.token_minutes),
    }
    return jwt.encode(payload, settings.signing_key, algorithm=_ALGORITHM)


def get_current_principal(
    session: ReadSessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    if not token:
        raise Unauthorized("not authenticated: send Authorization: Bearer <token or API key>")
    if token.startswith(KEY_PREFIX):
        key = find_api_key(session, secret=token)
        if key is None:
            raise Unauthorized("invalid or revoked API key")
        return Principal(
            kind="api_key",
            id=key.id or 0,
            name=key.name,
            role=None,
            agent_id=None,
            scopes=frozenset(key.scopes.split()),
        )
    user = user_from_token(session, settings, token)
    if user is None:
        raise Unauthorized("invalid or expired token")
    return principal_for(session, user)


def user_from_token(session: Session, settings: Settings, token: str) -> User | None:
    try:
        payload = jwt.decode(token, settings.signing_key, algorithms=[_ALGORITHM])
        user = session.get(User, int(payload["sub"]))
    except (jwt.PyJWTError, KeyError, ValueError):
        return None
    if user is None or not user.is_active:
        return None
    return user


def principal_for(session: Session, user: User) -> Principal:
    teams: frozenset[int] = frozenset()
    if user.role is Role.supervisor:
        teams = frozenset(session.exec(select(TeamLead.team_id)
                                       .where(TeamLead.user_id == user.id)).all())
    return Principal(
        kind="user",
        id=user.id or 0,
        name=user.email,
        role=user.role,
        agent_id=user.agent_id,
        scopes=_ROLE_SCOPES[user.role],
        team_ids=teams,
    )


CurrentPrincipal = Annotated[Principal, Depends(get_current_principal)]


def require_scope(scope: str):  # type: ignore[no-untyped-def]
    def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.can(scope):
            raise Forbidden(f"this credential lacks the {scope} permission")
        return principal

    return dependency


CallReader = Annotated[Principal, Depends(require_scope("calls:read"))]
CallWriter = Annotated[Principal, Depends(require_scope("calls:write"))]
CallManager = Annotated[Principal, Depends(require_scope("calls:manage"))]
ReviewWriter = Annotated[Principal, Depends(require_scope("reviews:write"))]
DisputeWriter = Annotated[Principal, Depends(require_scope("disputes:write"))]
AlertReader = Annotated[Principal, Depends(require_scope("alerts:read"))]
AlertManager = Annotated[Principal, Depends(require_scope("alerts:manage"))]
TeamManager = Annotated[Principal, Depends(require_scope("teams:manage"))]
AuditReader = Annotated[Principal, Depends(require_scope("audit:read"))]
PayrollReader = Annotated[Principal, Depends(require_scope("incentives:read"))]
IncentiveTeamReader = Annotated[Principal, Depends(require_scope("incentives:team"))]
IncentiveLocker = Annotated[Principal, Depends(require_scope("incentives:lock"))]
IncentiveManager = Annotated[Principal, Depends(require_scope("incentives:manage"))]
