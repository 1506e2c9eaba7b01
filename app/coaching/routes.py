"""Coaching sessions through the API: held by supervisors and admins with the agents they may
see, acknowledged by the agent, listed by agent, status and follow-up."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.audit.service import audited
from app.auth import CallReader, OrgZone, ReviewWriter, SettingsDep
from app.coaching import service
from app.coaching.models import CoachingStatus
from app.coaching.schemas import (
    AcknowledgeIn,
    CoachingDetail,
    CoachingIn,
    CoachingPublic,
    CoachingUpdate,
)
from app.db import SessionDep

router = APIRouter(prefix="/api/v1/coaching", tags=["coaching"])


@router.post("", response_model=CoachingDetail, status_code=201)
def create_session(
    body: CoachingIn, session: SessionDep, principal: ReviewWriter, zone: OrgZone
) -> CoachingDetail:
    """A coaching session with an agent of your teams: focus criteria, the calls it was
    about, a note and the day to follow up."""
    with audited(
        session,
        principal=principal,
        action="coaching_create",
        target_type="agent",
        target_id=body.agent_id,
        detail=f"focus: {', '.join(body.focus) or '-'}; {len(body.calls)} call(s)",
    ):
        row = service.create(
            session,
            principal=principal,
            spec=service.CoachingSpec(
                agent_id=body.agent_id,
                note=body.note,
                focus=body.focus,
                calls=body.calls,
                follow_up=body.follow_up,
            ),
        )
    return service.detail(session, row, today=datetime.now(zone).date())


@router.get("", response_model=list[CoachingPublic])
def list_sessions(
    session: SessionDep,
    settings: SettingsDep,
    principal: CallReader,
    zone: OrgZone,
    agent: int | None = None,
    status: CoachingStatus | None = None,
    overdue: bool | None = None,
    due_by: date | None = None,
    limit: Annotated[int, Query(ge=1)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CoachingPublic]:
    """The sessions you may see (an agent: their own), newest first. `overdue=true`: the
    follow-up day has passed and it is not done; `due_by`: not done, follow-up by that day.
    `limit` (at most CALLQA_PAGE_SIZE_MAX) and `offset` page through them."""
    today = datetime.now(zone).date()
    rows = service.list_sessions(
        session,
        principal=principal,
        today=today,
        agent_id=agent,
        status=status,
        overdue=overdue,
        due_by=due_by,
        limit=min(limit, settings.page_size_max),
        offset=offset,
    )
    return service.public(session, rows, today=today)


@router.get("/{coaching_id}", response_model=CoachingDetail)
def get_session(
    coaching_id: int, session: SessionDep, principal: CallReader, zone: OrgZone
) -> CoachingDetail:
    """One session, with the pass rate of each focus criterion before and since it."""
    row = service.visible_session(session, principal, coaching_id)
    return service.detail(session, row, today=datetime.now(zone).date())


@router.patch("/{coaching_id}", response_model=CoachingDetail)
def update_session(
    coaching_id: int,
    body: CoachingUpdate,
    session: SessionDep,
    principal: ReviewWriter,
    zone: OrgZone,
) -> CoachingDetail:
    """Change the note, focus, calls or follow-up; `done: true` closes it."""
    with audited(
        session,
        principal=principal,
        action="coaching_update",
        target_type="coaching",
        target_id=coaching_id,
        detail=", ".join(sorted(body.model_fields_set)) or None,
    ):
        row = service.visible_session(session, principal, coaching_id)
        service.update(session, principal=principal, row=row, changes=body)
    return service.detail(session, row, today=datetime.now(zone).date())


@router.post("/{coaching_id}/acknowledge", response_model=CoachingDetail)
def acknowledge_session(
    coaching_id: int,
    session: SessionDep,
    principal: CallReader,
    zone: OrgZone,
    body: AcknowledgeIn | None = None,
) -> CoachingDetail:
    """The agent confirms their own session, with a comment if they like."""
    with audited(
        session,
        principal=principal,
        action="coaching_acknowledge",
        target_type="coaching",
        target_id=coaching_id,
    ):
        row = service.acknowledge(
            session,
            principal=principal,
            coaching_id=coaching_id,
            comment=body.comment if body else None,
        )
    return service.detail(session, row, today=datetime.now(zone).date())
