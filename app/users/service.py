"""Users, agents and API keys: creation, password checks, key issue and lookup."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from pwdlib import PasswordHash
from sqlalchemy import and_, text
from sqlmodel import Session, col, delete, select

from app.config import Settings
from app.errors import BadRequest, Conflict, NotFound, TooManyRequests, Unavailable
from app.timeutil import as_utc, utcnow
from app.users.models import Agent, ApiKey, LoginFailure, Role, Scope, User

KEY_PREFIX = "cqk_"
# What a machine may be given: a recorder uploads and reads calls, payroll reads pay lines.
SCOPES = frozenset(
    {Scope.calls_read, Scope.calls_write, Scope.outcomes_write, Scope.incentives_read}
)

_hasher = PasswordHash.recommended()  # argon2id
# Verified against when the user does not exist, so both paths take the same time.
_DUMMY_HASH = _hasher.hash("callqa-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def get_or_create_agent(session: Session, *, external_id: str) -> Agent:
    agent = session.exec(select(Agent).where(Agent.external_id == external_id)).first()
    if agent is None:
        agent = Agent(external_id=external_id)
        session.add(agent)
        session.flush()
    return agent


def create_user(
    session: Session, *, email: str, password: str, role: Role, agent_external_id: str | None
) -> User:
    email = email.strip().lower()
    if len(password) < 8:
        raise BadRequest("the password must have at least 8 characters")
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise Conflict(f"a user {email!r} already exists")
    agent_id = None
    if role is Role.agent:
        if not agent_external_id:
            raise BadRequest("an agent user needs --agent EXTERNAL_ID")
        agent_id = get_or_create_agent(session, external_id=agent_external_id).id
    elif agent_external_id:
        raise BadRequest("only agent users are linked to an agent id")
    user = User(email=email, password_hash=hash_password(password), role=role, agent_id=agent_id)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    with _verifying():
        if user is None:
            _hasher.verify(password, _DUMMY_HASH)
            return None
        if not user.is_active or not _hasher.verify(password, user.password_hash):
            return None
    return user


# argon2 takes about 0.4 s of one core per check, by design: 40 logins at once would hold the
# CPU and the request threads. At most two run at once; a login waits at most VERIFY_WAIT for
# its turn (a shift starting: a few at once) and is then answered 503, so a flood ties up
# only a few threads for a short while.
_VERIFIERS = threading.BoundedSemaphore(2)
VERIFY_WAIT = 2.0


@contextmanager
def _verifying() -> Iterator[None]:
    if not _VERIFIERS.acquire(timeout=VERIFY_WAIT):
        raise Unavailable("too many logins at once: try again in a few seconds")
    try:
        yield
    finally:
        _VERIFIERS.release()


@dataclass(frozen=True)
class LoginLimits:
    max_failures: int  # per account within the window, then locked until the window passes
    per_address: int  # failures from one address within the window
    window: timedelta


def check_login_allowed(session: Session, *, email: str, address: str, limits: LoginLimits) -> None:
    """429 when this account failed too often lately from this address, or from everywhere
    together (ten times the limit: a guesser spread over many addresses), or this address
    failed too often for any names. Checked before any password, so a locked account costs no
    argon2 time. Locking per account *and* address means a stranger's bad guesses do not lock
    the account's owner out from their own desk."""
    name, at = email.strip().lower()[:320], address[:64]
    since = utcnow() - limits.window
    for clause, limit, who in (
        (
            and_(col(LoginFailure.email) == name, col(LoginFailure.address) == at),
            limits.max_failures,
            "this account",
        ),
        (col(LoginFailure.email) == name, limits.max_failures * 10, "this account"),
        (col(LoginFailure.address) == at, limits.per_address, "your address"),
    ):
        times = session.exec(select(LoginFailure.at).where(clause, LoginFailure.at >= since)).all()
        if len(times) >= limit:
            free_at = as_utc(min(times)) + limits.window
            minutes = max(1, math.ceil((free_at - utcnow()).total_seconds() / 60))
            raise TooManyRequests(
                f"too many failed logins for {who}: try again in {minutes} minute(s)",
                retry_after=minutes * 60,
            )


