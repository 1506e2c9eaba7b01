"""The job ledger: claim with compare-and-set, finish in the result's own transaction, reconcile.

Huey deletes a job as soon as a worker takes it; a worker killed mid-transcription would lose the
call. The ledger row is what says a stage still has to run. A claim is one conditional UPDATE
(compare-and-set), so two workers can never both own a stage, on SQLite or PostgreSQL alike.

The ledger knows stages and leases, not what they run on: the `Subject` it is given (the calls
domain's) is told, in the same transaction, when a stage starts and when it fails for good.
Claims, renewals and failures commit on their own: another worker must see them at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, and_, or_, update
from sqlmodel import Session, col, select

from app.db import open_session
from app.jobs.models import Job, JobState
from app.timeutil import utcnow

TRANSCRIBE = "transcribe"
SCORE = "score"  # the automatic scoring; "score:<version id>" rescoring with a chosen version


class Subject(Protocol):
    """What the stages run on, told of their progress inside the ledger's own transaction."""

    def running(self, session: Session, subject_id: int, stage: str, now: datetime) -> None: ...

    def failed(
        self, session: Session, subject_id: int, stage: str, reason: str, now: datetime
    ) -> None: ...


@dataclass(frozen=True)
class Claim:
    job_id: int
    call_id: int
    stage: str
    owner: str
    attempt: int


def add_job(session: Session, *, call_id: int, stage: str) -> Job:
    job = Job(call_id=call_id, stage=stage)
    session.add(job)
    return job


def claim(
    engine: Engine,
    *,
    subject: Subject,
    call_id: int,
    stage: str,
    owner: str,
    lease_seconds: int,
    max_attempts: int,
) -> Claim | None:
    """Take the stage for `owner`, or None when it is done, failed, or leased by a live worker."""
    now = utcnow()
    with open_session(engine, writes=True) as session:
        result = session.exec(  # type: ignore[call-overload]
            update(Job)
            .where(
                and_(
                    col(Job.call_id) == call_id,
                    col(Job.stage) == stage,
                    col(Job.attempts) < max_attempts,
                    or_(
                        col(Job.state) == JobState.queued,
                        and_(col(Job.state) == JobState.running, col(Job.lease_expires_at) < now),
                    ),
                )
            )
            .values(
                state=JobState.running,
                attempts=Job.attempts + 1,  # type: ignore[operator]
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                updated_at=now,
            )
        )
        if result.rowcount != 1:
            session.rollback()
            _give_up_if_exhausted(
                session, subject, call_id=call_id, stage=stage, max_attempts=max_attempts
            )
            return None
        job = session.exec(select(Job).where(Job.call_id == call_id, Job.stage == stage)).one()
        subject.running(session, call_id, stage, now)
        session.commit()
        assert job.id is not None
        return Claim(job_id=job.id, call_id=call_id, stage=stage, owner=owner, attempt=job.attempts)


def _give_up_if_exhausted(
    session: Session, subject: Subject, *, call_id: int, stage: str, max_attempts: int
) -> None:
    """A stage whose every attempt died (lease expired) ends failed, with the reason."""
    now = utcnow()
    job = session.exec(select(Job).where(Job.call_id == call_id, Job.stage == stage)).first()
    if job is None or job.attempts < max_attempts:
        return
    expired = job.state == JobState.running and job.lease_expires_at and job.lease_expires_at < now
    if not (expired or job.state == JobState.queued):
        return
    reason = job.last_error or "the worker stopped before finishing"
    _fail(session, subject, job, f"{stage} gave up after {job.attempts} attempts: {reason}", now)
    session.commit()


def _fail(session: Session, subject: Subject, job: Job, reason: str, now: datetime) -> None:
    job.state = JobState.failed
    job.last_error = reason[:2000]
    job.lease_owner = None
    job.updated_at = now
    session.add(job)
    subject.failed(session, job.call_id, job.stage, reason[:2000], now)


