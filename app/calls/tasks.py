"""Jobs of the calls domain: ids in, their own session, idempotent."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.calls.models import Call, CallStatus, Transcript, TranscriptSegment
from app.config import Settings
from app.db import engine_for
from app.jobs import ledger
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
            log.warning("transcription of call %s failed: %s", call_id, describe(exc))
            if ledger.record_failure(
                self.db, claim, error=describe(exc), max_attempts=s.job_max_attempts
            ):
                self._requeue(ledger.TRANSCRIBE, call_id, delay=min(300, 10 * claim.attempt))
            return
        with Session(self.db) as session:
            call = session.get(Call, call_id)
            if call is None:
                return
            try:
                save_transcript(session, call=call, result=result)
                call.status = CallStatus.transcribed
                call.failure_reason = None
                call.updated_at = utcnow()
                session.add(call)
                ledger.mark_done(session, claim)
                session.commit()
            except IntegrityError:
                # Another run of this stage stored its transcript first: keep that one.
                session.rollback()
                ledger.mark_done(session, claim)
                session.commit()
        log.info("call %s transcribed: %d segments", call_id, len(result.segments))
