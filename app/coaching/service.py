"""Coaching sessions: a coach and an agent agree what to work on (focus criteria), about some
of the agent's calls, and when to look again. Never commits; the route does, with the audit
entry. How the agent has done since is read from the effective scores (a reviewer's verdict
replaces the machine's), before and after the session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, delete, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.auth import Principal
from app.calls.models import Call
from app.coaching.models import CoachingCall, CoachingSession, CoachingStatus
from app.coaching.schemas import (
    MAX_CALLS,
    MAX_FOCUS,
    CoachingDetail,
    CoachingPublic,
    CoachingUpdate,
    FocusCriterion,
    FocusProgress,
    LinkedCall,
    PassRate,
)
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.reviews.effective import Scored, scored_calls
from app.scope import agent_filter, visible_agents, visible_calls
from app.scorecards import service as scorecards
from app.scorecards.models import ScorecardVersion
from app.timeutil import as_utc, utcnow
from app.users.models import Agent, Role, User


@dataclass(frozen=True)
class CoachingSpec:
    agent_id: int
    note: str | None
    focus: list[str]
    calls: list[int]
    follow_up: date | None


def visible_sessions(principal: Principal) -> SelectOfScalar[CoachingSession]:
    """The sessions one may see: an agent their own, a supervisor their teams' agents'."""
    query = select(CoachingSession)
    clause = agent_filter(principal, CoachingSession.agent_id)
    return query if clause is None else query.where(clause)


def visible_session(session: Session, principal: Principal, coaching_id: int) -> CoachingSession:
    """The session, or 404 whether it does not exist or is about an agent one may not see."""
    row = session.exec(visible_sessions(principal).where(CoachingSession.id == coaching_id)).first()
    if row is None:
        raise NotFound(f"coaching session {coaching_id} not found")
    return row


def visible_agent(session: Session, principal: Principal, agent_id: int) -> Agent:
    agent = session.exec(visible_agents(principal).where(Agent.id == agent_id)).first()
    if agent is None:
        raise NotFound(f"agent {agent_id} not found")
    return agent


def criteria_for(session: Session, agent: Agent) -> dict[str, str]:
    """Criterion id -> label of the scorecards that may score the agent's calls: the newest
    version of each global one and of each of the agent's team's."""
    owners: ColumnElement[bool] = col(ScorecardVersion.team_id).is_(None)
    if agent.team_id is not None:
        owners = or_(owners, col(ScorecardVersion.team_id) == agent.team_id)
    newest: dict[str, ScorecardVersion] = {}
    for row in session.exec(
        select(ScorecardVersion).where(owners).order_by(col(ScorecardVersion.version))
    ):
        newest[row.name] = row
    labels: dict[str, str] = {}
    # The default scorecard first, so that its wording wins where two share a criterion id.
    for name in sorted(newest, key=lambda n: (n != scorecards.DEFAULT_NAME, n)):
        for criterion in scorecards.to_scorecard(newest[name]).criteria:
            labels.setdefault(criterion.id, criterion.label)
    return labels


def _checked_focus(focus: Sequence[str], known: dict[str, str]) -> list[str]:
    chosen = list(dict.fromkeys(f.strip() for f in focus if f.strip()))
    if len(chosen) > MAX_FOCUS:
        raise Unprocessable(f"`focus`: at most {MAX_FOCUS} criteria, not {len(chosen)}")
    unknown = [f for f in chosen if f not in known]
    if unknown:
        raise Unprocessable(
            f"`focus`: not a criterion of this agent's scorecards: {', '.join(unknown)}"
        )
    return chosen


def _checked_calls(
    session: Session, principal: Principal, agent: Agent, call_ids: Sequence[int]
) -> list[int]:
    wanted = list(dict.fromkeys(call_ids))
    if len(wanted) > MAX_CALLS:
        raise Unprocessable(f"`calls`: at most {MAX_CALLS} calls, not {len(wanted)}")
    if not wanted:
        return []
    found = {
        c.id
        for c in session.exec(
            visible_calls(principal).where(col(Call.id).in_(wanted), col(Call.agent_id) == agent.id)
        )
    }
    # One answer for another agent's call, another team's and one that does not exist.
    missing = [str(c) for c in wanted if c not in found]
    if missing:
        raise Unprocessable(
            f"`calls`: not calls of agent {agent.external_id}: {', '.join(missing)}"
        )
    return wanted


def _set_calls(session: Session, row: CoachingSession, call_ids: list[int]) -> None:
    session.execute(delete(CoachingCall).where(col(CoachingCall.coaching_id) == row.id))
    session.add_all(CoachingCall(coaching_id=row.id or 0, call_id=c) for c in call_ids)
    session.flush()


def _coach_id(principal: Principal) -> int:
    if principal.user_id is None or principal.role is Role.agent:
        raise Forbidden("coaching sessions are held by supervisors and admins, not API keys")
    return principal.user_id


def create(session: Session, *, principal: Principal, spec: CoachingSpec) -> CoachingSession:
    coach = _coach_id(principal)
    agent = visible_agent(session, principal, spec.agent_id)
    focus = _checked_focus(spec.focus, criteria_for(session, agent))
    calls = _checked_calls(session, principal, agent, spec.calls)
    row = CoachingSession(
        agent_id=agent.id or 0,
        coach_id=coach,
        note=(spec.note or "").strip() or None,
        focus=focus,
        follow_up=spec.follow_up,
    )
    session.add(row)
    session.flush()
    _set_calls(session, row, calls)
    return row


def update(
    session: Session, *, principal: Principal, row: CoachingSession, changes: CoachingUpdate
) -> CoachingSession:
    """Change what was sent; `done` closes the session or opens it again."""
    _coach_id(principal)
    agent = visible_agent(session, principal, row.agent_id)
    given = changes.model_fields_set
    if "note" in given:
        row.note = (changes.note or "").strip() or None
    if "focus" in given:
        row.focus = _checked_focus(changes.focus or [], criteria_for(session, agent))
    if "calls" in given:
        _set_calls(session, row, _checked_calls(session, principal, agent, changes.calls or []))
    if "follow_up" in given:
        row.follow_up = changes.follow_up
    if changes.done is True and row.status is not CoachingStatus.done:
        row.status, row.done_at = CoachingStatus.done, utcnow()
    elif changes.done is False and row.status is CoachingStatus.done:
        row.done_at = None
        row.status = CoachingStatus.acknowledged if row.acknowledged_at else CoachingStatus.open
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def acknowledge(
    session: Session, *, principal: Principal, coaching_id: int, comment: str | None
) -> CoachingSession:
    """The agent confirms their own session, in their own words if they like."""
    row = session.get(CoachingSession, coaching_id)
    if row is None or principal.role is not Role.agent or row.agent_id != principal.agent_id:
        # Only the agent coached acknowledges; to anyone else it does not exist.
        raise NotFound(f"coaching session {coaching_id} not found")
    if row.acknowledged_at is not None:
        raise Conflict(f"coaching session {coaching_id} was acknowledged already")
    row.acknowledged_at = utcnow()
    row.agent_comment = (comment or "").strip() or None
    if row.status is CoachingStatus.open:
        row.status = CoachingStatus.acknowledged
    session.add(row)
    session.flush()
    return row


def is_overdue(row: CoachingSession, today: date) -> bool:
    if row.follow_up is None or row.status is CoachingStatus.done:
        return False
    return row.follow_up < today


def list_sessions(
    session: Session,
    *,
    principal: Principal,
    today: date,
    agent_id: int | None = None,
    status: CoachingStatus | None = None,
    overdue: bool | None = None,
    due_by: date | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[CoachingSession]:
    """The sessions one may see, newest first. `overdue`: the follow-up day has passed and it
    is not done (false: the others); `due_by`: not done, with a follow-up on or before it."""
    query = visible_sessions(principal)
    if agent_id is not None:
        query = query.where(CoachingSession.agent_id == agent_id)
    if status is not None:
        query = query.where(CoachingSession.status == status)
    late = (col(CoachingSession.follow_up) < today) & (
        CoachingSession.status != CoachingStatus.done
    )
    if overdue is True:
        query = query.where(late)
    elif overdue is False:
        query = query.where(~late | col(CoachingSession.follow_up).is_(None))
    if due_by is not None:
        query = query.where(
            col(CoachingSession.follow_up) <= due_by,
            CoachingSession.status != CoachingStatus.done,
        )
    order = (col(CoachingSession.created_at).desc(), col(CoachingSession.id).desc())
    return list(session.exec(query.order_by(*order).limit(limit).offset(offset)))


# ---- how the agent has done since -----------------------------------------------------------


def _passed(row: Scored, criterion_id: str) -> bool | None:
    """The criterion's verdict on the call as it counts (a reviewer's flip wins); None where
    it did not apply."""
    result = row.score.result().criterion(criterion_id)
    if result is None or not result.applicable:
        return None
    for o in reversed(row.review.overrides if row.review is not None else []):
        if o.get("target") == "criterion" and o.get("key") == criterion_id:
            return bool(o["after"])
    return result.passed


def _rate(verdicts: list[bool]) -> PassRate:
    passed = sum(verdicts)
    return PassRate(
        judged=len(verdicts),
        passed=passed,
        rate=round(passed / len(verdicts), 3) if verdicts else None,
    )


def progress(
    session: Session, *, row: CoachingSession, labels: dict[str, str]
) -> list[FocusProgress]:
    """Each focus criterion's pass rate on the agent's scored calls started before the session
    and on those started since."""
    if not row.focus:
        return []
    calls = scored_calls(session, principal=None, agent_ids=[row.agent_id])
    held = as_utc(row.created_at)
    out = []
    for criterion in row.focus:
        before: list[bool] = []
        after: list[bool] = []
        for scored in calls:
            verdict = _passed(scored, criterion)
            if verdict is not None:
                (before if as_utc(scored.call.started_at) < held else after).append(verdict)
        out.append(
            FocusProgress(
                criterion=criterion,
                label=labels.get(criterion, criterion),
                before=_rate(before),
                after=_rate(after),
            )
        )
    return out


# ---- as the API and the pages show them -----------------------------------------------------


def public(
    session: Session, rows: Sequence[CoachingSession], *, today: date
) -> list[CoachingPublic]:
    if not rows:
        return []
    agents = {
        a.id: a
        for a in session.exec(select(Agent).where(col(Agent.id).in_({r.agent_id for r in rows})))
    }
    coaches = {
        u.id: u.email
        for u in session.exec(select(User).where(col(User.id).in_({r.coach_id for r in rows})))
    }
    links: dict[int, list[LinkedCall]] = {}
    for coaching_id, call_id, started_at in session.exec(
        select(CoachingCall.coaching_id, Call.id, Call.started_at)
        .join(Call, col(Call.id) == CoachingCall.call_id)
        .where(col(CoachingCall.coaching_id).in_([r.id for r in rows]))
        .order_by(col(Call.started_at), col(Call.id))
    ):
        links.setdefault(coaching_id, []).append(
            LinkedCall(id=call_id or 0, started_at=started_at, link=f"/calls/{call_id}")
        )
    # The criteria depend only on the agent's team: one parse of its scorecards per team.
    labels: dict[int | None, dict[str, str]] = {}
    out = []
    for r in rows:
        agent = agents[r.agent_id]
        if r.focus and agent.team_id not in labels:
            labels[agent.team_id] = criteria_for(session, agent)
        known = labels.get(agent.team_id, {})
        out.append(
            CoachingPublic(
                id=r.id or 0,
                agent_id=r.agent_id,
                agent=agent.external_id,
                agent_name=agent.name,
                coach=coaches.get(r.coach_id, "?"),
                note=r.note,
                # A criterion since dropped from the scorecard keeps its id as its label.
                focus=[FocusCriterion(id=f, label=known.get(f, f)) for f in r.focus],
                calls=links.get(r.id or 0, []),
                follow_up=r.follow_up,
                status=r.status,
                overdue=is_overdue(r, today),
                acknowledged_at=r.acknowledged_at,
                agent_comment=r.agent_comment,
                done_at=r.done_at,
                created_at=r.created_at,
                updated_at=r.updated_at,
            )
        )
    return out


def detail(session: Session, row: CoachingSession, *, today: date) -> CoachingDetail:
    base = public(session, [row], today=today)[0]
    labels = {f.id: f.label for f in base.focus}
    return CoachingDetail(**base.model_dump(), progress=progress(session, row=row, labels=labels))


@dataclass(frozen=True)
class FormChoices:
    """What the coaching form offers for one agent: their scorecards' criteria and calls."""

    agent: Agent
    criteria: dict[str, str]
    calls: list[Call]


def form_choices(
    session: Session,
    *,
    principal: Principal,
    agent_id: int,
    keep: Sequence[int] = (),
    limit: int = 50,
) -> FormChoices:
    """The agent (404 outside one's scope), their criteria, and their newest calls (with the
    ones named in `keep`, already linked, even when older)."""
    agent = visible_agent(session, principal, agent_id)
    mine = visible_calls(principal).where(Call.agent_id == agent.id)
    newest = list(
        session.exec(mine.order_by(col(Call.started_at).desc(), col(Call.id).desc()).limit(limit))
    )
    shown = {c.id for c in newest}
    older = [k for k in keep if k not in shown]
    if older:
        newest += list(session.exec(mine.where(col(Call.id).in_(older))))
    return FormChoices(agent=agent, criteria=criteria_for(session, agent), calls=newest)


def linked_call_ids(session: Session, row: CoachingSession) -> list[int]:
    return list(
        session.exec(select(CoachingCall.call_id).where(CoachingCall.coaching_id == row.id)).all()
    )
