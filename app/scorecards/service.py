"""Scorecard versions and call scores: create, look up, queue rescoring. Never commits."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

import qa
from app.audit import service as audit
from app.auth import Principal
from app.calls.models import Call, CallStatus, CallType
from app.errors import BadRequest, CallqaError, NotFound
from app.jobs import ledger
from app.jobs.models import Job, JobState
from app.scope import check_owner_for_write, owned, owner_of_next_version, visible_team
from app.scorecards.models import CallScore, ScorecardChoice, ScorecardVersion
from app.timeutil import as_utc, utcnow
from app.users.models import Agent
from app.versioned import add_version, latest_version

DEFAULT_NAME = "default"


def create_version(
    session: Session,
    *,
    principal: Principal,
    name: str,
    definition: str,
    team_id: int | None = None,
) -> ScorecardVersion:
    """Validate a definition (ScorecardInvalid names the line) and store it as the next version
    of `name`. A new name is owned by `team_id` (None: global, admins only); later versions keep
    the owner of the first, and only its team's supervisors or an admin may add them."""
    owner = owner_of_next_version(
        session, principal, ScorecardVersion, name=name, team_id=team_id, what="scorecard"
    )
    card = qa.parse(definition)
    if card.name != name:
        raise BadRequest(f"the definition is named {card.name!r}, not {name!r}")
    row = add_version(
        session,
        ScorecardVersion,
        name=name,
        definition=definition,
        created_by=principal.name,
        team_id=owner,
    )
    audit.record(
        session,
        principal=principal,
        action="scorecard_version",
        target_type="scorecard",
        target_id=row.id,
        detail=f"{name} v{row.version}" + (f" (team {owner})" if owner else " (global)"),
    )
    return row


def current_version(session: Session, *, name: str = DEFAULT_NAME) -> ScorecardVersion:
    """The newest version of `name` (the built-in default is version 1, stored by a migration)."""
    row = latest_version(session, ScorecardVersion, name=name)
    if row is None:
        raise NotFound(
            f"scorecard {name!r} not found"
            + (
                " (the built-in default is stored by the migrations: run `callqa migrate`)"
                if name == DEFAULT_NAME
                else ""
            )
        )
    return row


def _readable(principal: Principal | None) -> SelectOfScalar[ScorecardVersion]:
    query = select(ScorecardVersion)
    return owned(query, principal, ScorecardVersion.team_id) if principal else query  # type: ignore[no-any-return]


def get_version(
    session: Session, *, version_id: int, principal: Principal | None = None
) -> ScorecardVersion:
    """A version by id; with `principal`, only one they may read (another team's: 404)."""
    row = session.exec(_readable(principal).where(ScorecardVersion.id == version_id)).first()
    if row is None:
        raise NotFound(f"scorecard version {version_id} not found")
    return row


def list_versions(session: Session, principal: Principal | None = None) -> list[ScorecardVersion]:
    """Every version one may read (global ones and one's teams'), by name and version."""
    query = _readable(principal).order_by(col(ScorecardVersion.name), col(ScorecardVersion.version))
    return list(session.exec(query))


def versions_of(session: Session, *, principal: Principal, name: str) -> list[ScorecardVersion]:
    """The versions of `name`, oldest first, if `principal` may read it (another team's: 404)."""
    query = _readable(principal).where(ScorecardVersion.name == name)
    rows = list(session.exec(query.order_by(col(ScorecardVersion.version))))
    if not rows:
        raise NotFound(f"scorecard {name!r} not found")
    return rows


def may_change(principal: Principal, row: ScorecardVersion) -> bool:
    """Whether `principal` may add a version to `row`'s scorecard (a global one: admins only)."""
    try:
        check_owner_for_write(principal, row.team_id, f"scorecard {row.name!r}")
    except CallqaError:
        return False
    return True


# ---- which scorecard scores which calls -------------------------------------------------------


def _slot(team_id: int | None, call_type: str | None) -> str:
    return f"{team_id if team_id is not None else '*'}:{call_type or '*'}"


def list_choices(session: Session, principal: Principal) -> list[ScorecardChoice]:
    """The choices one may see: the organisation's and one's teams'."""
    query = select(ScorecardChoice).order_by(col(ScorecardChoice.slot))
    return list(session.exec(owned(query, principal, ScorecardChoice.team_id)))


def set_choice(
    session: Session,
    *,
    principal: Principal,
    team_id: int | None,
    call_type: CallType | None,
    scorecard: str,
) -> ScorecardChoice:
    """Score the calls of `team_id` (None: every team) and `call_type` (None: every type) with
    the newest version of `scorecard`. A team's scorecard can only be chosen for that team, so
    no team's card ever scores another team's calls."""
    what = "the organisation's scorecard choice" if team_id is None else "a team's choice"
    if team_id is not None:
        visible_team(session, principal, team_id)
    check_owner_for_write(principal, team_id, what)
    card = latest_version(session, ScorecardVersion, name=scorecard)
    if card is None or (card.team_id is not None and card.team_id != team_id):
        raise NotFound(
            f"scorecard {scorecard!r} not found"
            + (" among the global ones" if team_id is None else f" for team {team_id}")
        )
    slot = _slot(team_id, call_type.value if call_type else None)
    row = session.exec(select(ScorecardChoice).where(ScorecardChoice.slot == slot)).first()
    if row is None:
        row = ScorecardChoice(
            slot=slot,
            team_id=team_id,
            call_type=call_type.value if call_type else None,
            scorecard=scorecard,
        )
    row.scorecard, row.created_by, row.created_at = scorecard, principal.name, utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="scorecard_choice",
        target_type="scorecard_choice",
        target_id=row.id,
        detail=f"{slot} -> {scorecard}",
    )
    return row


