"""Retention: policies per team and call type, and the sweep that applies them.

The sweep runs in every worker (a periodic job) and can run in many at once: each call is its
own short unit of work, and a call another worker got to first is simply skipped. A legal hold
keeps a call whole. What goes is recorded in the audit log, one row per sweep that removed
anything; the call row stays as a tombstone (agent, time, length, type, outcome), so counts and
durations in reports do not change, while recording, words, scores and customer fields go.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from app import storage
from app.audit.service import record
from app.auth import Principal
from app.calls.models import Call, CallType
from app.config import Settings
from app.db import after_commit, unit_of_work
from app.errors import BadRequest, NotFound
from app.privacy.models import RetentionPolicy
from app.privacy.service import Removal, holds_on, list_holds, purge_data
from app.teams.models import Team
from app.timeutil import as_utc, utcnow
from app.users.models import Agent

log = logging.getLogger(__name__)
SWEEPER = Principal(
    kind="system", id=0, name="retention sweep", role=None, agent_id=None, scopes=frozenset()
)


def set_policy(
    session: Session,
    *,
    team: str | None,
    call_type: str | None,
    audio_days: int | None,
    data_days: int | None,
    by: str,
) -> RetentionPolicy:
    """Create or replace the policy for this team / call type (None: any)."""
    for name, days in (("audio_days", audio_days), ("data_days", data_days)):
        if days is not None and days < 0:
            raise BadRequest(f"{name} must be 0 or more days (or empty to keep forever)")
    if call_type is not None and call_type not in {t.value for t in CallType}:
        raise BadRequest(
            f"unknown call type {call_type!r}: use {', '.join(t.value for t in CallType)}"
        )
    team_id = None
    if team is not None:
        found = session.exec(select(Team).where(Team.name == team)).first()
        if found is None:
            raise NotFound(f"no team {team!r}")
        team_id = found.id
    policy = session.exec(
        select(RetentionPolicy).where(
            col(RetentionPolicy.team_id).is_(None)
            if team_id is None
            else RetentionPolicy.team_id == team_id,
            col(RetentionPolicy.call_type).is_(None)
            if call_type is None
            else RetentionPolicy.call_type == call_type,
        )
    ).first() or RetentionPolicy(team_id=team_id, call_type=call_type, created_by=by)
    policy.audio_days, policy.data_days, policy.created_by = audio_days, data_days, by
    session.add(policy)
    session.flush()
    return policy


def list_policies(session: Session) -> list[RetentionPolicy]:
    return list(session.exec(select(RetentionPolicy).order_by(col(RetentionPolicy.id))).all())


def delete_policy(session: Session, *, policy_id: int) -> None:
    policy = session.get(RetentionPolicy, policy_id)
    if policy is None:
        raise NotFound(f"no retention policy {policy_id}")
    session.delete(policy)
    session.flush()


def policy_for(
    policies: list[RetentionPolicy], *, team_id: int | None, call_type: str
) -> RetentionPolicy | None:
    """The most specific match: team and type, then team, then type, then everyone."""

    def rank(p: RetentionPolicy) -> int | None:
        if p.team_id not in (None, team_id) or p.call_type not in (None, call_type):
            return None
        return 2 * (p.team_id is not None) + (p.call_type is not None)

    ranked = [(r, p) for p in policies if (r := rank(p)) is not None]
    return max(ranked, key=lambda rp: rp[0])[1] if ranked else None


@dataclass
class SweepReport:
    audio: list[int] = field(default_factory=list)  # recordings deleted
    data: list[int] = field(default_factory=list)  # transcripts, scores, customer fields removed
    held: list[int] = field(default_factory=list)  # due, but under legal hold
    dry_run: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"audio": self.audio, "data": self.data, "held": self.held, "dry_run": self.dry_run}


def _due(started: datetime, days: int | None, now: datetime) -> bool:
    return days is not None and as_utc(started) + timedelta(days=days) <= now


BATCH = 200  # calls changed per unit of work by the worker's sweep


def sweep(
    session: Session,
    settings: Settings,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    limit: int | None = None,
) -> SweepReport:
    """Apply the policies in this unit of work (at most `limit` calls changed)."""
    now = now or utcnow()
    report = SweepReport(dry_run=dry_run)
    policies = list_policies(session)
    if not policies:
        return report
    holds = list_holds(session, active_only=True)
    candidates = session.exec(
        select(Call, Agent.team_id)
        .join(Agent, col(Agent.id) == col(Call.agent_id))
        .where(col(Call.data_deleted_at).is_(None))
        .order_by(col(Call.id))
    ).all()
    for call, team_id in candidates:
        if limit is not None and len(report.audio) + len(report.data) >= limit:
            break
        policy = policy_for(policies, team_id=team_id, call_type=str(call.call_type))
        if policy is None:
            continue
        data = _due(call.started_at, policy.data_days, now)
        audio = call.audio_path is not None and (
            data or _due(call.started_at, policy.audio_days, now)
        )
        if not (audio or data):
            continue
        if holds_on(session, call, holds):
            report.held.append(call.id or 0)
            continue
        if audio:
            report.audio.append(call.id or 0)
        if data:
            report.data.append(call.id or 0)
        if not dry_run:
            _apply(session, settings, call, audio=audio, data=data)
    if not dry_run and (report.audio or report.data):
        record(
            session,
            principal=SWEEPER,
            action="retention",
            target_type="calls",
            target_id=f"{len(report.audio)} recording(s), {len(report.data)} transcript(s)",
            detail=f"recordings of {report.audio}; words and scores of {report.data}",
        )
    return report


def run_sweep(engine: Engine, settings: Settings) -> SweepReport:
    """The worker's daily job: batches of `BATCH` calls, each batch its own short unit of
    work, so no write transaction stays open for the whole sweep."""
    total = SweepReport()
    while True:
        try:
            with unit_of_work(engine) as session:
                batch = sweep(session, settings, limit=BATCH)
        except SQLAlchemyError:
            # Another worker's sweep changed these calls meanwhile: the next pass goes on.
            log.info("retention: a batch met another worker's sweep; retrying later")
            return total
        total.audio += batch.audio
        total.data += batch.data
        total.held = batch.held
        if len(batch.audio) + len(batch.data) < BATCH:
            return total


def _apply(session: Session, settings: Settings, call: Call, *, audio: bool, data: bool) -> None:
    if audio and call.audio_path is not None:
        recording = call.audio_path
        call.audio_path, call.audio_deleted_at = None, utcnow()
        # The file goes once the row says so for good; a rolled-back sweep keeps both.
        after_commit(session, lambda: storage.audio_store(settings).delete(recording))
    if data:
        purge_data(session, call, Removal())
        call.customer_ref = call.customer_name = None
        call.data_deleted_at = utcnow()
    session.add(call)
    session.flush()