def renew(engine: Engine, claim_: Claim, *, lease_seconds: int) -> bool:
    """Extend the lease while work goes on; False when it was lost to another worker."""
    with open_session(engine, writes=True) as session:
        result = session.exec(  # type: ignore[call-overload]
            update(Job)
            .where(
                col(Job.id) == claim_.job_id,
                col(Job.lease_owner) == claim_.owner,
                col(Job.state) == JobState.running,
            )
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        )
        session.commit()
        return bool(result.rowcount == 1)


def mark_done(session: Session, claim_: Claim) -> None:
    """Within the transaction that writes the stage's result."""
    session.exec(  # type: ignore[call-overload]
        update(Job)
        .where(col(Job.id) == claim_.job_id)
        .values(
            state=JobState.done,
            lease_owner=None,
            lease_expires_at=None,
            last_error=None,
            updated_at=utcnow(),
        )
    )


def record_failure(
    engine: Engine, claim_: Claim, *, subject: Subject, error: str, max_attempts: int
) -> bool:
    """Note an attempt's error. Returns True when the stage should be tried again."""
    now = utcnow()
    with open_session(engine, writes=True) as session:
        job = session.get(Job, claim_.job_id)
        if job is None or job.lease_owner != claim_.owner:
            return False
        if job.attempts >= max_attempts:
            _fail(
                session,
                subject,
                job,
                f"{claim_.stage} failed after {job.attempts} attempts: {error}",
                now,
            )
            session.commit()
            return False
        job.state = JobState.queued
        job.last_error = error[:2000]
        job.lease_owner = None
        job.lease_expires_at = None
        job.updated_at = now
        session.add(job)
        session.commit()
        return True


def reset_for_retry(session: Session, *, call_id: int) -> list[Job]:
    """A supervisor's retry of a failed call: every failed stage starts again from attempt 0."""
    jobs = list(
        session.exec(select(Job).where(Job.call_id == call_id, Job.state == JobState.failed))
    )
    for job in jobs:
        job.state = JobState.queued
        job.attempts = 0
        job.last_error = None
        job.updated_at = utcnow()
        session.add(job)
    return jobs


def mark_unsent(engine: Engine, *, call_id: int, stage: str) -> None:
    """Its message could not be sent: the reconciler's next pass sends it."""
    with open_session(engine, writes=True) as session:
        session.exec(  # type: ignore[call-overload]
            update(Job)
            .where(
                col(Job.call_id) == call_id,
                col(Job.stage) == stage,
                col(Job.state) == JobState.queued,
            )
            .values(unsent=True)
        )
        session.commit()


def due_for_enqueue(
    engine: Engine,
    *,
    subject: Subject,
    stale_after: float,
    max_attempts: int,
    include_queued: bool = True,
) -> list[tuple[int, str]]:
    """Jobs no worker holds: leases that expired, and (with `include_queued`) queued rows nobody
    picked up for a while (the process died between commit and enqueue, or the queue lost the
    message)."""
    now = utcnow()
    expired = and_(col(Job.state) == JobState.running, col(Job.lease_expires_at) < now)
    forgotten = and_(
        col(Job.state) == JobState.queued,
        col(Job.updated_at) < now - timedelta(seconds=stale_after),
    )
    unsent = and_(col(Job.state) == JobState.queued, col(Job.unsent))
    with open_session(engine, writes=True) as session:
        rows = list(
            session.exec(
                select(Job).where(
                    or_(expired, forgotten, unsent) if include_queued else or_(expired, unsent)
                )
            )
        )
        due = [(j.call_id, j.stage) for j in rows if j.attempts < max_attempts]
        for job in rows:
            if job.attempts >= max_attempts:
                _give_up_if_exhausted(
                    session,
                    subject,
                    call_id=job.call_id,
                    stage=job.stage,
                    max_attempts=max_attempts,
                )
            elif job.state == JobState.queued:
                job.updated_at = now  # so one stale row is not re-sent on every pass
                job.unsent = False
                session.add(job)
        session.commit()
        return due
