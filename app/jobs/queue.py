"""Huey as the queue: SqliteHuey in its own file by default, RedisHuey to scale out.

Task code is the same in both. Tasks take ids only; the ledger (app.jobs.ledger) is the truth.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis
from huey import PriorityRedisHuey, SqliteHuey
from huey.api import Huey
from sqlmodel import Session

from app.config import Settings
from app.db import after_commit, engine_for
from app.jobs import ledger

log = logging.getLogger(__name__)


def make_huey(settings: Settings) -> Huey:
    """The queue, with priorities (a sorted set in Redis, a column in SQLite): a call that is
    transcribed is scored before the next recording of a backlog is started."""
    if settings.queue_url and settings.queue_url.startswith(("redis://", "rediss://", "unix://")):
        huey = PriorityRedisHuey(
            settings.queue_name, url=settings.queue_url, results=False, utc=True
        )
        _adopt_list_queue(huey)
        return huey
    if settings.queue_url:
        raise ValueError(f"CALLQA_QUEUE_URL must be redis://...; got {settings.queue_url!r}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Its own file, not the app database: the queue's write traffic never blocks the API.
    return SqliteHuey(
        settings.queue_name, filename=str(settings.data_dir / "queue.db"), results=False, utc=True
    )


def _adopt_list_queue(huey: Huey) -> None:
    """Releases before priorities kept the Redis queue as a list under the same key; move
    what waits there into the sorted set, oldest first. Any number of processes may start at
    once: each renames the list to a name of its own first, so every message moves once."""
    storage = huey.storage
    key = storage.queue_key
    try:
        if storage.conn.type(key) != b"list":
            return
        mine = f"{key}.list-{uuid.uuid4().hex}"
        storage.conn.rename(key, mine)
    except redis.ResponseError:  # another process renamed it first
        return
    except redis.ConnectionError:  # Redis down: the first send says so, and is retried
        return
    moved = 0
    while (data := storage.conn.rpop(mine)) is not None:
        storage.enqueue(data, None)
        moved += 1
    log.info("moved %d waiting job(s) from the list queue into the priority queue", moved)


@dataclass(frozen=True)
class Periodic:
    """Work every worker does on a timer (the alert sweep): safe to run in many at once."""

    name: str
    every_seconds: float
    run: Callable[[], object]


class JobQueue:
    """Named tasks on one Huey instance, and the reconciler that keeps the ledger's promise.

    Generic: the tasks, the ledger's subject and the periodic work are registered by
    app/worker.py, the one place that knows them all.
    """

    def __init__(self, settings: Settings, *, subject: ledger.Subject) -> None:
        self.settings = settings
        self.subject = subject
        self.huey = make_huey(settings)
        # stage -> (the Huey task, whether its messages carry the stage)
        self._tasks: dict[str, tuple[Callable[..., object], bool]] = {}
        self.periodic: list[Periodic] = []

    def register(
        self,
        stage: str,
        name: str,
        task: Callable[..., None],
        *,
        with_stage: bool = True,
        priority: int = 0,
    ) -> None:
        """`task` runs every job whose stage is `stage` or `stage:<anything>`; `name` is the
        message's name in the queue. Both the name and the arguments (`(id, stage)`, or `(id,)`
        without `with_stage`) are kept stable: messages outlive deployments, and a worker of
        the previous release may still be draining the queue."""

        def run(*args: object) -> None:
            task(*args)

        # Huey keys a message by the module of the function it wraps plus `name`: wrapping
        # here keeps the key `app.jobs.queue.<name>` whichever module the task lives in.
        # Higher `priority` is taken first (equal ones in the order sent).
        self._tasks[stage] = (self.huey.task(name=name, priority=priority)(run), with_stage)

    def enqueue(self, stage: str, call_id: int, *, delay: float | None = None) -> None:
        prefix = stage.partition(":")[0]
        if prefix not in self._tasks:
            raise ValueError(f"no task for stage {stage!r}")
        task, with_stage = self._tasks[prefix]
        args: tuple[object, ...] = (call_id, stage) if with_stage else (call_id,)
        if delay:
            task.schedule(args, delay=delay)  # type: ignore[attr-defined]
        else:
            task(*args)

    def enqueue_after_commit(self, session: Session, stage: str, call_id: int) -> None:
        """Send the job once the unit of work that created its ledger row has committed; if
        sending fails then, the reconciler sends it later."""
        after_commit(session, lambda: self.send(stage, call_id))

    def send(self, stage: str, call_id: int, *, delay: float | None = None) -> bool:
        """Enqueue, or when the queue cannot be reached (Redis down), mark the ledger row so
        that the reconciler sends it as soon as the queue is back. Never raises for that: what
        is committed stays committed, and the caller's answer (an upload's 202) stands."""
        try:
            self.enqueue(stage, call_id, delay=delay)
            return True
        except Exception as exc:
            log.warning("could not send %s of call %s (sent later): %s", stage, call_id, exc)
            try:
                ledger.mark_unsent(engine_for(self.settings.db_url), call_id=call_id, stage=stage)
            except Exception:
                log.exception("could not mark %s of call %s unsent", stage, call_id)
            return False

    def reconcile(self) -> int:
        """Re-send every job no worker holds; safe to run anywhere, any number of times."""
        if isinstance(self.huey, PriorityRedisHuey):
            # A process of the previous release may have made the key a list again (a rolling
            # deploy, the queue empty meanwhile): take its messages over before reading.
            _adopt_list_queue(self.huey)
        due = ledger.due_for_enqueue(
            engine_for(self.settings.db_url),
            subject=self.subject,
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
            self.send(stage, call_id)
        return len(due)

    def run_worker(self, on_ready: Callable[[], None] | None = None) -> None:
        """Consume jobs until stopped. Must run in the main thread (Huey's signal handlers).
        `on_ready` is called once, when the first worker thread starts: after the consumer
        has logged its start-up lines."""
        stop = threading.Event()
        if on_ready is not None:
            once = threading.Lock()

            @self.huey.on_startup()
            def ready() -> None:
                if once.acquire(blocking=False):
                    on_ready()

        def reconcile_loop() -> None:
            reconciler = Periodic(
                "reconciler pass", self.settings.reconcile_interval_seconds, self.reconcile
            )
            jobs = [reconciler, *self.periodic]
            due_at = {job.name: 0.0 for job in jobs}
            while True:
                for job in jobs:
                    if time.monotonic() >= due_at[job.name]:
                        due_at[job.name] = time.monotonic() + job.every_seconds
                        try:
                            job.run()
                        except Exception:  # a database blip must not end this loop for good
                            log.exception("%s failed", job.name)
                # Until the next one is due (the watched folder is looked at every few
                # seconds, the retention sweep once a day).
                if stop.wait(max(0.1, min(due_at.values()) - time.monotonic())):
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
