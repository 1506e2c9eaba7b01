from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from app.auth import CallManager, CallReader, OrgZone
from app.calls.models import CallType
from app.db import SessionDep
from app.scope import visible_calls
from app.scorecards import service
from app.scorecards.models import ScorecardChoice, ScorecardVersion
from app.timeutil import from_local

router = APIRouter(prefix="/api/v1/scorecards", tags=["scorecards"])


class ScorecardVersionPublic(BaseModel):
    id: int
    name: str
    version: int
    team_id: int | None = Field(description="the team that owns it; null: global (admins only)")
    created_by: str | None
    created_at: datetime


class ScorecardVersionDetail(ScorecardVersionPublic):
    definition: str


class ScorecardCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w.-]+$")
    definition: str = Field(min_length=1, max_length=200_000, description="scorecard YAML")
    team_id: int | None = Field(
        default=None,
        description="a new name's owner: one of the teams a supervisor leads; omitted by an "
        "admin: global. Later versions keep the first one's owner.",
    )


class ChoicePublic(BaseModel):
    id: int
    team_id: int | None
    call_type: str | None
    scorecard: str
    created_by: str | None
    created_at: datetime


class ChoiceIn(BaseModel):
    team_id: int | None = Field(default=None, description="null: every team (admins only)")
    call_type: CallType | None = Field(default=None, description="null: every call type")
    scorecard: str = Field(min_length=1, max_length=100, description="a scorecard name")


class RescoreRequest(BaseModel):
    call_ids: list[int] | None = Field(default=None, max_length=10_000)
    started_from: datetime | None = Field(default=None, alias="from")
    started_to: datetime | None = Field(default=None, alias="to")


class RescoreQueued(BaseModel):
    queued: int
    stage: str


def _public(row: ScorecardVersion) -> ScorecardVersionPublic:
    return ScorecardVersionPublic.model_validate(row, from_attributes=True)


def _choice(row: ScorecardChoice) -> ChoicePublic:
    return ChoicePublic.model_validate(row, from_attributes=True)


@router.get("", response_model=list[ScorecardVersionPublic])
def list_scorecards(session: SessionDep, principal: CallReader) -> list[ScorecardVersionPublic]:
    """Every version of every scorecard one may read: the global ones and one's teams'. The
    built-in default is version 1 of `default`."""
    return [_public(r) for r in service.list_versions(session, principal)]


@router.post("", response_model=ScorecardVersionDetail, status_code=201)
def create_scorecard(
    body: ScorecardCreate, session: SessionDep, principal: CallManager
) -> ScorecardVersionDetail:
    """Store a scorecard definition as the next version of its name (invalid YAML: 422). A
    global scorecard (`default` among them) only an admin may change (403); a team's, its
    supervisors."""
    row = service.create_version(
        session,
        principal=principal,
        name=body.name,
        definition=body.definition,
        team_id=body.team_id,
    )
    return ScorecardVersionDetail(**_public(row).model_dump(), definition=row.definition)


@router.get("/choices", response_model=list[ChoicePublic])
def list_choices(session: SessionDep, principal: CallManager) -> list[ChoicePublic]:
    """Which scorecard scores which calls: per team and/or call type; the most specific wins,
    and calls no choice covers are scored with `default`."""
    return [_choice(r) for r in service.list_choices(session, principal)]


@router.put("/choices", response_model=ChoicePublic)
def set_choice(body: ChoiceIn, session: SessionDep, principal: CallManager) -> ChoicePublic:
    """Choose the scorecard for a team's calls (a supervisor: their teams; the card must be
    global or that team's) or, as an admin, for every team. New scores use it; rescore older
    calls to apply it to them."""
    row = service.set_choice(
        session,
        principal=principal,
        team_id=body.team_id,
        call_type=body.call_type,
        scorecard=body.scorecard,
    )
    return _choice(row)


@router.delete("/choices/{choice_id}", status_code=204)
def delete_choice(choice_id: int, session: SessionDep, principal: CallManager) -> Response:
    """Remove a choice; its calls fall back to the next less specific one."""
    service.delete_choice(session, principal=principal, choice_id=choice_id)
    return Response(status_code=204)


@router.get("/{version_id}", response_model=ScorecardVersionDetail)
def get_scorecard(
    version_id: int, session: SessionDep, principal: CallReader
) -> ScorecardVersionDetail:
    """One scorecard version with its definition (another team's: 404)."""
    row = service.get_version(session, version_id=version_id, principal=principal)
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
    """Score calls again with this version, as jobs; their earlier scores stay readable. A
    supervisor may use a global scorecard or their own team's, on their teams' calls; a team's
    scorecard rescores only that team's calls, whoever asks."""
    version = service.get_version(session, version_id=version_id, principal=principal)
    calls = service.calls_in_range(
        session,
        call_ids=body.call_ids,
        # Times without an offset are the organisation's, as everywhere on the API.
        started_from=from_local(body.started_from, zone) if body.started_from else None,
        started_to=from_local(body.started_to, zone) if body.started_to else None,
        base=visible_calls(principal),
        version=version,
    )
    queued = service.queue_rescore(session, version=version, calls=calls)
    for stage, call_id in queued:
        request.app.state.queue.enqueue_after_commit(session, stage, call_id)
    return RescoreQueued(queued=len(queued), stage=service.rescore_stage(version_id))
