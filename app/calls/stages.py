"""The calls domain as the job ledger's subject: a call's status follows its stages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from app.calls.models import Call, CallStatus
from app.jobs.ledger import SCORE


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

    def failed(self, session: Session, subject_id: int, reason: str, now: datetime) -> None:
        call = session.get(Call, subject_id)
        if call is not None:
            call.status = CallStatus.failed
            call.failure_reason = reason
            call.updated_at = now
            session.add(call)
