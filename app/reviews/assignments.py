"""Review assignments: who is to review which call by when, handed out by a person or spread
over a team's reviewers by auto-assignment, and each reviewer's own list ("my reviews")."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import and_, func, not_, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.auth import Principal
from app.calls.models import Call
from app.errors import BadRequest, Conflict, NotFound
from app.reviews.effective import latest_scores, review_queue
from app.reviews.models import AssignmentStatus, ReviewAssignment
from app.reviews.service import can_see_call, machine_score
from app.scope import agent_filter, visible_call
from app.scorecards.models import CallScore
from app.teams.models import TeamLead
from app.timeutil import as_utc, utcnow
from app.users.models import Agent, Role, User


class AssignmentItem(BaseModel):
    id: int
    call_id: int
    agent: str | None
    started_at: datetime
    duration_seconds: float | None
    overall: float | None
    auto_fail: bool
    reason: str | None
    assignee: str
    assigned_by: str | None
    auto: bool
    due_at: datetime
    status: AssignmentStatus
    overdue: bool
    review_id: int | None
    done_at: datetime | None


@dataclass
class Spread:
    """What one auto-assignment did."""

    assigned: int = 0
    per_reviewer: Counter[str] = field(default_factory=Counter)
    no_reviewer: list[int] = field(default_factory=list)  # calls whose team has no reviewer


def _reviewer(session: Session, name: str, call: Call) -> User:
    """The account `name` (login name or e-mail), if it may review this call."""
    user = session.exec(select(User).where(User.email == name.strip().lower())).first()
    if user is None or not user.is_active:
        raise BadRequest(f"no active user {name!r}")
    if user.role is Role.agent:
        raise BadRequest(f"{user.email} is an agent: only supervisors and admins review calls")
    # An assignment must not open a call to someone outside its scope.
    if not can_see_call(session, user, call):
        raise BadRequest(f"{user.email} does not lead this call's team")
    return user


def _due(due_at: datetime | None, default_hours: int) -> datetime:
    if due_at is None:
        return utcnow() + timedelta(hours=default_hours)
    due = as_utc(due_at)
    if due <= utcnow():
        raise BadRequest("due_at is in the past: give a time still to come")
    return due


def assign(
    session: Session,
    *,
    principal: Principal,
    call_id: int,
    assignee: str,
    due_at: datetime | None,
    default_hours: int,
    below: float,
) -> ReviewAssignment:
    """Give the call to `assignee` to review by `due_at`; a call already assigned is handed
    over (and opened again if its review was done)."""
    call = visible_call(session, principal, call_id)
    score = machine_score(session, call)  # nothing to review before a score
    user = _reviewer(session, assignee, call)
    row = session.exec(select(ReviewAssignment).where(ReviewAssignment.call_id == call.id)).first()
    if row is None:
        row = ReviewAssignment(call_id=call.id or 0, assignee_id=user.id or 0, due_at=utcnow())
    row.assignee_id = user.id or 0
    row.assigned_by = principal.user_id
    row.auto = False
    row.due_at = _due(due_at, default_hours)
    row.reason = (
        "auto-fail"
        if score.auto_fail
        else f"score {score.overall:.0f} under {below:.0f}"
        if score.overall is not None and score.overall < below
        else f"picked by {principal.name}"
    )
    row.status, row.review_id, row.done_at = AssignmentStatus.open, None, None
    if not _saved(session, row):
        raise Conflict(f"call {call.id} was assigned by someone else meanwhile: reload and retry")
    return row


def _saved(session: Session, row: ReviewAssignment) -> bool:
    """Write the row; False when another request created the call's assignment meanwhile (the
    unique call_id), leaving the rest of the unit of work as it was."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def visible_assignment(
    session: Session, *, principal: Principal, assignment_id: int
) -> ReviewAssignment:
    row = session.get(ReviewAssignment, assignment_id)
    if row is None:
        raise NotFound(f"no assignment {assignment_id}")
    visible_call(session, principal, row.call_id)  # another team's: 404 as if it did not exist
    return row


