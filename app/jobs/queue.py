"""Huey as the queue: SqliteHuey in its own file by default, RedisHuey to scale out.

Task code is the same in both. Tasks take ids only; the ledger (app.jobs.ledger) is the truth.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from huey import RedisHuey, SqliteHuey
from huey.api import Huey

from app.config import Settings
from app.db import engine_for
from app.jobs import ledger

log = logging.getLogger(__name__)


def make_huey(settings: Settings) -> Huey:
    if settings.queue_url and settings.queue_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(settings.queue_name, url=settings.queue_url, results=False, utc=True)
    if settings.queue_url:
        raise ValueError(f"CALLQA_QUEUE_URL must be redis://...; got {settings.queue_url!r}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Its own file, not the app database: the queue's write traffic never blocks the API.
    return SqliteHuey(
        settings.queue_name, filename=str(settings.data_dir / "queue.db"), results=False, utc=True
    )


class JobQueue:
    """Named tasks on one Huey instance, and the reconciler that keeps the ledger's promise."""

    def __init__(self, settings: Settings) -> None:
        from app.calls.tasks import StageRunner

        self.settings = settings
        self.huey = make_huey(settings)
        self.runner = StageRunner(settings, requeue=self.enqueue)

        def transcribe(call_id: int) -> None:
            self.runner.transcribe(call_id)

        def score(call_id: int, stage: str) -> None:
            self.runner.score(call_id, stage)

        self._transcribe = self.huey.task(name="calls.transcribe")(transcribe)
        self._score = self.huey.task(name="calls.score")(score)

    def enqueue(self, stage: str, call_id: int, *, delay: float | None = None) -> None:
        task: Callable[..., object]
        args: tuple[object, ...]
        if stage == ledger.TRANSCRIBE:
            task, args = self._transcribe, (call_id,)
        elif stage.startswith(ledger.SCORE):
            task, args = self._score, (call_id, stage)
        else:
            raise ValueError(f"no task for stage {stage!r}")
        if delay:
            task.schedule(args, delay=delay)  # type: ignore[attr-defined]
        else:
            task(*args)

    def reconcile(self) -> int:
        """Re-send every job no worker holds; safe to run anywhere, any number of times."""
        due = ledger.due_for_enqueue(
            engine_for(self.settings.db_url),
            # Long enough that a retry waiting out its back-off is not sent early.
            stale_after=max(5 * self.settings.reconcile_interval_seconds, 300),
            max_attempts=self.settings.job_max_attempts,
            # While messages wait in the queue, a queued row is most likely one of them; only
            # an empty queue proves a message was lost. Re-sending earlier would flood a
            # backlog with duplicates.
            include_queued=self.huey.pending_count() == 0,
        )
        for call_id, stage in due:
            log.info("reconciler: re-enqueueing %s for call %s", stage, call_id)
            self.enqueue(stage, call_id)
        return len(due)

    def run_worker(self) -> None:
        """Consume jobs until stopped. Must run in the main thread (Huey's signal handlers)."""
        stop = threading.Event()

        def reconcile_loop() -> None:
            from app.alerts.service import run_sweep

            next_sweep = 0.0
            while True:
                try:
                    self.reconcile()
                except Exception:  # a database blip must not end reconciliation for good
                    log.exception("reconciler pass failed")
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.settings.alert_sweep_seconds
                    try:
                        run_sweep(engine_for(self.settings.db_url), self.settings)
                    except Exception:
                        log.exception("alert sweep failed")
                if stop.wait(self.settings.reconcile_interval_seconds):
                    return

        thread = threading.Thread(target=reconcile_loop, name="reconciler", daemon=True)
        thread.start()
        consumer = self.huey.create_consumer(
            workers=self.settings.worker_threads,
            worker_type="thread",
            periodic=False,
            check_worker_health=True,
            # Huey backs off to 10 s between polls when idle; a fresh upload then waits that
            # long. One second keeps the first poll close to the upload at negligible cost.
            max_delay=1.0,
        )
        try:
            consumer.run()
        finally:
            stop.set()
