"""What the incentive API and pages answer: the pay lines as published, and their CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app.csvexport import csv_response
from app.incentives.models import IncentivePeriod, PeriodStatus
from app.incentives.service import PayLine


class AdjustmentPublic(BaseModel):
    for_period: str
    amount: str
    reason: str = "figures of a locked period changed after it was locked"


class IncentivePublic(BaseModel):
    agent: str = Field(description="the agent's external id")
    name: str | None
    team: str | None
    calls: int
    counted_calls: int
    sales_calls: int
    deals: int
    counted_deals: int
    revenue: str
    conversion: float | None
    average_scores: dict[str, float | None]
    eligible: bool
    amount: str = Field(description="this period's line plus any adjustments it carries")
    currency: str
    rule_version: int | None
    scorecard_versions: list[int]
    period: str
    period_status: PeriodStatus
    provisional: bool = Field(description="true until the period is locked")
    computed_at: datetime | None = Field(
        None,
        description="when the period's lines were computed (open periods: by the worker "
        "every few minutes, or POST /incentives/periods/{period}/compute)",
    )
    adjustments: list[AdjustmentPublic]
    checks: list[dict[str, Any]] = Field(description="every rule: passed, figure, threshold")


class IncentivePage(BaseModel):
    period: str
    status: PeriodStatus
    computed_at: datetime | None = Field(
        description="null for an open period not computed yet: it has no lines so far"
    )
    items: list[IncentivePublic]
    total: int
    limit: int
    offset: int


class PeriodPublic(BaseModel):
    period: str
    status: PeriodStatus
    rule_version_id: int | None
    computed_at: datetime | None
    locked_at: datetime | None
    locked_by: str | None
    time_zone: str = Field(description="whose months these are: the organisation's, frozen at lock")


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    definition: str = Field(min_length=1, max_length=200_000)


class RulesPublic(BaseModel):
    id: int
    name: str
    version: int
    definition: str
    created_at: datetime


class ImportPublic(BaseModel):
    rows: int
    applied: int
    rejected: list[dict[str, Any]]
    mode: str = "all-or-nothing: one rejected row and no row is applied"


def to_public(row: IncentivePeriod, pay: PayLine) -> IncentivePublic:
    line = pay.regular
    figs = line.figures if line else {}
    return IncentivePublic(
        agent=pay.agent.external_id,
        name=pay.agent.name,
        team=pay.team,
        calls=figs.get("calls", 0),
        counted_calls=figs.get("counted_calls", 0),
        sales_calls=figs.get("sales_calls", 0),
        deals=figs.get("deals", 0),
        counted_deals=figs.get("counted_deals", 0),
        revenue=figs.get("revenue", "0.00"),
        conversion=figs.get("conversion"),
        average_scores=figs.get("scores", {}),
        eligible=bool(line and line.eligible),
        amount=str(pay.amount),
        currency=(line or pay.adjustments[0]).currency if (line or pay.adjustments) else "EUR",
        rule_version=line.rule_version_id if line else None,
        scorecard_versions=line.scorecard_versions if line else [],
        period=row.period,
        period_status=row.status,
        provisional=row.status is PeriodStatus.open,
        computed_at=row.computed_at,
        adjustments=[
            AdjustmentPublic(for_period=a.for_period, amount=str(a.amount)) for a in pay.adjustments
        ],
        checks=line.checks if line else [],
    )


_CSV_HEADER = [
    "agent",
    "name",
    "team",
    "calls",
    "deals",
    "revenue",
    "overall",
    "reliability",
    "responsiveness",
    "empathy",
    "competence",
    "personal_touch",
    "script_compliance",
    "eligible",
    "amount",
    "currency",
    "rule_version",
    "period",
    "period_status",
    "provisional",
]


def csv_export(items: list[IncentivePublic], period: str) -> Response:
    return csv_response(
        _CSV_HEADER,
        [
            [
                i.agent,
                i.name,
                i.team,
                i.calls,
                i.deals,
                i.revenue,
                *(
                    i.average_scores.get(k)
                    for k in (
                        "overall",
                        "reliability",
                        "responsiveness",
                        "empathy",
                        "competence",
                        "personal_touch",
                        "script_compliance",
                    )
                ),
                i.eligible,
                i.amount,
                i.currency,
                i.rule_version,
                i.period,
                i.period_status.value,
                i.provisional,
            ]
            for i in items
        ],
        filename=f"incentives-{period}.csv",
    )