def unassign(session: Session, *, principal: Principal, assignment_id: int) -> None:
    session.delete(visible_assignment(session, principal=principal, assignment_id=assignment_id))
    session.flush()


def _team_reviewers(session: Session, team_ids: set[int]) -> dict[int, list[User]]:
    """Each team's active supervisors, by login name (a stable order for ties)."""
    rows = session.exec(
        select(TeamLead.team_id, User)
        .join(User, col(User.id) == TeamLead.user_id)
        .where(col(TeamLead.team_id).in_(team_ids), col(User.is_active), User.role != Role.agent)
        .order_by(col(User.email))
    )
    out: dict[int, list[User]] = {}
    for team_id, user in rows:
        out.setdefault(team_id, []).append(user)
    return out


def _open_load(session: Session) -> Counter[int]:
    rows = session.exec(
        select(ReviewAssignment.assignee_id, func.count())
        .where(ReviewAssignment.status == AssignmentStatus.open)
        .group_by(col(ReviewAssignment.assignee_id))
    )
    return Counter({user_id: n for user_id, n in rows})


def auto_assign(
    session: Session,
    *,
    principal: Principal,
    share: float,
    below: float,
    due_at: datetime | None,
    default_hours: int,
    team_id: int | None = None,
) -> Spread:
    """Spread the unassigned calls of the review queue (in one's scope, or one team's) over
    the supervisors who lead each call's team: each call to whoever has the fewest open
    assignments then, so a reviewer with a backlog gets fewer new ones."""
    due = _due(due_at, default_hours)
    queue = review_queue(session, principal=principal, share=share, below=below, limit=None)
    existing = {
        a.call_id: (a, active)
        for a, active in session.exec(
            select(ReviewAssignment, User.is_active)
            .join(User, col(User.id) == ReviewAssignment.assignee_id)
            .where(col(ReviewAssignment.call_id).in_([c.id for c, _, _ in queue]))
        )
    }
    # A call held by someone since deactivated is free again: no one else would review it.
    picked = [
        (call, why)
        for call, _score, why in queue
        if call.id not in existing or not existing[call.id][1]
    ]
    teams = {
        agent_id: team
        for agent_id, team in session.exec(
            select(Agent.id, Agent.team_id).where(
                col(Agent.id).in_({c.agent_id for c, _ in picked})
            )
        )
    }
    if team_id is not None:
        picked = [(c, why) for c, why in picked if teams.get(c.agent_id) == team_id]
    reviewers = _team_reviewers(session, {t for t in teams.values() if t is not None})
    load = _open_load(session)
    spread = Spread()
    for call, why in picked:
        candidates = reviewers.get(teams.get(call.agent_id) or -1, [])
        if not candidates:
            spread.no_reviewer.append(call.id or 0)
            continue
        # Fewest open, then fewest from this run (taking turns), then a stable order.
        user = min(
            candidates,
            key=lambda u: (load[u.id or 0], spread.per_reviewer[u.email], u.email),
        )
        row = existing[call.id][0] if call.id in existing else None
        row = row or ReviewAssignment(call_id=call.id or 0, assignee_id=0, due_at=due)
        row.assignee_id, row.assigned_by, row.auto = user.id or 0, principal.user_id, True
        row.reason, row.due_at = why, due
        row.status, row.review_id, row.done_at = AssignmentStatus.open, None, None
        if not _saved(session, row):
            continue  # another auto-assignment took it at the same moment: it has a reviewer
        load[user.id or 0] += 1
        spread.assigned += 1
        spread.per_reviewer[user.email] += 1
    session.flush()
    return spread


