from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app.alerts import service
from app.alerts.models import Alert, RuleKind
from app.audit.service import audited
from app.auth import AlertManager, AlertReader, SettingsDep
from app.csvexport import csv_requested, csv_response, wants_csv
from app.db import SessionDep, after_commit, writes_audit

router = APIRouter(prefix="/api/v1", tags=["alerts"])


class AlertPublic(BaseModel):
    id: int
    rule_id: int
    kind: RuleKind
    message: str
    call_id: int | None
    agent: str | None
    link: str
    created_at: datetime
    acknowledged_at: datetime | None
    resolution: str | None = None
    delivered_at: datetime | None


class AlertPage(BaseModel):
    items: list[AlertPublic]
    total: int


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    kind: RuleKind
    params: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class RuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    params: dict[str, Any] | None = None
    enabled: bool | None = None


class RulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    kind: RuleKind
    params: dict[str, Any]
    enabled: bool


class SweepPublic(BaseModel):
    raised: int
    delivered: int | None = Field(
        None,
        description="0 without a webhook; null with one: alerts are sent to it once the "
        "sweep's unit of work has committed, after this answer (see each alert's delivered_at)",
    )
    delivery: str


def _public(alert: Alert, agent: str | None) -> AlertPublic:
    return AlertPublic(
        id=alert.id or 0,
        rule_id=alert.rule_id,
        kind=alert.kind,
        message=alert.message,
        call_id=alert.call_id,
        agent=agent,
        link=service.payload(alert, agent)["link"],
        created_at=alert.created_at,
        acknowledged_at=alert.acknowledged_at,
        resolution=alert.resolution,
        delivered_at=alert.delivered_at,
    )


@router.get("/alerts", response_model=AlertPage)
@writes_audit(when=csv_requested)
def list_alerts(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: AlertReader,
    open_only: Annotated[bool, Query(alias="open")] = False,
    kind: RuleKind | None = None,
    limit: Annotated[int, Query(ge=1)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    format: str | None = None,
) -> AlertPage | Response:
    """Alerts on the calls and agents you may see, newest first; CSV with Accept: text/csv."""
    csv = wants_csv(request, format)
    rows, total = service.list_alerts(
        session,
        principal=principal,
        open_only=open_only,
        kind=kind,
        limit=100_000 if csv else min(limit, settings.page_size_max),
        offset=offset,
    )
    items = [_public(a, agent) for a, agent in rows]
    if csv:
        with audited(
            session,
            principal=principal,
            action="export",
            target_type="alerts",
            target_id="list",
            detail=f"{len(items)} rows",
        ):
            pass
        return csv_response(service.CSV_HEADER, service.csv_rows(rows), filename="alerts.csv")
    return AlertPage(items=items, total=total)


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertPublic)
def acknowledge(alert_id: int, session: SessionDep, principal: AlertReader) -> AlertPublic:
    alert = service.acknowledge(session, principal=principal, alert_id=alert_id)
    return _public(alert, service.agent_of(session, alert))


@router.get("/alert-rules", response_model=list[RulePublic])
def list_rules(session: SessionDep, principal: AlertReader) -> list[RulePublic]:
    return [RulePublic.model_validate(r) for r in service.list_rules(session)]


@router.post("/alert-rules", response_model=RulePublic, status_code=201)
def create_rule(body: RuleIn, session: SessionDep, principal: AlertManager) -> RulePublic:
    """Kinds and their parameters: score_below (dimension, threshold), auto_fail,
    negative_ending (threshold), dead_air (seconds), weekly_below (dimension, target,
    min_calls), review_sla (hours), repeat_call (days), channel_swapped (the words contradict
    the agent channel named at upload)."""
    rule = service.create_rule(
        session,
        by=principal,
        name=body.name,
        kind=body.kind,
        params=body.params,
        enabled=body.enabled,
    )
    return RulePublic.model_validate(rule)


@router.patch("/alert-rules/{rule_id}", response_model=RulePublic)
def update_rule(
    rule_id: int, body: RuleUpdate, session: SessionDep, principal: AlertManager
) -> RulePublic:
    rule = service.update_rule(
        session,
        by=principal,
        rule_id=rule_id,
        name=body.name,
        params=body.params,
        enabled=body.enabled,
    )
    return RulePublic.model_validate(rule)


@router.post("/alerts/sweep", response_model=SweepPublic)
def sweep(
    request: Request, session: SessionDep, settings: SettingsDep, principal: AlertManager
) -> SweepPublic:
    """Evaluate the rules over time now (workers also do it every CALLQA_ALERT_SWEEP_SECONDS)."""
    raised = service.sweep(session, settings=settings)
    if not settings.alert_webhook_url:
        return SweepPublic(raised=raised, delivered=0, delivery="no webhook configured")
    engine = request.app.state.engine
    after_commit(session, lambda: service.deliver_pending(engine, settings))
    return SweepPublic(raised=raised, delivery="to the webhook after commit")