def login(
    session: Session, *, settings: Settings, email: str, password: str, address: str
) -> User | None:
    """The user whose name and password these are, or None; refused (429) while the account or
    the address is locked out. The failure is written in the caller's unit of work, which must
    keep it although the request then fails (app.db.keep_on_error)."""
    limits = LoginLimits(
        max_failures=settings.login_max_failures,
        per_address=settings.login_failures_per_address,
        window=timedelta(minutes=settings.login_lockout_minutes),
    )
    _one_attempt_at_a_time(session, email)
    check_login_allowed(session, email=email, address=address, limits=limits)
    # Failures older than the window count for nothing any more: forgotten, not hoarded.
    session.exec(delete(LoginFailure).where(col(LoginFailure.at) < utcnow() - limits.window))  # type: ignore[call-overload]
    user = authenticate(session, email=email, password=password)
    record_login(session, email=email, address=address, succeeded=user is not None)
    return user


def _one_attempt_at_a_time(session: Session, email: str) -> None:
    """Concurrent guesses at one account would all pass the check before any of their failures
    is written. On PostgreSQL they wait for each other (a lock on the account name, held until
    the unit of work ends); SQLite runs write transactions one at a time already."""
    if session.get_bind().dialect.name != "postgresql":
        return
    name = email.strip().lower()[:320]
    key = int.from_bytes(hashlib.sha256(f"login:{name}".encode()).digest()[:8], signed=True)
    session.connection().execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def record_login(session: Session, *, email: str, address: str, succeeded: bool) -> None:
    """A failure is counted; a success clears the account's count."""
    name = email.strip().lower()[:320]
    if succeeded:
        session.exec(delete(LoginFailure).where(col(LoginFailure.email) == name))  # type: ignore[call-overload]
    else:
        session.add(LoginFailure(email=name, address=address[:64]))
    session.flush()


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str  # shown once, never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(session: Session, *, name: str, scopes: list[str]) -> IssuedKey:
    unknown = sorted(set(scopes) - SCOPES)
    if unknown or not scopes:
        raise BadRequest(
            f"unknown scope(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(sorted(SCOPES))}"
        )
    prefix = secrets.token_hex(4)
    # A 256-bit random secret: a plain SHA-256 of it is safe to store (no dictionary to try).
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name, prefix=prefix, key_hash=_digest(secret), scopes=" ".join(sorted(scopes))
    )
    session.add(key)
    session.flush()
    return IssuedKey(key=key, secret=secret)


def find_api_key(session: Session, *, secret: str) -> ApiKey | None:
    try:
        prefix = secret[len(KEY_PREFIX) :].split("_", 1)[0]
    except IndexError:
        return None
    key = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if key is None or key.revoked_at is not None:
        return None
    return key if hmac.compare_digest(key.key_hash, _digest(secret)) else None


def revoke_api_key(session: Session, *, name_or_prefix: str) -> int:
    keys = session.exec(
        select(ApiKey).where(
            (ApiKey.name == name_or_prefix) | (ApiKey.prefix == name_or_prefix),
            ApiKey.revoked_at.is_(None),  # type: ignore[union-attr]
        )
    ).all()
    if not keys:
        raise NotFound(f"no active API key named {name_or_prefix!r}")
    for key in keys:
        key.revoked_at = utcnow()
        session.add(key)
    return len(keys)


def ensure_admin(session: Session, *, password: str | None) -> str | None:
    """Create the `admin` account on first start. Returns the password if one was generated."""
    if session.exec(select(User).where(User.role == Role.admin)).first() is not None:
        return None
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    session.add(User(email="admin", password_hash=hash_password(password), role=Role.admin))
    session.flush()
    return password if generated else None