def list_assignments(
    session: Session,
    *,
    principal: Principal,
    assignee: str | None = None,
    status: AssignmentStatus | None = None,
    overdue: bool | None = None,
    ids: list[int] | None = None,
    newest_done_first: bool = False,
    limit: int = 500,
) -> list[AssignmentItem]:
    """Assignments on the calls one may see: open ones first by due time, then done ones (or,
    with `newest_done_first`, by when they were done). `assignee`: `me` or a login name."""
    now = utcnow()
    ls = latest_scores()
    query = (
        select(ReviewAssignment, Call, CallScore.overall, CallScore.auto_fail)
        .join(Call, col(Call.id) == ReviewAssignment.call_id)
        .outerjoin(ls, ls.c.call_id == Call.id)
        .outerjoin(CallScore, col(CallScore.id) == ls.c.score_id)
    )
    if (clause := agent_filter(principal, Call.agent_id)) is not None:
        query = query.where(clause)
    if ids is not None:
        query = query.where(col(ReviewAssignment.id).in_(ids))
    if assignee == "me":
        query = query.where(ReviewAssignment.assignee_id == (principal.user_id or -1))
    elif assignee:
        named = select(User.id).where(User.email == assignee.strip().lower())
        query = query.where(col(ReviewAssignment.assignee_id).in_(named))
    if status is not None:
        query = query.where(ReviewAssignment.status == status)
    if overdue is not None:
        late = and_(
            col(ReviewAssignment.status) == AssignmentStatus.open,
            col(ReviewAssignment.due_at) < now,
        )
        query = query.where(late if overdue else not_(late))
    order = (
        (col(ReviewAssignment.done_at).desc(), col(ReviewAssignment.id).desc())
        if newest_done_first
        else (
            col(ReviewAssignment.status).desc(),  # "open" sorts after "done": open first
            col(ReviewAssignment.due_at),
            col(ReviewAssignment.id),
        )
    )
    rows = list(session.exec(query.order_by(*order).limit(limit)))
    people = {a.assignee_id for a, *_ in rows} | {a.assigned_by for a, *_ in rows}
    users = {
        user_id: email
        for user_id, email in session.exec(
            select(User.id, User.email).where(col(User.id).in_(people))
        )
    }
    agents = {
        agent_id: name
        for agent_id, name in session.exec(
            select(Agent.id, Agent.external_id).where(
                col(Agent.id).in_({c.agent_id for _, c, *_ in rows})
            )
        )
    }
    return [
        AssignmentItem(
            id=a.id or 0,
            call_id=c.id or 0,
            agent=agents.get(c.agent_id),
            started_at=c.started_at,
            duration_seconds=c.duration_seconds,
            overall=overall,
            auto_fail=bool(auto_fail),
            reason=a.reason,
            assignee=users.get(a.assignee_id, ""),
            assigned_by=users.get(a.assigned_by) if a.assigned_by else None,
            auto=a.auto,
            due_at=a.due_at,
            status=a.status,
            overdue=a.status is AssignmentStatus.open and as_utc(a.due_at) < now,
            review_id=a.review_id,
            done_at=a.done_at,
        )
        for a, c, overall, auto_fail in rows
    ]


def open_count(session: Session, *, user_id: int) -> int:
    return session.exec(
        select(func.count()).where(
            ReviewAssignment.assignee_id == user_id,
            ReviewAssignment.status == AssignmentStatus.open,
        )
    ).one()


def reviewers(session: Session, *, principal: Principal) -> list[str]:
    """Whom one may hand a call to on the pages: the active supervisors of the teams one sees,
    and the admins (assign() still checks each call's team)."""
    leads = select(TeamLead.user_id)
    if principal.role is Role.supervisor:
        leads = leads.where(col(TeamLead.team_id).in_(principal.team_ids or {-1}))
    rows = session.exec(
        select(User.email)
        .where(col(User.is_active), or_(col(User.role) == Role.admin, col(User.id).in_(leads)))
        .order_by(col(User.email))
    )
    return list(rows)
