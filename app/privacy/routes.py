"""Legal holds, deleting a call and erasing a customer (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.audit.service import record
from app.auth import PrivacyManager, SettingsDep
from app.calls.models import Call
from app.db import SessionDep
from app.errors import NotFound
from app.privacy import retention, service
from app.privacy.models import HoldKind

router = APIRouter(prefix="/api/v1", tags=["privacy"])


class HoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: HoldKind = Field(
        description="call (by id), agent (external id) or customer (customer_ref)"
    )
    value: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)


class HoldPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: HoldKind
    value: str
    reason: str
    set_by: str
    set_at: datetime
    released_by: str | None
    released_at: datetime | None


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_ref: str = Field(min_length=1, max_length=200)
    dry_run: bool = Field(default=False, description="only report what would go")


class RemovalReport(BaseModel):
    calls: list[int] = Field(description="calls removed (or, in a dry run, that would be)")
    held: list[int] = Field(description="calls kept whole because a legal hold covers them")
    rows: dict[str, int] = Field(description="rows removed per table")
    recordings: int = Field(description="recording files removed")
    dry_run: bool = False


@router.get("/holds", response_model=list[HoldPublic])
def get_holds(session: SessionDep, principal: PrivacyManager, active: bool = True) -> list[Any]:
    return service.list_holds(session, active_only=active)


@router.post("/holds", response_model=HoldPublic, status_code=201)
def add_hold(body: HoldCreate, session: SessionDep, principal: PrivacyManager) -> Any:
    return service.set_hold(
        session, kind=body.kind, value=body.value, reason=body.reason, by=principal
    )


@router.post("/holds/{hold_id}/release", response_model=HoldPublic)
def release(hold_id: int, session: SessionDep, principal: PrivacyManager) -> Any:
    return service.release_hold(session, hold_id=hold_id, by=principal)


@router.delete("/calls/{call_id}", response_model=RemovalReport)
def delete_call(
    call_id: int, session: SessionDep, settings: SettingsDep, principal: PrivacyManager
) -> RemovalReport:
    """Delete a call and every trace of it (409 while a legal hold covers it)."""
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"no call {call_id}")
    removal = service.delete_call(session, settings, call=call)
    record(
        session,
        principal=principal,
        action="call_delete",
        target_type="call",
        target_id=call_id,
        detail=_summary(removal),
    )
    return RemovalReport(**removal.to_dict())  # type: ignore[arg-type]


@router.post("/erasure", response_model=RemovalReport)
def erase(
    body: ErasureRequest, session: SessionDep, settings: SettingsDep, principal: PrivacyManager
) -> RemovalReport:
    """Erase everything about one customer: their calls with recordings, transcripts, scores,
    reviews and notes, except calls a legal hold covers (listed as `held`)."""
    removal = service.erase_customer(
        session, settings, customer_ref=body.customer_ref, dry_run=body.dry_run
    )
    if not body.dry_run:
        record(
            session,
            principal=principal,
            action="erasure",
            target_type="customer",
            target_id=f"{len(removal.calls)} call(s)",
            detail=_summary(removal),
        )
    return RemovalReport(**removal.to_dict(), dry_run=body.dry_run)  # type: ignore[arg-type]


def _summary(removal: service.Removal) -> str:
    rows = ", ".join(f"{n} {t}" for t, n in sorted(removal.rows.items()) if n)
    held = f"; kept under hold: {removal.held}" if removal.held else ""
    return f"calls {removal.calls}, {removal.recordings} recording(s); {rows}{held}"


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str | None = Field(default=None, description="team name; empty: every team")
    call_type: str | None = Field(default=None, description="e.g. sales; empty: every type")
    audio_days: int | None = Field(
        default=None, ge=0, description="days the recording is kept; empty: forever, 0: next sweep"
    )
    data_days: int | None = Field(
        default=None,
        ge=0,
        description="days transcript, scores, reviews and customer fields are kept",
    )


class PolicyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    team_id: int | None
    call_type: str | None
    audio_days: int | None
    data_days: int | None
    created_by: str
    created_at: datetime


class SweepPublic(BaseModel):
    audio: list[int] = Field(description="calls whose recording was (or would be) deleted")
    data: list[int] = Field(description="calls whose words, scores and customer fields went")
    held: list[int] = Field(description="due, but kept whole by a legal hold")
    dry_run: bool


@router.get("/retention-policies", response_model=list[PolicyPublic])
def get_policies(session: SessionDep, principal: PrivacyManager) -> list[Any]:
    return retention.list_policies(session)


@router.put("/retention-policies", response_model=PolicyPublic)
def put_policy(body: PolicyIn, session: SessionDep, principal: PrivacyManager) -> Any:
    """Create or replace the policy for one team / call type (both empty: everyone)."""
    policy = retention.set_policy(session, **body.model_dump(), by=principal.name)
    record(
        session,
        principal=principal,
        action="retention_policy",
        target_type="retention_policy",
        target_id=policy.id,
        detail=f"team {body.team or 'any'}, type {body.call_type or 'any'}: audio "
        f"{body.audio_days if body.audio_days is not None else 'forever'} d, data "
        f"{body.data_days if body.data_days is not None else 'forever'} d",
    )
    return policy


@router.delete("/retention-policies/{policy_id}", status_code=204)
def remove_policy(policy_id: int, session: SessionDep, principal: PrivacyManager) -> None:
    retention.delete_policy(session, policy_id=policy_id)
    record(
        session,
        principal=principal,
        action="retention_policy",
        target_type="retention_policy",
        target_id=policy_id,
        detail="deleted",
    )


@router.post("/retention/sweep", response_model=SweepPublic)
def run_sweep(
    session: SessionDep, settings: SettingsDep, principal: PrivacyManager, dry_run: bool = True
) -> SweepPublic:
    """What the daily sweep removes now; `dry_run=false` to remove it at once."""
    report = retention.sweep(session, settings, dry_run=dry_run)
    return SweepPublic(**report.to_dict())  # type: ignore[arg-type]
