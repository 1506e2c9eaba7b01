"""Jobs of the calls domain: ids in, their own session, idempotent."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

import qa
from app.calls.models import Call, CallStatus, Transcript, TranscriptSegment
from app.config import Settings
from app.db import engine_for
from app.jobs import ledger
from app.scorecards.models import CallScore
from app.timeutil import utcnow
from transcription.engine import Engine, EngineOptions, create_engine
from transcription.errors import TranscriptionError
from transcription.pipeline import PipelineOptions, transcribe_file
from transcription.types import Layout
from transcription.types import Transcript as TranscriptResult

log = logging.getLogger(__name__)


class _Heartbeat:
    """Renews a lease while a long stage runs, so only a dead worker's lease expires."""

    def __init__(self, renew: Callable[[], bool], every: float) -> None:
        self._renew, self._every = renew, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                if not self._renew():
                    return
            except Exception:
                log.exception("lease renewal failed")

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def engine_options(settings: Settings) -> EngineOptions:
    return EngineOptions(
        model=settings.whisper_model,
        compute_type=settings.whisper_compute_type,
        threads=settings.whisper_threads,
        device=settings.whisper_device,
        beam_size=settings.whisper_beam_size,
        cache_dir=settings.models_dir,
    )


def pipeline_options(settings: Settings) -> PipelineOptions:
    return PipelineOptions(
        language=settings.language_code, auto_agent_channel=settings.stereo_agent_channel
    )


def describe(exc: BaseException) -> str:
    if isinstance(exc, TranscriptionError):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"the recording file is missing from storage ({exc.filename})"
    return f"{type(exc).__name__}: {exc}"


def save_transcript(session: Session, *, call: Call, result: TranscriptResult) -> Transcript:
    transcript = Transcript(
        call_id=call.id,  # type: ignore[arg-type]
        engine=result.engine,
        model=result.model,
        language=result.language,
        layout=result.layout.value,
        speakers_labelled=result.speakers_labelled,
        redactions=result.redactions,
    )
    session.add(transcript)
    session.flush()
    for position, seg in enumerate(result.segments):
        data = seg.to_dict()
        session.add(
            TranscriptSegment(
                transcript_id=transcript.id,  # type: ignore[arg-type]
                position=position,
                speaker=data["speaker"],
                start=data["start"],
                end=data["end"],
                text=data["text"],
                confidence=data["confidence"],
                words=data["words"],
            )
        )
    return transcript


