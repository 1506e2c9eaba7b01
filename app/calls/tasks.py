"""The stages of a call (transcribe, score): ids in, their own units of work, idempotent.

What other domains do when a call is scored (alerts) is handed in as hooks by the task registry
(app/worker.py), so this module imports nothing above the calls domain.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine as SqlEngine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

import qa
from app import storage
from app.calls.meaning import app_embedder
from app.calls.models import Call, CallStatus, Transcript, TranscriptEmbedding, TranscriptSegment
from app.calls.stages import CallStages, running_status
from app.config import Settings
from app.db import engine_for, unit_of_work
from app.jobs import ledger
from app.scorecards import service as scorecards
from app.scorecards.models import CallScore
from app.timeutil import utcnow
from app.users.models import Agent
from qa.embedder import Embedder, EmbedderUnavailable
from qa.roles import MeaningRoleJudge
from qa.score import vectors_for
from qa.turns import texts_to_embed
from qa.types import StoredScore
from transcription.diarize import Diarizer, create_diarizer
from transcription.engine import Engine, EngineOptions, create_engine
from transcription.errors import ModelUnavailable, TranscriptionError
from transcription.pipeline import PipelineOptions, transcribe_file
from transcription.redact_audio import AudioRedaction, redact_recording, widen
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


def pipeline_options(
    settings: Settings, *, language: str | None = None, hotwords: Sequence[str] = ()
) -> PipelineOptions:
    """`language`: the call's own (asked for at upload), else CALLQA_LANGUAGE, else detected."""
    return PipelineOptions(
        language=None if language == "auto" else (language or settings.language_code),
        auto_agent_channel=settings.stereo_agent_channel,
        hotwords=tuple(hotwords),
        role_confidence=settings.role_confidence,
        swap_confidence=settings.swap_confidence,
    )


def describe(exc: BaseException) -> str:
    if isinstance(exc, TranscriptionError | EmbedderUnavailable):
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
        roles=result.roles.to_dict(),
        diarizer=result.diarizer,
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
                voice=data["voice"],
                start=data["start"],
                end=data["end"],
                text=data["text"],
                confidence=data["confidence"],
                words=data["words"],
            )
        )
    return transcript


def stored_vectors(
    session: Session, *, transcript_id: int, embedder: Embedder
) -> dict[str, np.ndarray]:
    """The vectors stored with a transcript by this embedder (none when the model changed)."""
    row = session.exec(
        select(TranscriptEmbedding).where(
            TranscriptEmbedding.transcript_id == transcript_id,
            TranscriptEmbedding.model == embedder.name,
        )
    ).first()
    if row is None or row.dim != embedder.dim:
        return {}
    matrix = np.frombuffer(row.vectors, dtype=np.float32)
    if matrix.size != len(row.texts) * row.dim:
        return {}  # a damaged row: embed again rather than score with wrong vectors
    return dict(zip(row.texts, matrix.reshape(len(row.texts), row.dim), strict=True))


def store_vectors(
    session: Session,
    *,
    transcript_id: int,
    embedder: Embedder,
    texts: list[str],
    vectors: Mapping[str, np.ndarray],
) -> None:
    """Write (or replace) the transcript's vectors of this embedder. A concurrent run that
    stored them first wins; its vectors are the same."""
    matrix = (
        np.stack([np.asarray(vectors[t], dtype=np.float32) for t in texts])
        if texts
        else np.zeros((0, embedder.dim), dtype=np.float32)
    )
    row = session.exec(
        select(TranscriptEmbedding).where(
            TranscriptEmbedding.transcript_id == transcript_id,
            TranscriptEmbedding.model == embedder.name,
        )
    ).first()
    row = row or TranscriptEmbedding(
        transcript_id=transcript_id, model=embedder.name, dim=embedder.dim, vectors=b""
    )
    row.dim, row.texts = embedder.dim, list(texts)
    row.vectors = np.ascontiguousarray(matrix, dtype=np.float32).tobytes()
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        pass


