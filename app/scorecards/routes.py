from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from app.auth import CallManager, CallReader, OrgZone
from app.db import SessionDep
from app.scope import visible_calls
from app.scorecards import service
from app.scorecards.models import ScorecardVersion
from app.timeutil import from_local

router = APIRouter(prefix="/api/v1/scorecards", tags=["scorecards"])


class ScorecardVersionPublic(BaseModel):
    id: int
    name: str
    version: int
    created_by: str | None
    created_at: datetime


class ScorecardVersionDetail(ScorecardVersionPublic):
    definition: str


class ScorecardCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w.-]+$")
    definition: str = Field(min_length=1, max_length=200_000, description="scorecard YAML")


class RescoreRequest(BaseModel):
    call_ids: list[int] | None = Field(default=None, max_length=10_000)
    started_from: datetime | None = Field(default=None, alias="from")
    started_to: datetime | None = Field(default=None, alias="to")


class RescoreQueued(BaseModel):
    queued: int
    stage: str


def _public(row: ScorecardVersion) -> ScorecardVersionPublic:
    return ScorecardVersionPublic.model_validate(row, from_attributes=True)


@router.get("", response_model=list[ScorecardVersionPublic])
def list_scorecards(session: SessionDep, principal: CallReader) -> list[ScorecardVersionPublic]:
    """Every version of every scorecard; the built-in default is version 1 of `default`."""
    return [_public(r) for r in service.list_versions(session)]


@router.post("", response_model=ScorecardVersionDetail, status_code=201)
def create_scorecard(
    body: ScorecardCreate, session: SessionDep, principal: CallManager
) -> ScorecardVersionDetail:
    """Store a scorecard definition as the next version of its name (invalid YAML: 422)."""
    row = service.create_version(
        session, name=body.name, definition=body.definition, created_by=principal.name
    )
    return ScorecardVersionDetail(**_public(row).model_dump(), definition=row.definition)


@router.get("/{version_id}", response_model=ScorecardVersionDetail)
def get_scorecard(
    version_id: int, session: SessionDep, principal: CallReader
) -> ScorecardVersionDetail:
    """One scorecard version with its definition."""
    row = service.get_version(session, version_id=version_id)
    return ScorecardVersionDetail(**_public(row).model_dump(), definition=row.definition)


@router.post("/{version_id}/rescore", response_model=RescoreQueued, status_code=202)
def rescore(
    version_id: int,
    body: RescoreRequest,
    request: Request,
    session: SessionDep,
    principal: CallManager,
    zone: OrgZone,
) -> RescoreQueued:
    """Score calls again with this version, as jobs; their earlier scores stay readable."""
    version = service.get_version(session, version_id=version_id)
    calls = service.calls_in_range(
        session,
        call_ids=body.call_ids,
        # Times without an offset are the organisation's, as everywhere on the API.
        started_from=from_local(body.started_from, zone) if body.started_from else None,
        started_to=from_local(body.started_to, zone) if body.started_to else None,
        base=visible_calls(principal),
    )
    queued = service.queue_rescore(session, version=version, calls=calls)
    for stage, call_id in queued:
        request.app.state.queue.enqueue_after_commit(session, stage, call_id)
    return RescoreQueued(queued=len(queued), stage=service.rescore_stage(version_id))
