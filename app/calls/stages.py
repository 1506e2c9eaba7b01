"""The calls domain as the job ledger's subject: a call's status follows its stages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.calls.models import Call, CallStatus
from app.jobs.ledger import SCORE
from app.scorecards.models import CallScore


def running_status(stage: str) -> CallStatus:
    """What the call's status is while a stage runs."""
    return CallStatus.scoring if stage.startswith(SCORE) else CallStatus.transcribing


class CallStages:
    """Implements `app.jobs.ledger.Subject` for calls."""

    def running(self, session: Session, subject_id: int, stage: str, now: datetime) -> None:
        session.exec(  # type: ignore[call-overload]
            update(Call)
            .where(col(Call.id) == subject_id)
            .values(status=running_status(stage), updated_at=now)
        )

    def failed(
        self, session: Session, subject_id: int, stage: str, reason: str, now: datetime
    ) -> None:
        call = session.get(Call, subject_id)
        if call is not None:
            # A rescore that fails leaves a scored call scored: its earlier score still stands
            # (the job keeps the reason). Anything else that fails for good fails the call.
            rescore = stage.startswith(f"{SCORE}:")
            scored = session.exec(select(CallScore.id).where(CallScore.call_id == subject_id))
            if rescore and scored.first() is not None:
                call.status = CallStatus.scored
                call.updated_at = now
                session.add(call)
                return
            call.status = CallStatus.failed
            call.failure_reason = reason
            call.updated_at = now
            session.add(call)
