"""The job ledger on committed databases: real Whisper, real Huey, real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.calls.models import Call, CallStatus, CallType, Direction, Transcript, TranscriptSegment
from app.calls.service import CallMeta, ingest_call
from app.config import Settings
from app.db import engine_for
from app.jobs import ledger
from app.jobs.models import Job, JobState
from app.jobs.queue import JobQueue
from app.timeutil import utcnow
from tests.conftest import BACKENDS, DATA, ROOT, make_settings, new_database
from transcription.types import Layout


@pytest.fixture(params=BACKENDS)
def live(request, tmp_path) -> Iterator[Settings]:
    """Settings on a fresh, committed database (no rollback: workers are other processes).
    PostgreSQL runs with the Redis queue, SQLite with the SQLite queue."""
    url, drop = new_database(request.param, tmp_path)
    queue = "redis://127.0.0.1:6379/0" if request.param == "postgresql" else None
    yield make_settings(tmp_path / "data", url, queue_url=queue, job_max_attempts=3)
    if queue:
        JobQueue(make_settings(tmp_path / "data", url, queue_url=queue)).huey.flush()
    drop()  # type: ignore[operator]


def add_call(settings: Settings, path: Path = DATA / "basic.flac") -> int:
    with Session(engine_for(settings.db_url)) as session, path.open("rb") as fh:
        call = ingest_call(
            session,
            settings=settings,
            audio=fh,
            meta=CallMeta(
                agent="laura",
                started_at=utcnow(),
                direction=Direction.inbound,
                call_type=CallType.service,
                layout=Layout.auto,
            ),
        )
        session.commit()
        assert call.id is not None
        return call.id


def state(
    settings: Settings, call_id: int, stage: str = "transcribe"
) -> tuple[CallStatus, Job, int]:
    with Session(engine_for(settings.db_url)) as session:
        call = session.get(Call, call_id)
        job = session.exec(select(Job).where(Job.call_id == call_id, Job.stage == stage)).one()
        transcripts = session.exec(
            select(func.count()).select_from(Transcript).where(Transcript.call_id == call_id)
        ).one()
        return call.status, job, transcripts


def test_transcribe_job_stores_a_transcript_once(live):
    call_id = add_call(live)
    queue = JobQueue(live)
    queue.runner.transcribe(call_id)
    status, job, transcripts = state(live, call_id)
    assert status is CallStatus.transcribed and job.state is JobState.done and transcripts == 1
    assert state(live, call_id, "score")[1].state is JobState.queued  # born with the result
    queue.runner.transcribe(call_id)  # a duplicate delivery finds the work done
    status, job, transcripts = state(live, call_id)
    assert job.attempts == 1 and transcripts == 1
    with Session(engine_for(live.db_url)) as session:
        segments = session.exec(select(TranscriptSegment)).all()
        assert {s.speaker for s in segments} == {"agent", "customer"}
        assert all(s.words and s.words[0]["start"] >= s.start - 0.01 for s in segments)


def test_database_refuses_a_second_transcript_for_a_call(live):
    call_id = add_call(live)
    with Session(engine_for(live.db_url)) as session:
        for _ in range(2):
            session.add(
                Transcript(
                    call_id=call_id, engine="e", model="m", layout="mono", speakers_labelled=False
                )
            )
        with pytest.raises(IntegrityError):
            session.commit()


def test_a_file_that_always_fails_ends_failed_with_a_reason(live):
    call_id = add_call(live)
    with Session(engine_for(live.db_url)) as session:
        (live.audio_dir / session.get(Call, call_id).audio_path).unlink()
    requeued: list[tuple[str, int]] = []
    queue = JobQueue(live)
    queue.runner._requeue = lambda stage, cid, delay=None: requeued.append((stage, cid))  # type: ignore[method-assign]
    for _ in range(live.job_max_attempts):
        queue.runner.transcribe(call_id)
    status, job, transcripts = state(live, call_id)
    assert status is CallStatus.failed and job.state is JobState.failed and transcripts == 0
    assert job.attempts == 3 and len(requeued) == 2
    with Session(engine_for(live.db_url)) as session:
        reason = session.get(Call, call_id).failure_reason
    assert reason.startswith("transcribe failed after 3 attempts: the recording file is missing")
    queue.runner.transcribe(call_id)  # no fourth attempt
    assert state(live, call_id)[1].attempts == 3


def test_two_workers_cannot_claim_the_same_stage(live):
    call_id = add_call(live)
    db = engine_for(live.db_url)
    first = ledger.claim(
        db, call_id=call_id, stage="transcribe", owner="a", lease_seconds=60, max_attempts=3
    )
    second = ledger.claim(
        db, call_id=call_id, stage="transcribe", owner="b", lease_seconds=60, max_attempts=3
    )
    assert first is not None and second is None
    assert state(live, call_id)[0] is CallStatus.transcribing


def test_reconciler_resends_expired_leases_and_forgotten_jobs(live):
    expired_id, forgotten_id, fresh_id = add_call(live), add_call(live), add_call(live)
    db = engine_for(live.db_url)
    ledger.claim(
        db, call_id=expired_id, stage="transcribe", owner="dead", lease_seconds=60, max_attempts=3
    )
    with Session(db) as session:
        for job in session.exec(select(Job)).all():
            if job.call_id == expired_id:
                job.lease_expires_at = utcnow() - timedelta(seconds=1)
            if job.call_id == forgotten_id:
                job.updated_at = utcnow() - timedelta(minutes=10)
            session.add(job)
        session.commit()
    due = ledger.due_for_enqueue(db, stale_after=60, max_attempts=3)
    assert sorted(due) == sorted([(expired_id, "transcribe"), (forgotten_id, "transcribe")])
    assert fresh_id not in [c for c, _ in due]
    # While the queue still holds messages, only dead workers' leases are re-sent.
    assert ledger.due_for_enqueue(db, stale_after=60, max_attempts=3, include_queued=False) == [
        (expired_id, "transcribe")
    ]


def test_reconciler_leaves_a_backlog_alone_but_resends_once_the_queue_is_empty(live):
    call_id = add_call(live)
    with Session(engine_for(live.db_url)) as session:
        job = session.exec(select(Job).where(Job.call_id == call_id)).one()
        job.updated_at = utcnow() - timedelta(hours=1)
        session.add(job)
        session.commit()
    queue = JobQueue(live)
    queue.enqueue("transcribe", call_id + 1000)  # some other message waiting
    assert queue.reconcile() == 0
    queue.huey.flush()
    assert queue.reconcile() == 1 and queue.huey.pending_count() == 1


def _worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CALLQA_DATA_DIR": str(settings.data_dir),
        "CALLQA_DATABASE_URL": settings.db_url,
        "CALLQA_WHISPER_MODEL": "base",
        "CALLQA_MODEL_DIR": str(settings.models_dir),
        "CALLQA_JOB_LEASE_SECONDS": "3",
        "CALLQA_RECONCILE_INTERVAL_SECONDS": "1",
        "CALLQA_QUEUE_NAME": settings.queue_name,
        "CALLQA_WHISPER_THREADS": "2",
    }
    if settings.queue_url:
        env["CALLQA_QUEUE_URL"] = settings.queue_url
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(predicate, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_worker_killed_mid_transcription_loses_nothing_and_writes_once(live):
    call_id = add_call(live, DATA / "long_silence.flac")
    JobQueue(live).enqueue("transcribe", call_id)
    first = _worker(live)
    try:
        _wait(lambda: state(live, call_id)[0] is CallStatus.transcribing, 60)
        time.sleep(1.5)  # inside Whisper now
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    status, job, transcripts = state(live, call_id)
    assert status is CallStatus.transcribing and job.state is JobState.running
    assert transcripts == 0 and job.attempts == 1
    second = _worker(live)
    try:
        # The worker goes on to score the call once the transcript is stored.
        _wait(lambda: state(live, call_id)[0] is CallStatus.scored, 180)
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(30)
    status, job, transcripts = state(live, call_id)
    assert job.state is JobState.done and job.attempts == 2 and transcripts == 1


def test_score_job_scores_with_the_current_version_and_rescoring_keeps_history(live):
    from app.scorecards import service as scorecards
    from app.scorecards.models import CallScore

    call_id = add_call(live)
    live.whisper_model = "base"  # tiny.en's words vary with the CPU (see test_cli)
    queue = JobQueue(live)
    queue.runner.transcribe(call_id)
    queue.runner.score(call_id)
    status, job, _ = state(live, call_id, "score")
    assert status is CallStatus.scored and job.state is JobState.done
    queue.runner.score(call_id)  # duplicate delivery: nothing new
    with Session(engine_for(live.db_url)) as session:
        first = session.exec(select(CallScore)).one()
        assert first.detail["scorecard"] == "default" and 0 <= first.overall <= 100
        assert any(c["id"] == "greeting" and c["passed"] for c in first.detail["criteria"])
        v1 = scorecards.current_version(session)
        strict = v1.definition.replace("max: 3\n", "max: 0.1\n")  # reply speed
        v2 = scorecards.create_version(session, name="default", definition=strict,
                                       created_by="test")
        call = session.get(Call, call_id)
        queued = scorecards.queue_rescore(session, version=v2, calls=[call])
        v1_id, v2_id = v1.id, v2.id
        session.commit()
        stage = queued[0][0]
    queue.runner.score(call_id, stage)
    with Session(engine_for(live.db_url)) as session:
        rows = session.exec(select(CallScore).order_by(CallScore.id)).all()
        assert [r.scorecard_version_id for r in rows] == [v1_id, v2_id]
        assert rows[1].responsiveness < rows[0].responsiveness
        assert rows[1].detail["scorecard_version"] == 2
