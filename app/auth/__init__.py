"""Who is asking: bearer tokens for people, API keys for machines, and role/scope aliases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import jwt
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session, select

from app.config import Settings
from app.db import ReaderDep
from app.errors import Forbidden, Unauthorized
from app.teams.models import TeamLead
from app.users.models import Role, Scope, User
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
    time_zone: str | None = None  # the user's own zone for pages; None: the organisation's

    @property
    def user_id(self) -> int | None:
        return self.id if self.kind == "user" else None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    def can(self, scope: Scope | str) -> bool:
        return scope in self.scopes


# What each role may do; API keys carry their own scopes.
_ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    # incentives:read (every agent's pay line) is for payroll's API key only; people read the
    # lines of the agents they may see through incentives:team.
    Role.admin: frozenset(
        {
            Scope.calls_read,
            Scope.calls_write,
            Scope.outcomes_write,
            Scope.calls_manage,
            Scope.reviews_write,
            Scope.alerts_read,
            Scope.alerts_manage,
            Scope.teams_manage,
            Scope.audit_read,
            Scope.users_manage,
            Scope.privacy_manage,
            Scope.incentives_team,
            Scope.incentives_lock,
            Scope.incentives_manage,
        }
    ),
    Role.supervisor: frozenset(
        {
            Scope.calls_read,
            Scope.calls_write,
            Scope.outcomes_write,
            Scope.calls_manage,
            Scope.reviews_write,
            Scope.alerts_read,
            # Recomputing is theirs too, but not locking: a lock freezes every team's lines
            # for payroll, so it is an admin's decision.
            Scope.incentives_team,
        }
    ),
    Role.agent: frozenset({Scope.calls_read, Scope.disputes_write}),
}


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_zone_dep(request: Request) -> ZoneInfo:
    """The organisation's zone: a time a client sends without an offset is read in it."""
    return get_settings_dep(request).zone


OrgZone = Annotated[ZoneInfo, Depends(get_zone_dep)]


def create_token(user: User, settings: Settings) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": str(user.id),
        "role": user.role.value,
        "ver": user.token_version,
        "iat": now,
        "exp": now + timedelta(minutes=settings.token_minutes),
    }
    return jwt.encode(payload, settings.signing_key, algorithm=_ALGORITHM)


def get_current_principal(
    reader: ReaderDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    if not token:
        raise Unauthorized("not authenticated: send Authorization: Bearer <token or API key>")
    # Its own short read: the connection goes back before the route takes its own.
    with reader() as session:
        return _principal_of(session, settings, token)


def _principal_of(session: Session, settings: Settings, token: str) -> Principal:
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
        payload = jwt.decode(
            token,
            settings.signing_key,
            algorithms=[_ALGORITHM],
            options={"require": ["exp", "sub"]},
        )
        user = session.get(User, int(payload["sub"]))
    except (jwt.PyJWTError, KeyError, ValueError):
        return None
    if user is None or not user.is_active or payload.get("ver", 0) != user.token_version:
        return None
    return user


def principal_for(session: Session, user: User) -> Principal:
    teams: frozenset[int] = frozenset()
    if user.role is Role.supervisor:
        teams = frozenset(
            session.exec(select(TeamLead.team_id).where(TeamLead.user_id == user.id)).all()
        )
    return Principal(
        kind="user",
        id=user.id or 0,
        name=user.email,
        role=user.role,
        agent_id=user.agent_id,
        scopes=_ROLE_SCOPES[user.role],
        team_ids=teams,
        time_zone=user.time_zone,
    )


CurrentPrincipal = Annotated[Principal, Depends(get_current_principal)]


def require_scope(scope: Scope):  # type: ignore[no-untyped-def]
    def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.can(scope):
            raise Forbidden(f"this credential lacks the {scope} permission")
        return principal

    return dependency


CallReader = Annotated[Principal, Depends(require_scope(Scope.calls_read))]
CallWriter = Annotated[Principal, Depends(require_scope(Scope.calls_write))]
OutcomeWriter = Annotated[Principal, Depends(require_scope(Scope.outcomes_write))]
CallManager = Annotated[Principal, Depends(require_scope(Scope.calls_manage))]
ReviewWriter = Annotated[Principal, Depends(require_scope(Scope.reviews_write))]
DisputeWriter = Annotated[Principal, Depends(require_scope(Scope.disputes_write))]
AlertReader = Annotated[Principal, Depends(require_scope(Scope.alerts_read))]
AlertManager = Annotated[Principal, Depends(require_scope(Scope.alerts_manage))]
TeamManager = Annotated[Principal, Depends(require_scope(Scope.teams_manage))]
AuditReader = Annotated[Principal, Depends(require_scope(Scope.audit_read))]
UserManager = Annotated[Principal, Depends(require_scope(Scope.users_manage))]
PrivacyManager = Annotated[Principal, Depends(require_scope(Scope.privacy_manage))]
PayrollReader = Annotated[Principal, Depends(require_scope(Scope.incentives_read))]
IncentiveTeamReader = Annotated[Principal, Depends(require_scope(Scope.incentives_team))]
IncentiveLocker = Annotated[Principal, Depends(require_scope(Scope.incentives_lock))]
IncentiveManager = Annotated[Principal, Depends(require_scope(Scope.incentives_manage))]