def delete_choice(session: Session, *, principal: Principal, choice_id: int) -> None:
    """Remove a choice: its calls fall back to the next less specific one."""
    query = select(ScorecardChoice).where(ScorecardChoice.id == choice_id)
    row = session.exec(owned(query, principal, ScorecardChoice.team_id)).first()
    if row is None:
        raise NotFound(f"scorecard choice {choice_id} not found")
    check_owner_for_write(principal, row.team_id, "the organisation's scorecard choice")
    audit.record(
        session,
        principal=principal,
        action="scorecard_choice",
        target_type="scorecard_choice",
        target_id=row.id,
        detail=f"{row.slot} removed (was {row.scorecard})",
    )
    session.delete(row)
    session.flush()


def chosen_name(session: Session, *, team_id: int | None, call_type: str) -> str:
    """The scorecard name for calls of this team and type: the most specific choice."""
    slots = [_slot(team_id, call_type), _slot(team_id, None), _slot(None, call_type)]
    slots = [*(slots if team_id is not None else slots[2:]), _slot(None, None)]
    rows = {
        r.slot: r.scorecard
        for r in session.exec(select(ScorecardChoice).where(col(ScorecardChoice.slot).in_(slots)))
    }
    return next((rows[s] for s in slots if s in rows), DEFAULT_NAME)


def version_for_call(session: Session, call: Call) -> ScorecardVersion:
    """The newest version of the scorecard chosen for the call's team (its agent's, now) and
    call type."""
    agent = session.get(Agent, call.agent_id)
    name = chosen_name(
        session, team_id=agent.team_id if agent else None, call_type=call.call_type.value
    )
    return current_version(session, name=name)


def to_scorecard(row: ScorecardVersion) -> qa.Scorecard:
    # The stored version number is the truth, whatever the YAML says.
    # Checked when it was saved: here only parsed and compiled (see qa.scorecard.parse).
    return dataclasses.replace(qa.parse(row.definition, strict=False), version=row.version)


def latest_score(session: Session, *, call_id: int) -> CallScore | None:
    return session.exec(
        select(CallScore).where(CallScore.call_id == call_id).order_by(col(CallScore.id).desc())
    ).first()


def score_history(session: Session, *, call_id: int) -> list[tuple[CallScore, ScorecardVersion]]:
    rows = session.exec(
        select(CallScore, ScorecardVersion)
        .join(ScorecardVersion, col(ScorecardVersion.id) == CallScore.scorecard_version_id)
        .where(CallScore.call_id == call_id)
        .order_by(col(CallScore.id))
    ).all()
    return [(s, v) for s, v in rows]


def rescore_stage(version_id: int) -> str:
    return f"{ledger.SCORE}:{version_id}"


def queue_rescore(
    session: Session, *, version: ScorecardVersion, calls: list[Call]
) -> list[tuple[str, int]]:
    """Ledger rows to score `calls` with `version`; returns (stage, call id) to enqueue."""
    stage = rescore_stage(version.id or 0)
    queued = []
    for call in calls:
        if call.status not in (CallStatus.transcribed, CallStatus.scored, CallStatus.failed):
            continue
        job = session.exec(select(Job).where(Job.call_id == call.id, Job.stage == stage)).first()
        if job is None:
            ledger.add_job(session, call_id=call.id or 0, stage=stage)
        elif job.state is JobState.failed:
            job.state, job.attempts, job.last_error, job.updated_at = (
                JobState.queued,
                0,
                None,
                utcnow(),
            )
            session.add(job)
        else:
            continue  # queued, running or done already
        queued.append((stage, call.id or 0))
    session.flush()
    return queued


def calls_in_range(
    session: Session,
    *,
    call_ids: list[int] | None,
    started_from: datetime | None,
    started_to: datetime | None,
    base: object,
    version: ScorecardVersion | None = None,
) -> list[Call]:
    """The calls to rescore, from a query already filtered by who asks. A team's scorecard
    rescores only that team's calls (whoever asks, an admin leading every team included)."""
    query = base
    if call_ids:
        query = query.where(col(Call.id).in_(call_ids))  # type: ignore[attr-defined]
    if started_from:
        query = query.where(Call.started_at >= as_utc(started_from))  # type: ignore[attr-defined]
    if started_to:
        query = query.where(Call.started_at < as_utc(started_to))  # type: ignore[attr-defined]
    if not (call_ids or started_from or started_to):
        raise BadRequest("name the calls to rescore: call_ids, or from/to")
    if version is not None and version.team_id is not None:
        team_agents = select(Agent.id).where(Agent.team_id == version.team_id)
        query = query.where(col(Call.agent_id).in_(team_agents))  # type: ignore[attr-defined]
    return list(session.exec(query))  # type: ignore[call-overload]
