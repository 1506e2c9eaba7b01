from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from app.audit import service
from app.auth import AuditReader, SettingsDep
from app.csvexport import csv_requested, csv_response, wants_csv
from app.db import SessionDep, writes_audit
from app.ranges import Dates

router = APIRouter(prefix="/api/v1", tags=["audit"])


class AuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor_kind: str
    actor_name: str
    action: str
    target_type: str
    target_id: str
    outcome: str
    detail: str | None


class AuditPage(BaseModel):
    items: list[AuditPublic]
    total: int


@router.get("/audit", response_model=AuditPage)
@writes_audit(when=csv_requested)
def read_audit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: AuditReader,
    dates: Dates,
    action: str | None = None,
    actor: str | None = None,
    outcome: str | None = None,
    limit: Annotated[int, Query(ge=1)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    format: str | None = None,
) -> AuditPage | Response:
    """The audit log (admins): plays, downloads, exports, transcript views, overrides and
    dispute decisions, refusals included. Append-only."""
    csv = wants_csv(request, format)
    rows, total = service.list_events(
        session,
        action=action,
        actor=actor,
        outcome=outcome,
        started_from=dates.started_from,
        started_to=dates.started_to,
        limit=1_000_000 if csv else min(limit, settings.page_size_max),
        offset=offset,
    )
    if csv:
        with service.audited(
            session, principal=principal, action="export", target_type="audit", target_id="log"
        ):
            pass
        return csv_response(
            [
                "id",
                "at",
                "actor_kind",
                "actor",
                "action",
                "target_type",
                "target_id",
                "outcome",
                "detail",
            ],
            [
                (
                    e.id,
                    e.at,
                    e.actor_kind,
                    e.actor_name,
                    e.action,
                    e.target_type,
                    e.target_id,
                    e.outcome,
                    e.detail,
                )
                for e in rows
            ],
            filename="audit.csv",
        )
    return AuditPage(items=[AuditPublic.model_validate(e) for e in rows], total=total)
