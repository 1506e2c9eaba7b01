"""Mystery-shopper assignments, one-time signed links, submissions and their reports.

A link is `<assignment id>.<secret>.<signature>`: the signature (HMAC with the signing key)
rejects a forged or altered link before the database is asked; the secret's hash must match the
assignment's, so a link can be replaced; used or expired links answer 410. The link is not a
credential: it reaches its own form and nothing else. Never commits; a failed submission keeps
its attempt (see `submit_through_link`)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.auth import Principal
from app.calls.models import Call
from app.config import Settings
from app.db import keep_on_error, rollback
from app.errors import BadRequest, CallqaError, FormInvalid, Gone, NotFound, TooManyRequests
from app.reviews.effective import FIELDS, Scored, scored_calls
from app.scope import agent_filter, owned, owner_of_next_version, visible_agents
from app.shopper.models import (
    ShopperAssignment,
    ShopperAttempt,
    ShopperSubmission,
    ShopperTemplate,
)
from app.teams.models import Team
from app.timeutil import as_utc, day_end, from_local, month_of, today, utcnow
from app.users.models import Agent, Role
from app.versioned import add_version, latest_version
from qa.types import DIMENSIONS
from scorecards import rollup
from scorecards import shopper as forms
from scorecards.rollup import Estimate

CHANNELS = ("phone", "email", "chat", "store")
DEFAULT_NAME = "default"


# ---- templates ------------------------------------------------------------------------------


def create_template(
    session: Session, *, principal: Principal, definition: str, team_id: int | None = None
) -> ShopperTemplate:
    """Store the next version of the form named inside `definition`. Like scorecards, a form is
    global (admins only; the built-in `default` is) or a team's (its supervisors)."""
    try:
        parsed = forms.parse(definition)
    except forms.TemplateInvalid as exc:
        raise BadRequest(f"form template invalid: {exc}") from None
    owner = owner_of_next_version(
        session, principal, ShopperTemplate, name=parsed.name, team_id=team_id, what="form"
    )
    row = add_version(
        session,
        ShopperTemplate,
        name=parsed.name,
        definition=definition,
        created_by=principal.name,
        team_id=owner,
    )
    audit.record(
        session,
        principal=principal,
        action="shopper_form",
        target_type="shopper_template",
        target_id=row.id,
        detail=f"{row.name} v{row.version}" + (f" (team {owner})" if owner else " (global)"),
    )
    return row


def current_template(session: Session, *, name: str = DEFAULT_NAME) -> ShopperTemplate:
    """The newest version of the form `name` (the built-in one is version 1 of `default`,
    stored by a migration)."""
    row = latest_version(session, ShopperTemplate, name=name)
    if row is None:
        raise NotFound(
            f"form template {name!r} not found"
            + (
                " (the built-in form is stored by the migrations: run `callqa migrate`)"
                if name == DEFAULT_NAME
                else ""
            )
        )
    return row


def list_templates(session: Session, principal: Principal) -> list[ShopperTemplate]:
    """The forms one may use: the global ones and one's teams'."""
    query = select(ShopperTemplate).order_by(
        col(ShopperTemplate.name), col(ShopperTemplate.version)
    )
    return list(session.exec(owned(query, principal, ShopperTemplate.team_id)))


def get_template(session: Session, template_id: int) -> ShopperTemplate:
    row = session.get(ShopperTemplate, template_id)
    if row is None:
        raise NotFound(f"form template {template_id} not found")
    return row


def parsed(row: ShopperTemplate) -> forms.Template:
    return forms.parse(row.definition)


# ---- links ----------------------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _signature(settings: Settings, assignment_id: int, secret: str) -> str:
    mac = hmac.new(
        settings.signing_key.encode(), f"shopper:{assignment_id}.{secret}".encode(), hashlib.sha256
    )
    return mac.hexdigest()[:32]