@dataclass(frozen=True)
class ScoreInputs:
    """What scoring reads of a stored call: its transcript's utterances and the call's facts."""

    utterances: list[qa.Utterance]
    facts: qa.CallFacts
    transcript_id: int


def score_inputs(session: Session, call: Call) -> ScoreInputs | None:
    """The scorer's inputs for a stored call (None: no transcript yet). The worker and the
    scorecard preview both read a call through this, so a preview scores what the worker would."""
    transcript = session.exec(select(Transcript).where(Transcript.call_id == call.id)).first()
    if transcript is None:
        return None
    segments = session.exec(
        select(TranscriptSegment)
        .where(TranscriptSegment.transcript_id == transcript.id)
        .order_by(col(TranscriptSegment.position))
    ).all()
    utterances = [
        qa.Utterance(
            seg.position,
            seg.speaker,  # type: ignore[arg-type]  # stored as text
            seg.start,
            seg.end,
            seg.text,
        )
        for seg in segments
    ]
    facts = qa.CallFacts(
        call_type=call.call_type.value,
        direction=call.direction.value,
        duration=call.duration_seconds,
        customer_name=call.customer_name,
        channel=call.channel.value,
        language=transcript.language or call.language,
    )
    return ScoreInputs(utterances=utterances, facts=facts, transcript_id=transcript.id or 0)


# Runs inside the transaction that stores a score (alerts are born with it).
ScoredHook = Callable[[Session, Call, CallScore], object]
# Runs after that transaction committed (alert delivery).
CommittedHook = Callable[[], object]


