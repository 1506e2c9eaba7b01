"""The audit trail: who played, downloaded, exported, read or changed what, and who was refused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.auth import Principal
from app.db import keep_on_error, rollback
from app.errors import Forbidden, NotFound
from app.timeutil import as_utc

ACTIONS = (
    "play",
    "download",
    "export",
    "transcript_view",
    "override",
    "dispute_decision",
    "calibration_score",
    "acknowledge",
    "user_create",
    "user_change",
    "hold_set",
    "hold_release",
    "call_delete",
    "erasure",
    "retention",
    "retention_policy",
    "scorecard_version",
    "scorecard_choice",
    "shopper_form",
    "coaching_create",
    "coaching_update",
    "coaching_acknowledge",
    "assign_review",
    "unassign_review",
    "transcript_search",
    "alert_rule",
)


def record(
    session: Session,
    *,
    principal: Principal,
    action: str,
    target_type: str,
    target_id: object,
    outcome: str = "ok",
    detail: str | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_kind=principal.kind,
        actor_id=principal.id,
        actor_name=principal.name,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        outcome=outcome,
        detail=(detail or None) and detail[:2000],
    )
    session.add(event)
    session.flush()
    return event


@contextmanager
def audited(
    session: Session,
    *,
    principal: Principal,
    action: str,
    target_type: str,
    target_id: object,
    detail: str | None = None,
) -> Iterator[None]:
    """Run an audited action: success is recorded with the action's own writes, in its unit of
    work; a refusal (404 outside one's scope, 403) rolls the action back, is recorded, and is
    kept although the request then fails."""
    try:
        yield
    except (NotFound, Forbidden) as exc:
        rollback(session)
        record(
            session,
            principal=principal,
            action=action,
            target_type=target_type,
            target_id=target_id,
            outcome="denied",
            detail=exc.message,
        )
        keep_on_error(session)
        raise
    record(
        session,
        principal=principal,
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=detail,
    )


def list_events(
    session: Session,
    *,
    action: str | None,
    actor: str | None,
    outcome: str | None,
    started_from: datetime | None,
    started_to: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[AuditEvent], int]:
    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(AuditEvent.actor_name == actor)
    if outcome:
        query = query.where(AuditEvent.outcome == outcome)
    if started_from:
        query = query.where(AuditEvent.at >= as_utc(started_from))
    if started_to:
        query = query.where(AuditEvent.at < as_utc(started_to))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = list(session.exec(query.order_by(col(AuditEvent.id).desc()).limit(limit).offset(offset)))
    return rows, total
