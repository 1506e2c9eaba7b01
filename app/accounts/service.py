"""User accounts: create, list, change role or agent link, deactivate, reset a password.

Every change is audited here, whoever asks (the API, the Users page, the CLI), so no caller can
forget it.

Every change that takes a right away (deactivation, a new password, a new role) raises the
user's token version, which ends every session and token issued before it at once. The last
active admin cannot be deactivated or demoted: nobody could manage accounts any more.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.audit.service import record
from app.auth import Principal
from app.errors import BadRequest, Conflict, NotFound
from app.timeutil import zone
from app.users.models import Agent, Role, User
from app.users.service import create_user, get_or_create_agent, hash_password

MIN_PASSWORD = 8


@dataclass(frozen=True)
class Account:
    user: User
    agent: str | None  # the linked agent's external id


@dataclass(frozen=True)
class Change:
    """What to change; None leaves a field as it is."""

    active: bool | None = None
    role: Role | None = None
    agent: str | None = None  # external id; agents only
    password: str | None = None
    time_zone: str | None = None  # an IANA name; "" goes back to the organisation's zone


def list_accounts(session: Session) -> list[Account]:
    rows = session.exec(
        select(User, Agent.external_id)
        .join(Agent, col(User.agent_id) == col(Agent.id), isouter=True)
        .order_by(col(User.email))
    ).all()
    return [Account(user, agent) for user, agent in rows]


def find_user(session: Session, who: str | int) -> User:
    """By id, or by login name (case-insensitive)."""
    if isinstance(who, int) or (isinstance(who, str) and who.isdigit()):
        user = session.get(User, int(who))
    else:
        user = session.exec(select(User).where(User.email == who.strip().lower())).first()
    if user is None:
        raise NotFound(f"no user {who!r}")
    return user


def account_of(session: Session, user: User) -> Account:
    agent = session.get(Agent, user.agent_id) if user.agent_id else None
    return Account(user, agent.external_id if agent else None)


def add_user(
    session: Session,
    *,
    by: Principal,
    email: str,
    password: str,
    role: Role,
    agent: str | None,
) -> Account:
    user = create_user(session, email=email, password=password, role=role, agent_external_id=agent)
    _audit(session, by, "user_create", user, f"{user.email} as {user.role.value}")
    return account_of(session, user)


def change_user(session: Session, user: User, change: Change, *, by: Principal) -> Account:
    role = change.role or user.role
    active = user.is_active if change.active is None else change.active
    if user.role is Role.admin and user.is_active and (role is not Role.admin or not active):
        admins = session.exec(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.admin, col(User.is_active).is_(True))
        ).one()
        if admins <= 1:
            raise Conflict(
                f"{user.email} is the last active admin: make another admin first, "
                "or nobody could manage accounts"
            )
    if role is Role.agent:
        external_id = change.agent
        if external_id is not None:
            if not external_id.strip():
                raise BadRequest("the agent id cannot be empty")
            user.agent_id = get_or_create_agent(session, external_id=external_id.strip()).id
        elif user.agent_id is None:
            raise BadRequest("an agent user needs the agent id they are linked to (agent)")
    else:
        if change.agent:
            raise BadRequest("only agent users are linked to an agent id")
        user.agent_id = None
    ends_sessions = (role is not user.role) or (not active and user.is_active)
    if change.password is not None:
        if len(change.password) < MIN_PASSWORD:
            raise BadRequest(f"the password must have at least {MIN_PASSWORD} characters")
        user.password_hash = hash_password(change.password)
        ends_sessions = True
    if change.time_zone is not None:
        user.time_zone = checked_zone(change.time_zone)
    user.role, user.is_active = role, active
    if ends_sessions:
        user.token_version += 1
    session.add(user)
    session.flush()
    _audit(session, by, "user_change", user, describe(change))
    return account_of(session, user)


def _audit(session: Session, by: Principal, action: str, user: User, detail: str) -> None:
    record(
        session, principal=by, action=action, target_type="user", target_id=user.id, detail=detail
    )


def reset_password(
    session: Session, user: User, password: str | None = None, *, by: Principal
) -> str:
    """Set a new password (generated when none is given, and returned to show once)."""
    new = password or secrets.token_urlsafe(12)
    change_user(session, user, Change(password=new), by=by)
    return new


def end_sessions(session: Session, user: User, *, by: Principal) -> None:
    """Log out: every token and browser session of `user` stops working at once (a bearer
    token cannot be recalled one by one, so logging out ends them all)."""
    user.token_version += 1
    session.add(user)
    session.flush()
    _audit(session, by, "logout", user, "every session ended")


def checked_zone(name: str) -> str | None:
    """A user's zone as stored: an IANA name, or None ("") for the organisation's."""
    if not name.strip():
        return None
    try:
        zone(name.strip())
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return name.strip()


def set_own_zone(session: Session, user: User, name: str, *, by: Principal) -> User:
    """A user changes the zone their pages show times in (their own account only)."""
    user.time_zone = checked_zone(name)
    session.add(user)
    session.flush()
    _audit(session, by, "user_change", user, f"time zone {user.time_zone or 'organisation'}")
    return user


def describe(change: Change) -> str:
    """What changed, for the audit log (never the password itself)."""
    parts = []
    if change.active is not None:
        parts.append("activated" if change.active else "deactivated")
    if change.role is not None:
        parts.append(f"role {change.role.value}")
    if change.agent is not None:
        parts.append(f"agent {change.agent}")
    if change.password is not None:
        parts.append("password reset")
    if change.time_zone is not None:
        parts.append(f"time zone {change.time_zone.strip() or 'organisation'}")
    return ", ".join(parts) or "no change"