def make_link(settings: Settings, assignment: ShopperAssignment) -> str:
    """A new secret for the assignment; the returned token is shown once."""
    secret = secrets.token_urlsafe(24)
    assignment.secret_hash = _digest(secret)
    return f"{assignment.id}.{secret}.{_signature(settings, assignment.id or 0, secret)}"


def resolve(session: Session, settings: Settings, token: str) -> ShopperAssignment:
    """The assignment a link opens; 404 for anything forged, 410 once used or expired."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        raise NotFound("this link is not valid")
    assignment_id, secret, signature = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(_signature(settings, assignment_id, secret), signature):
        raise NotFound("this link is not valid")
    assignment = session.get(ShopperAssignment, assignment_id)
    if assignment is None or not hmac.compare_digest(assignment.secret_hash, _digest(secret)):
        raise NotFound("this link is not valid")
    if assignment.used_at is not None:
        raise Gone("this link has already been used: the form was sent")
    if as_utc(assignment.expires_at) <= utcnow():
        raise Gone("this link has expired")
    return assignment


# ---- assignments ----------------------------------------------------------------------------


@dataclass
class NewAssignment:
    agent: str | None
    team_id: int | None
    channel: str
    due: date
    notes: str | None = None
    template_id: int | None = None


def create_assignment(
    session: Session, *, settings: Settings, principal: Principal, spec: NewAssignment
) -> tuple[ShopperAssignment, str]:
    if (spec.agent is None) == (spec.team_id is None):
        raise BadRequest("name either an agent or a team")
    if spec.channel not in CHANNELS:
        raise BadRequest(f"channel must be one of {', '.join(CHANNELS)}")
    if spec.due < today(settings.zone):  # the organisation's today
        raise BadRequest("the due date is in the past")
    agent_id = team_id = None
    if spec.agent is not None:
        agent = session.exec(
            visible_agents(principal).where(Agent.external_id == spec.agent)
        ).first()
        if agent is None:
            raise NotFound(f"agent {spec.agent!r} not found")
        agent_id, visit_team = agent.id, agent.team_id
    else:
        team = session.get(Team, spec.team_id)
        if team is None or (
            principal.role is Role.supervisor and team.id not in principal.team_ids
        ):
            raise NotFound(f"team {spec.team_id} not found")
        team_id = visit_team = team.id
    template = (
        get_template(session, spec.template_id) if spec.template_id else current_template(session)
    )
    # A team's form is for that team's visits only.
    if template.team_id is not None and template.team_id != visit_team:
        raise NotFound(f"form template {template.id} not found")
    due_at = day_end(spec.due, settings.zone)  # the due day ends at the center's midnight
    row = ShopperAssignment(
        template_id=template.id or 0,
        agent_id=agent_id,
        team_id=team_id,
        channel=spec.channel,
        due_at=due_at,
        expires_at=due_at + timedelta(days=settings.shopper_grace_days),
        notes=(spec.notes or "").strip() or None,
        secret_hash="",
        created_by=principal.id,
    )
    session.add(row)
    session.flush()
    token = make_link(settings, row)
    session.add(row)
    session.flush()
    return row, token


def visible_assignments(principal: Principal) -> Any:
    query = select(ShopperAssignment)
    if principal.role is Role.supervisor:
        team_agents = select(Agent.id).where(col(Agent.team_id).in_(principal.team_ids or {-1}))
        query = query.where(
            col(ShopperAssignment.agent_id).in_(team_agents)
            | col(ShopperAssignment.team_id).in_(principal.team_ids or {-1})
        )
    elif principal.role is Role.agent:
        query = query.where(ShopperAssignment.id == -1)  # agents do not see planned visits
    return query


def get_assignment(
    session: Session, *, principal: Principal, assignment_id: int
) -> ShopperAssignment:
    row = session.exec(
        visible_assignments(principal).where(ShopperAssignment.id == assignment_id)
    ).first()
    if row is None:
        raise NotFound(f"assignment {assignment_id} not found")
    return row


def renew_link(session: Session, *, settings: Settings, assignment: ShopperAssignment) -> str:
    if assignment.used_at is not None:
        raise BadRequest("this assignment was completed; its link cannot be renewed")
    token = make_link(settings, assignment)
    session.add(assignment)
    session.flush()
    return token


def status_of(a: ShopperAssignment) -> str:
    if a.used_at is not None:
        return "done"
    return "expired" if as_utc(a.expires_at) <= utcnow() else "waiting"


# ---- submissions ----------------------------------------------------------------------------


def check_rate(
    session: Session, *, settings: Settings, assignment_id: int | None, address: str
) -> None:
    """Refuse when the link or the address tried too often this hour; else count this
    attempt."""
    since = utcnow() - timedelta(hours=1)
    by_link = session.exec(
        select(func.count())
        .select_from(ShopperAttempt)
        .where(ShopperAttempt.assignment_id == assignment_id, ShopperAttempt.at >= since)
    ).one()
    by_address = session.exec(
        select(func.count())
        .select_from(ShopperAttempt)
        .where(ShopperAttempt.address == address, ShopperAttempt.at >= since)
    ).one()
    if (
        assignment_id is not None and by_link >= settings.shopper_attempts_per_link
    ) or by_address >= settings.shopper_attempts_per_address:
        raise TooManyRequests("too many attempts: try again in an hour")
    count_attempt(session, assignment_id=assignment_id, address=address)


def count_attempt(session: Session, *, assignment_id: int | None, address: str) -> None:
    session.add(ShopperAttempt(assignment_id=assignment_id, address=address[:64]))
    session.flush()


def submit_through_link(
    session: Session,
    *,
    settings: Settings,
    token: str,
    address: str,
    answers: dict[str, Any],
    contact_at: datetime | None,
    contact_number: str | None,
) -> ShopperSubmission:
    """Send a form through its link (the API and the page). Every attempt counts against the
    rate limit, a failed one too, so that a flood of invalid submissions is limited as well: on
    failure what the submission did is rolled back and only the attempt is kept, although the
    request then fails."""
    try:
        assignment = resolve(session, settings, token)
    except CallqaError:
        check_rate(session, settings=settings, assignment_id=None, address=address)
        keep_on_error(session)
        raise
    assignment_id = assignment.id
    check_rate(session, settings=settings, assignment_id=assignment_id, address=address)
    try:
        return submit(
            session,
            settings=settings,
            assignment=assignment,
            answers=answers,
            # A shopper writes down the center's wall-clock time, not UTC.
            contact_at=from_local(contact_at, settings.zone) if contact_at else None,
            contact_number=contact_number,
        )
    except CallqaError:
        rollback(session)
        count_attempt(session, assignment_id=assignment_id, address=address)
        keep_on_error(session)
        raise


def submit(
    session: Session,
    *,
    settings: Settings,
    assignment: ShopperAssignment,
    answers: dict[str, Any],
    contact_at: datetime | None,
    contact_number: str | None,
) -> ShopperSubmission:
    template = parsed(get_template(session, assignment.template_id))
    clean, errors = forms.validate(template, answers)
    if contact_number is not None and len(contact_number.strip()) > 40:
        errors["contact_number"] = "at most 40 characters"
    if contact_at is not None and as_utc(contact_at) > utcnow() + timedelta(minutes=5):
        errors["contact_at"] = "the contact cannot be in the future"
    if errors:
        raise FormInvalid(f"{len(errors)} answer(s) need attention", errors)
    result = forms.score(template, clean)
    match = _match_call(
        session,
        settings=settings,
        assignment=assignment,
        contact_at=contact_at,
        contact_number=contact_number,
    )
    row = ShopperSubmission(
        assignment_id=assignment.id or 0,
        agent_id=assignment.agent_id or (match.agent_id if match else None),
        team_id=assignment.team_id,
        channel=assignment.channel,
        answers=clean,
        items=result.items,
        overall=result.overall,
        script_compliance=result.script_compliance,
        contact_at=as_utc(contact_at) if contact_at else None,
        contact_number=(contact_number or "").strip() or None,
        matched_call_id=match.id if match else None,
    )
    for d in DIMENSIONS:
        setattr(row, d, result.dimensions[d])
    assignment.used_at = utcnow()
    session.add(assignment)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Gone("this link has already been used: the form was sent") from None
    session.flush()
    return row


def _match_call(
    session: Session,
    *,
    settings: Settings,
    assignment: ShopperAssignment,
    contact_at: datetime | None,
    contact_number: str | None,
) -> Call | None:
    """The recording of the shopper's contact: the assigned agent's (or team's) call that
    started closest to the stated time, within CALLQA_SHOPPER_MATCH_MINUTES; a call whose
    customer reference is the stated number wins."""
    if contact_at is None:
        return None
    at = as_utc(contact_at)
    window = timedelta(minutes=settings.shopper_match_minutes)
    query = select(Call).where(Call.started_at >= at - window, Call.started_at <= at + window)
    if assignment.agent_id is not None:
        query = query.where(Call.agent_id == assignment.agent_id)
    else:
        query = query.where(
            col(Call.agent_id).in_(select(Agent.id).where(Agent.team_id == assignment.team_id))
        )
    candidates = list(session.exec(query))
    if not candidates:
        return None
    number = (contact_number or "").strip()

    def rank(c: Call) -> tuple[int, float]:
        return (
            0 if number and c.customer_ref == number else 1,
            abs((as_utc(c.started_at) - at).total_seconds()),
        )

    return min(candidates, key=rank)


# ---- reports --------------------------------------------------------------------------------


def visible_submissions(principal: Principal) -> Any:
    query = select(ShopperSubmission)
    clause = agent_filter(principal, ShopperSubmission.agent_id)
    if clause is None:
        return query
    if principal.role is Role.supervisor:
        return query.where(clause | col(ShopperSubmission.team_id).in_(principal.team_ids or {-1}))
    return query.where(clause)


@dataclass
class ReportRow:
    group: str
    period: str
    visits: int
    overall: Estimate
    dimensions: dict[str, float | None]


def report(
    session: Session,
    *,
    principal: Principal,
    group: str,
    started_from: datetime | None,
    started_to: datetime | None,
    zone: tzinfo,
) -> list[ReportRow]:
    """Shopper results per agent, team or channel, per month (the organisation's months)."""
    if group not in ("agent", "team", "channel"):
        raise BadRequest("group by agent, team or channel")
    query = visible_submissions(principal)
    if started_from:
        query = query.where(ShopperSubmission.submitted_at >= as_utc(started_from))
    if started_to:
        query = query.where(ShopperSubmission.submitted_at < as_utc(started_to))
    rows = list(session.exec(query))
    agents = {a.id: a for a in session.exec(select(Agent))}
    teams = {t.id: t.name for t in session.exec(select(Team))}
    groups: dict[tuple[str, str], list[ShopperSubmission]] = {}
    for s in rows:
        agent = agents.get(s.agent_id) if s.agent_id else None
        if group == "agent":
            key = agent.external_id if agent else "(unmatched)"
        elif group == "team":
            team_id = s.team_id or (agent.team_id if agent else None)
            key = teams.get(team_id, "(no team)") if team_id else "(no team)"
        else:
            key = s.channel
        groups.setdefault((key, month_of(s.submitted_at, zone)), []).append(s)
    out = [
        ReportRow(
            group=k,
            period=p,
            visits=len(v),
            overall=rollup.estimate(x.overall for x in v),
            dimensions={f: rollup.estimate(getattr(x, f) for x in v).mean for f in FIELDS[1:]},
        )
        for (k, p), v in groups.items()
    ]
    return sorted(out, key=lambda r: (r.group, r.period))


@dataclass
class Comparison:
    submission_id: int
    call_id: int
    agent: str | None
    submitted_at: datetime
    shopper: dict[str, float | None]
    machine: dict[str, float | None]
    difference: dict[str, float | None]  # shopper - machine


def comparison(
    session: Session, *, principal: Principal
) -> tuple[list[Comparison], dict[str, Estimate]]:
    """Visits matched to a recording: shopper vs the call's score per dimension, and the mean
    difference per dimension with the number of visits behind it."""
    subs = list(
        session.exec(
            visible_submissions(principal).where(
                col(ShopperSubmission.matched_call_id).is_not(None)
            )
        )
    )
    calls = (
        {
            s.call.id: s
            for s in scored_calls(
                session, principal=None, call_ids=[x.matched_call_id or 0 for x in subs]
            )
        }
        if subs
        else {}
    )
    agents = {a.id: a.external_id for a in session.exec(select(Agent))}
    rows = []
    for sub in subs:
        scored: Scored | None = calls.get(sub.matched_call_id)
        if scored is None:
            continue
        shop = {f: getattr(sub, f) for f in FIELDS}
        machine = {f: scored.value(f) for f in FIELDS}
        diff = {
            f: None if shop[f] is None or machine[f] is None else round(shop[f] - machine[f], 1)
            for f in FIELDS
        }
        rows.append(
            Comparison(
                submission_id=sub.id or 0,
                call_id=sub.matched_call_id or 0,
                agent=agents.get(sub.agent_id),
                submitted_at=sub.submitted_at,
                shopper=shop,
                machine=machine,
                difference=diff,
            )
        )
    summary = {
        f: rollup.estimate([r.difference[f] for r in rows], bounds=(-100, 100)) for f in FIELDS
    }
    return rows, summary


# ---- an agent's sources ---------------------------------------------------------------------


@dataclass
class Source:
    name: str  # automatic | review | shopper
    weight: float
    overall: Estimate
    dimensions: dict[str, float | None]


def sources(
    session: Session,
    *,
    settings: Settings,
    agent_id: int,
    calls: list[Scored],
    started_from: datetime | None,
    started_to: datetime | None,
) -> tuple[list[Source], float | None]:
    """The agent's scores by source, and the overall blended: each source's mean weighted by
    its CALLQA_SOURCE_WEIGHTS weight times the number of calls or visits behind it."""
    query = select(ShopperSubmission).where(ShopperSubmission.agent_id == agent_id)
    if started_from:
        query = query.where(ShopperSubmission.submitted_at >= as_utc(started_from))
    if started_to:
        query = query.where(ShopperSubmission.submitted_at < as_utc(started_to))
    visits = list(session.exec(query))
    groups: dict[str, list[Any]] = {
        "automatic": [c for c in calls if not c.reviewed],
        "review": [c for c in calls if c.reviewed],
        "shopper": visits,
    }

    def value(item: Any, f: str) -> float | None:
        return item.value(f) if isinstance(item, Scored) else getattr(item, f)

    out = []
    for name, items in groups.items():
        out.append(
            Source(
                name=name,
                weight=float(settings.source_weights.get(name, 0.0)),
                overall=rollup.estimate(value(i, "overall") for i in items),
                dimensions={
                    f: rollup.estimate(value(i, f) for i in items).mean for f in FIELDS[1:]
                },
            )
        )
    # Each source counts by its weight times the calls (or visits) behind it: one shopper
    # visit does not weigh as much as two hundred scored calls.
    parts = [
        (s.weight * s.overall.n, s.overall.mean)
        for s in out
        if s.overall.mean is not None and s.weight
    ]
    total = sum(w for w, _ in parts)
    blended = round(sum(w * m for w, m in parts) / total, 1) if total else None
    return out, blended


def visits_of(session: Session, *, agent_id: int) -> list[ShopperSubmission]:
    return list(
        session.exec(
            select(ShopperSubmission)
            .where(ShopperSubmission.agent_id == agent_id)
            .order_by(col(ShopperSubmission.submitted_at).desc())
        )
    )


def link_path(token: str) -> str:
    """Where a visit's one-time link points (the public form page)."""
    return f"/shop/{token}"
