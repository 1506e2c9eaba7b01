"""Every task and periodic job, registered in one place: the only module that knows them all.

The API enqueues through the queue built here; `callqa worker` consumes it. Tasks take ids only;
the job ledger is the truth about what still has to run.
"""

from __future__ import annotations

from sqlmodel import Session

from app.alerts import service as alerts
from app.calls import watch
from app.calls.models import Call
from app.calls.stages import CallStages
from app.calls.tasks import StageRunner
from app.config import Settings
from app.db import engine_for
from app.incentives import tasks as incentives
from app.jobs import ledger
from app.jobs.queue import JobQueue, Periodic
from app.privacy import retention
from app.scorecards.models import CallScore
from app.topics import service as topics


def _check_alerts(session: Session, call: Call, score: CallScore) -> None:
    alerts.check_call(session, call=call, score=score)


def _tag_topics(session: Session, call: Call, score: CallScore) -> None:
    # At scoring: the transcript is stored by then, a text conversation included, and a
    # rescore (a redaction, a new transcript) tags the call again.
    topics.tag_call(session, call_id=call.id or 0)


class CallqaQueue(JobQueue):
    """The service's queue: the call stages and the periodic sweeps registered."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, subject=CallStages())
        engine = engine_for(settings.db_url)
        self.runner = StageRunner(
            settings,
            requeue=self.send,  # a queue that is down: sent by the reconciler
            on_scored=[_check_alerts, _tag_topics],
            after_scored=[lambda: alerts.deliver_pending(engine, settings)],
        )
        runner = self.runner

        self.register(ledger.TRANSCRIBE, "calls.transcribe", runner.transcribe, with_stage=False)
        # Scoring takes seconds and transcription minutes: a call just transcribed is scored
        # before the next recording of a backlog (an import of 1 000 calls) is started.
        self.register(ledger.SCORE, "calls.score", runner.score, priority=10)
        if settings.watch_dir is not None:
            self.periodic.append(
                Periodic(
                    "watched folder",
                    settings.watch_interval_seconds,
                    lambda: watch.sweep(engine, settings, self.enqueue_after_commit),
                )
            )
        self.periodic.append(
            Periodic(
                "alert sweep",
                settings.alert_sweep_seconds,
                lambda: alerts.run_sweep(engine, settings),
            )
        )
        self.periodic.append(
            Periodic(
                "retention sweep",
                settings.retention_sweep_seconds,
                lambda: retention.run_sweep(engine, settings),
            )
        )
        self.periodic.append(
            Periodic(
                "incentive refresh",
                settings.alert_sweep_seconds,
                lambda: incentives.refresh_open_periods(engine, settings),
            )
        )
