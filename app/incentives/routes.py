from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from app.auth import (
    CallReader,
    IncentiveLocker,
    IncentiveManager,
    IncentiveTeamReader,
    OrgZone,
    OutcomeWriter,
    PayrollReader,
)
from app.csvexport import csv_response, wants_csv
from app.db import SessionDep, rollback
from app.errors import BadRequest, NotFound
from app.incentives import service
from app.incentives.schemas import (
    ImportPublic,
    IncentivePage,
    IncentivePublic,
    PeriodPublic,
    RulesIn,
    RulesPublic,
    csv_export,
    to_public,
)
from app.timeutil import utcnow
from app.users.models import Role

router = APIRouter(prefix="/api/v1", tags=["incentives"])


@router.get("/incentives", response_model=IncentivePage)
def payroll(
    request: Request,
    session: SessionDep,
    principal: PayrollReader,
    period: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    format: str | None = None,
) -> IncentivePage | Response:
    """For payroll (an API key with `incentives:read`): one line per agent, ordered by the
    agent's external id; JSON, or CSV with `Accept: text/csv`. Open periods are provisional:
    their lines are as last computed (`computed_at`; null, with no lines, if never)."""
    row, lines = service.read_lines(session, period, principal=None)
    items = [to_public(row, p) for p in lines]
    if wants_csv(request, format):
        return csv_export(items, period)
    return IncentivePage(
        period=period,
        status=row.status,
        computed_at=row.computed_at,
        items=items[offset : offset + limit],
        total=len(items),
        limit=limit,
        offset=offset,
    )


@router.get("/incentives/team", response_model=IncentivePage)
def team_incentives(
    request: Request,
    session: SessionDep,
    principal: IncentiveTeamReader,
    zone: OrgZone,
    period: str,
    format: str | None = None,
) -> IncentivePage | Response:
    """The lines of the agents you may see (supervisors: your teams), as last computed
    (`computed_at`; null, with no lines, for an open period never computed)."""
    row, lines = service.read_lines(session, period, principal=principal)
    items = [to_public(row, p) for p in lines]
    if wants_csv(request, format):
        return csv_export(items, period)
    return IncentivePage(
        period=period,
        status=row.status,
        computed_at=row.computed_at,
        items=items,
        total=len(items),
        limit=len(items),
        offset=0,
    )


@router.get("/me/incentives", response_model=IncentivePublic)
def my_incentives(
    session: SessionDep, principal: CallReader, zone: OrgZone, period: str | None = None
) -> IncentivePublic:
    """Your own line and what is still missing (agents); the current month by default, as last
    computed (404 for a month not computed yet)."""
    if principal.role is not Role.agent or principal.agent_id is None:
        raise NotFound("only agents have their own incentive line")
    period = period or service.period_of(utcnow(), zone)
    row, lines = service.read_lines(
        session, period, principal=principal, agent_id=principal.agent_id
    )
    if row.computed_at is None:
        raise NotFound(f"{period} has not been computed yet: try again in a few minutes")
    if not lines:
        raise NotFound(f"no calls of yours in {period} yet")
    return to_public(row, lines[0])


@router.get("/incentives/periods", response_model=list[PeriodPublic])
def periods(session: SessionDep, principal: IncentiveTeamReader) -> list[PeriodPublic]:
    """Every period seen so far, the newest first."""
    return [
        PeriodPublic.model_validate(r, from_attributes=True) for r in service.list_periods(session)
    ]


@router.post("/incentives/periods/{period}/compute", response_model=PeriodPublic)
def compute_period(
    period: str, session: SessionDep, principal: IncentiveTeamReader, zone: OrgZone
) -> PeriodPublic:
    """Recompute an open period's lines now (the worker does it every few minutes for this
    month and the last); 409 once the period is locked."""
    row = service.compute(session, period, zone=zone)
    return PeriodPublic.model_validate(row, from_attributes=True)


