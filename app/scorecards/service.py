"""Scorecard versions and call scores: create, look up, queue rescoring. Never commits."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlmodel import Session, col, select

import qa
from app.calls.models import Call, CallStatus
from app.errors import BadRequest, NotFound
from app.jobs import ledger
from app.jobs.models import Job, JobState
from app.scorecards.models import CallScore, ScorecardVersion
from app.timeutil import as_utc, utcnow
from app.versioned import add_version, latest_version

DEFAULT_NAME = "default"


def create_version(
    session: Session, *, name: str, definition: str, created_by: str | None
) -> ScorecardVersion:
    """Validate a definition (ScorecardInvalid names the line) and store it as the next version."""
    card = qa.parse(definition)
    if card.name != name:
        raise BadRequest(f"the definition is named {card.name!r}, not {name!r}")
    return add_version(
        session, ScorecardVersion, name=name, definition=definition, created_by=created_by
    )


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


def get_version(session: Session, *, version_id: int) -> ScorecardVersion:
    row = session.get(ScorecardVersion, version_id)
    if row is None:
        raise NotFound(f"scorecard version {version_id} not found")
    return row


def list_versions(session: Session) -> list[ScorecardVersion]:
    return list(
        session.exec(
            select(ScorecardVersion).order_by(
                col(ScorecardVersion.name), col(ScorecardVersion.version)
            )
        )
    )


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
) -> list[Call]:
    query = base  # a query already filtered by who asks
    if call_ids:
        query = query.where(col(Call.id).in_(call_ids))  # type: ignore[attr-defined]
    if started_from:
        query = query.where(Call.started_at >= as_utc(started_from))  # type: ignore[attr-defined]
    if started_to:
        query = query.where(Call.started_at < as_utc(started_to))  # type: ignore[attr-defined]
    if not (call_ids or started_from or started_to):
        raise BadRequest("name the calls to rescore: call_ids, or from/to")
    return list(session.exec(query))  # type: ignore[call-overload]