class StageRunner:
    def __init__(self, settings: Settings, *, requeue: Callable[..., None]) -> None:
        self.settings = settings
        self._requeue = requeue
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()

    @property
    def db(self):  # type: ignore[no-untyped-def]
        return engine_for(self.settings.db_url)

    def whisper(self) -> Engine:
        # Loaded once per worker process, on first use: loading takes seconds and ~0.3 GB.
        with self._engine_lock:
            if self._engine is None:
                self._engine = create_engine(
                    self.settings.whisper_engine, engine_options(self.settings)
                )
            return self._engine

    def _attempt_failed(self, claim: ledger.Claim, exc: Exception) -> None:
        """Record why an attempt failed; send the job again, later, while attempts remain."""
        log.warning("%s of call %s failed: %s", claim.stage, claim.call_id, describe(exc))
        if ledger.record_failure(self.db, claim, error=describe(exc),
                                 max_attempts=self.settings.job_max_attempts):
            self._requeue(claim.stage, claim.call_id, delay=min(300, 10 * claim.attempt))

    def _finish(
        self, claim: ledger.Claim, status: CallStatus, store: Callable[[Session, Call], None]
    ) -> None:
        """Write a stage's result, the call's new status and the ledger's `done` in one
        transaction. A duplicate run hits a unique constraint and only marks itself done."""
        with Session(self.db) as session:
            call = session.get(Call, claim.call_id)
            if call is None:
                return
            try:
                store(session, call)
                call.status = status
                call.failure_reason = None
                call.updated_at = utcnow()
                session.add(call)
                ledger.mark_done(session, claim)
                session.commit()
            except IntegrityError:
                session.rollback()  # the result was stored by an earlier run: keep it
                ledger.mark_done(session, claim)
                session.commit()

    def transcribe(self, call_id: int) -> None:
        s = self.settings
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        claim = ledger.claim(
            self.db,
            call_id=call_id,
            stage=ledger.TRANSCRIBE,
            owner=owner,
            lease_seconds=s.job_lease_seconds,
            max_attempts=s.job_max_attempts,
        )
        if claim is None:
            return  # done already, failed for good, or a live worker holds it
        log.info("transcribing call %s (attempt %s)", call_id, claim.attempt)
        try:
            with Session(self.db) as session:
                call = session.get(Call, call_id)
                if call is None:
                    raise LookupError(f"call {call_id} no longer exists")
                path = s.audio_dir / call.audio_path
                layout = Layout(call.layout)
            with _Heartbeat(
                lambda: ledger.renew(self.db, claim, lease_seconds=s.job_lease_seconds),
                every=max(1.0, s.job_lease_seconds / 3),
            ):
                result = transcribe_file(
                    path, self.whisper(), layout=layout, options=pipeline_options(s)
                )
        except Exception as exc:
            self._attempt_failed(claim, exc)
            return
        def store(session: Session, call: Call) -> None:
            save_transcript(session, call=call, result=result)
            # The next stage's ledger row is born with this result, so it cannot be lost.
            ledger.add_job(session, call_id=call_id, stage=ledger.SCORE)

        self._finish(claim, CallStatus.transcribed, store)
        log.info("call %s transcribed: %d segments", call_id, len(result.segments))
        self._requeue(ledger.SCORE, call_id)

    def score(self, call_id: int, stage: str = ledger.SCORE) -> None:
        """Score a transcribed call with the current scorecard, or `score:<version id>`."""
        from app.alerts import service as alerts
        from app.scorecards import service as scorecards

        s = self.settings
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        claim = ledger.claim(
            self.db, call_id=call_id, stage=stage, owner=owner,
            lease_seconds=s.job_lease_seconds, max_attempts=s.job_max_attempts,
        )
        if claim is None:
            return
        try:
            with Session(self.db) as session:
                call = session.get(Call, call_id)
                transcript = session.exec(
                    select(Transcript).where(Transcript.call_id == call_id)).first()
                if call is None or transcript is None:
                    raise LookupError(f"call {call_id} has no transcript to score")
                _, _, version_id = stage.partition(":")
                version = (scorecards.get_version(session, version_id=int(version_id))
                           if version_id else scorecards.current_version(session))
                session.commit()  # the default scorecard may just have been stored
                segments = session.exec(
                    select(TranscriptSegment)
                    .where(TranscriptSegment.transcript_id == transcript.id)
                    .order_by(col(TranscriptSegment.position))
                ).all()
                utterances = [qa.Utterance(seg.position, seg.speaker, seg.start, seg.end,  # type: ignore[arg-type]
                                           seg.text) for seg in segments]
                facts = qa.CallFacts(call_type=call.call_type.value,
                                     direction=call.direction.value,
                                     duration=call.duration_seconds)
                version_pk = version.id
                result = qa.score(utterances, facts, scorecards.to_scorecard(version))
        except Exception as exc:
            self._attempt_failed(claim, exc)
            return
        def store(session: Session, call: Call) -> None:
            row = score_row(call_id=call_id, version_id=version_pk or 0, result=result)
            session.add(row)
            session.flush()
            # Alerts are born with the score: a crash cannot leave a scored call unchecked.
            alerts.check_call(session, call=call, score=row)

        self._finish(claim, CallStatus.scored, store)
        log.info("call %s scored: overall %s", call_id, result.overall)
        try:
            alerts.deliver_pending(self.db, s)
        except Exception:  # delivery is retried by the sweep
            log.exception("alert delivery failed")


def score_row(*, call_id: int, version_id: int, result: qa.CallScore) -> CallScore:
    data = result.to_dict()
    dims = data["dimensions"]
    return CallScore(
        call_id=call_id, scorecard_version_id=version_id, overall=data["overall"],
        reliability=dims["reliability"], responsiveness=dims["responsiveness"],
        empathy=dims["empathy"], competence=dims["competence"],
        personal_touch=dims["personal_touch"], script_compliance=data["script_compliance"],
        auto_fail=result.auto_fail, detail=data, **score_facts(data),
    )


def score_facts(detail: dict[str, Any]) -> dict[str, Any]:
    """The columns kept beside a score's detail for the incentive figures."""
    metrics = detail.get("metrics", {})
    transfer = next((c for c in detail.get("criteria", []) if c["id"] == "no_transfer"), None)
    return {
        "agent_talk_share": (metrics.get("talk_share") or {}).get("agent"),
        "hold_seconds": round(sum(h["seconds"] for h in metrics.get("holds", [])), 2),
        # A scorecard without the transfer criterion cannot tell: count the call as kept.
        "transferred": bool(transfer and transfer["applicable"] and not transfer["passed"]),
    }