@router.post("/incentives/periods/{period}/lock", response_model=PeriodPublic)
def lock_period(
    period: str, session: SessionDep, principal: IncentiveLocker, zone: OrgZone
) -> PeriodPublic:
    """Freeze the period for every team (409 listing any undecided disputes on its calls): an
    admin's act, not a supervisor's. Later changes to its calls become adjustment lines in the
    next open period."""
    row = service.lock(session, period, by=principal.name, zone=zone)
    return PeriodPublic.model_validate(row, from_attributes=True)


@router.get("/incentives/rules", response_model=list[RulesPublic])
def list_rules(session: SessionDep, principal: IncentiveTeamReader) -> list[RulesPublic]:
    """Every version of the bonus rules; the built-in ones are version 1."""
    return [
        RulesPublic.model_validate(r, from_attributes=True) for r in service.list_rules(session)
    ]


@router.post("/incentives/rules", response_model=RulesPublic, status_code=201)
def create_rules(body: RulesIn, session: SessionDep, principal: IncentiveManager) -> RulesPublic:
    """Store the next version of the bonus rules (YAML; see scorecards/bonus_default.yaml)."""
    row = service.create_rules(session, definition=body.definition, created_by=principal.name)
    return RulesPublic.model_validate(row, from_attributes=True)


@router.post("/outcomes/import", response_model=ImportPublic)
def import_outcomes(
    session: SessionDep,
    principal: OutcomeWriter,
    file: Annotated[UploadFile, File(description="CSV: external_id, deal_closed, deal_value")],
    dry_run: bool = False,
) -> ImportPublic | JSONResponse:
    """Deals from a CRM export, matched on the call's external_id. All or nothing: with any
    rejected row (422) nothing changes, and the report says which rows and why."""
    # A plain def (FastAPI's thread pool): the import is database work, kept off the event loop.
    raw = file.file.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("the file is not UTF-8 text") from None
    report = service.import_outcomes(session, text=text, principal=principal, dry_run=dry_run)
    body = ImportPublic(rows=report.rows, applied=report.applied, rejected=report.rejected)
    if report.rejected:
        rollback(session)  # returning a response commits: make sure there is nothing to commit
        return JSONResponse(body.model_dump(), status_code=422)
    return body


class PerformanceRow(BaseModel):
    key: str
    name: str | None
    figures: dict[str, Any]


class BandPublic(BaseModel):
    band: str
    calls: int
    sales_calls: int
    deals: int
    conversion: float | None
    average_length_seconds: float | None


@router.get("/performance", response_model=list[PerformanceRow])
def performance(
    request: Request,
    session: SessionDep,
    principal: IncentiveTeamReader,
    zone: OrgZone,
    period: str,
    group: str = "agent",
    format: str | None = None,
) -> list[PerformanceRow] | Response:
    """Calls, inbound/outbound, average handle time, talk and hold shares, sales calls, deals,
    conversion, revenue, average scores and share reviewed, per agent or team."""
    rows = [
        PerformanceRow(key=k, name=n, figures=f.to_dict())
        for k, n, f in service.performance(
            session, principal=principal, period=period, group=group, zone=zone
        )
    ]
    if wants_csv(request, format):
        keys = [
            "calls",
            "inbound",
            "outbound",
            "average_handle_seconds",
            "talk_share",
            "hold_share",
            "sales_calls",
            "deals",
            "conversion",
            "revenue",
            "reviewed_share",
        ]
        return csv_response(
            [group, "name", *keys, "overall"],
            [
                [r.key, r.name, *(r.figures[k] for k in keys), r.figures["scores"].get("overall")]
                for r in rows
            ],
            filename=f"performance-{period}.csv",
        )
    return rows


@router.get("/performance/service-sales", response_model=list[BandPublic])
def service_sales(
    session: SessionDep,
    principal: IncentiveTeamReader,
    zone: OrgZone,
    period: str,
    team: int | None = None,
) -> list[BandPublic]:
    """Does better service sell more? Score bands against conversion and call length."""
    return [
        BandPublic(
            band=c.band,
            calls=c.calls,
            sales_calls=c.sales_calls,
            deals=c.deals,
            conversion=c.conversion,
            average_length_seconds=c.average_length,
        )
        for c in service.service_vs_sales(
            session, principal=principal, period=period, team_id=team, zone=zone
        )
    ]