class StageRunner:
    def __init__(
        self,
        settings: Settings,
        *,
        requeue: Callable[..., object],
        on_scored: Sequence[ScoredHook] = (),
        after_scored: Sequence[CommittedHook] = (),
    ) -> None:
        self.settings = settings
        self._requeue = requeue
        self._on_scored = tuple(on_scored)
        self._after_scored = tuple(after_scored)
        self.subject = CallStages()
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self._embedder: Embedder | None = None
        self._diarizer: Diarizer | None = None
        self._diarizer_loaded = False

    @property
    def db(self) -> SqlEngine:
        return engine_for(self.settings.db_url)

    def whisper(self) -> Engine:
        # Loaded once per worker process, on first use: loading takes seconds and ~0.3 GB.
        with self._engine_lock:
            if self._engine is None:
                self._engine = create_engine(
                    self.settings.whisper_engine, engine_options(self.settings)
                )
            return self._engine

    def embedder(self) -> Embedder:
        # One per process (app_embedder caches it), like the Whisper engine.
        with self._engine_lock:
            if self._embedder is None:
                self._embedder = app_embedder(self.settings)
            return self._embedder

    def diarizer(self) -> Diarizer | None:
        # One per worker process: the voice encoder's weights are read once (~17 MB).
        with self._engine_lock:
            if not self._diarizer_loaded:
                try:
                    self._diarizer = create_diarizer(self.settings.diarizer)
                except ModelUnavailable as exc:
                    # Mono calls then keep unknown speakers (the transcript says why); stereo
                    # calls need no diarizer. Failing every call would hide the rest.
                    log.warning("diarizer unavailable, mono calls stay undiarized: %s", exc)
                self._diarizer_loaded = True
            return self._diarizer

    def judge(self, company: str | None) -> MeaningRoleJudge:
        return MeaningRoleJudge(self.embedder(), company=company)

    def _attempt_failed(self, claim: ledger.Claim, exc: Exception) -> None:
        """Record why an attempt failed; send the job again, later, while attempts remain."""
        log.warning("%s of call %s failed: %s", claim.stage, claim.call_id, describe(exc))
        if ledger.record_failure(
            self.db,
            claim,
            subject=self.subject,
            error=describe(exc),
            max_attempts=self.settings.job_max_attempts,
        ):
            self._requeue(claim.stage, claim.call_id, delay=min(300, 10 * claim.attempt))

    def _finish(
        self, claim: ledger.Claim, status: CallStatus, store: Callable[[Session, Call], None]
    ) -> None:
        """Write a stage's result, the call's new status and the ledger's `done` in one
        transaction. A duplicate run hits a unique constraint and only marks itself done."""
        try:
            with unit_of_work(self.db) as session:
                call = session.get(Call, claim.call_id)
                if call is None:
                    return
                store(session, call)
                call.status = status
                call.failure_reason = None
                call.updated_at = utcnow()
                session.add(call)
                ledger.mark_done(session, claim)
        except IntegrityError:
            # The result was stored by an earlier run (or this version scored the call before):
            # keep it, mark this run done, and give the call back the status the stage ends in.
            with unit_of_work(self.db) as session:
                ledger.mark_done(session, claim)
                call = session.get(Call, claim.call_id)
                if call is not None and call.status is running_status(claim.stage):
                    call.status, call.updated_at = status, utcnow()
                    session.add(call)

    def transcribe(self, call_id: int) -> None:
        s = self.settings
        recordings = storage.audio_store(s)
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        claim = ledger.claim(
            self.db,
            subject=self.subject,
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
            with unit_of_work(self.db, writes=False) as session:
                call = session.get(Call, call_id)
                if call is None:
                    raise LookupError(f"call {call_id} no longer exists")
                if call.audio_path is None:
                    raise LookupError(f"call {call_id} has no recording to transcribe")
                key = call.audio_path
                layout = Layout(call.layout)
                hotwords, company = self._hints(session, call)
                options = pipeline_options(s, language=call.language, hotwords=hotwords)
            diarizer, judge = self.diarizer(), self.judge(company)
            with (
                _Heartbeat(
                    lambda: ledger.renew(self.db, claim, lease_seconds=s.job_lease_seconds),
                    every=max(1.0, s.job_lease_seconds / 3),
                ),
                # From a bucket: a temporary copy on this worker's disk, gone after the job.
                recordings.local_copy(key) as path,
            ):
                result = transcribe_file(
                    path,
                    self.whisper(),
                    layout=layout,
                    options=options,
                    diarizer=diarizer,
                    judge=judge,
                    spool_dir=storage.staging_dir(s.audio_dir),
                )
                spans = widen(
                    result.sensitive, margin=s.audio_redaction_margin, duration=result.duration
                )
                redacted = self._redacted_copy(path, spans)
        except Exception as exc:
            self._attempt_failed(claim, exc)
            return

        def store(session: Session, call: Call) -> None:
            transcript = save_transcript(session, call=call, result=result)
            if redacted is not None and call.audio_path is not None:
                # The redacted copy takes the original's place at once (one rename, one PUT),
                # just before this transaction commits: a crash on either side leaves one
                # recording, and if it is still the original, the retried job redacts it. The
                # upload's hash is kept (it recognises the same file sent again).
                call.audio_size = recordings.replace(redacted, call.audio_path)
                call.audio_format = call.audio_codec = "flac"
                transcript.audio_redactions = [[a, b] for a, b in spans]
                session.add(transcript)
            # The next stage's ledger row is born with this result, so it cannot be lost.
            ledger.add_job(session, call_id=call_id, stage=ledger.SCORE)

        try:
            self._finish(claim, CallStatus.transcribed, store)
        finally:
            if redacted is not None:
                redacted.unlink(missing_ok=True)
        log.info("call %s transcribed: %d segments", call_id, len(result.segments))
        self._requeue(ledger.SCORE, call_id)

    def _redacted_copy(self, path: Path, spans: list[tuple[float, float]]) -> Path | None:
        """The recording with card data silenced, in the staging folder (None: nothing to do)."""
        mode = AudioRedaction(self.settings.audio_redaction)
        if not spans or mode is AudioRedaction.off:
            return None
        staged = storage.staging_path(self.settings.audio_dir, ".flac")
        try:
            redact_recording(path, staged, spans, mode=mode)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        return staged

    @staticmethod
    def _hints(session: Session, call: Call) -> tuple[list[str], str | None]:
        """What Whisper should expect to hear: the vocabulary of the scorecard that will score the
        call (the company name among it) and the agent's name; and the company, which the agent
        names."""
        card = scorecards.to_scorecard(scorecards.version_for_call(session, call))
        agent = session.get(Agent, call.agent_id)
        return [*card.vocabulary, *([agent.name] if agent and agent.name else [])], card.company

    def score(self, call_id: int, stage: str = ledger.SCORE) -> None:
        """Score a transcribed call with the scorecard chosen for its team and call type, or
        `score:<version id>`."""
        s = self.settings
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        claim = ledger.claim(
            self.db,
            subject=self.subject,
            call_id=call_id,
            stage=stage,
            owner=owner,
            lease_seconds=s.job_lease_seconds,
            max_attempts=s.job_max_attempts,
        )
        if claim is None:
            return
        try:
            with unit_of_work(self.db, writes=False) as session:
                call = session.get(Call, call_id)
                inputs = score_inputs(session, call) if call is not None else None
                if call is None or inputs is None:
                    raise LookupError(f"call {call_id} has no transcript to score")
                _, _, version_id = stage.partition(":")
                version = (
                    scorecards.get_version(session, version_id=int(version_id))
                    if version_id
                    else scorecards.version_for_call(session, call)
                )
                utterances, facts = inputs.utterances, inputs.facts
                version_pk, transcript_id = version.id, inputs.transcript_id
                card = scorecards.to_scorecard(version)
                embedder = self.embedder()
                known = stored_vectors(session, transcript_id=transcript_id, embedder=embedder)
            # Embedding takes seconds for a long call: no transaction is open meanwhile.
            texts = texts_to_embed(utterances)
            vectors = vectors_for(texts, embedder=embedder, known=known)
            embedded = any(t not in known for t in texts)
            result = qa.score(utterances, facts, card, vectors=vectors, embedder=embedder)
        except Exception as exc:
            self._attempt_failed(claim, exc)
            return

        def store(session: Session, call: Call) -> None:
            if embedded:
                store_vectors(
                    session,
                    transcript_id=transcript_id,
                    embedder=embedder,
                    texts=texts,
                    vectors=vectors,
                )
            row = score_row(
                call_id=call_id, version_id=version_pk or 0, result=result, channel=facts.channel
            )
            session.add(row)
            session.flush()
            # Alerts are born with the score: a crash cannot leave a scored call unchecked.
            for hook in self._on_scored:
                hook(session, call, row)

        self._finish(claim, CallStatus.scored, store)
        log.info("call %s scored: overall %s", call_id, result.overall)
        for after in self._after_scored:
            try:
                after()
            except Exception:  # e.g. alert delivery, retried by the sweep
                log.exception("after-scoring step failed")


def score_row(
    *, call_id: int, version_id: int, result: qa.CallScore, channel: str = "phone"
) -> CallScore:
    data = result.to_dict()
    dims = data["dimensions"]
    return CallScore(
        call_id=call_id,
        scorecard_version_id=version_id,
        overall=data["overall"],
        reliability=dims["reliability"],
        responsiveness=dims["responsiveness"],
        empathy=dims["empathy"],
        competence=dims["competence"],
        personal_touch=dims["personal_touch"],
        script_compliance=data["script_compliance"],
        auto_fail=result.auto_fail,
        detail=data,
        **score_facts(data, timed=channel == "phone"),
    )


def score_facts(detail: dict[str, Any], *, timed: bool = True) -> dict[str, Any]:
    """The columns kept beside a score's detail for the incentive figures. A chat or e-mail
    (`timed` False) has message times, not speech: no talk share, no holds."""
    stored = StoredScore.from_dict(detail)
    metrics = stored.metrics if timed else {}
    transfer = stored.criterion("no_transfer")
    return {
        "agent_talk_share": (metrics.get("talk_share") or {}).get("agent"),
        "hold_seconds": round(sum(h["seconds"] for h in metrics.get("holds", [])), 2),
        # A scorecard without the transfer criterion cannot tell: count the call as kept.
        "transferred": bool(transfer and transfer.applicable and not transfer.passed),
    }
