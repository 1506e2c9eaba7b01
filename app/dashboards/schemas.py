from __future__ import annotations

from pydantic import BaseModel, Field

from app.dashboards.service import AgentRow, Summary
from scorecards.rollup import Estimate


class EstimatePublic(BaseModel):
    mean: float | None
    n: int = Field(description="how many calls the figure rests on")
    ci95: tuple[float, float] | None = Field(description="95 % confidence interval")

    @classmethod
    def of(cls, e: Estimate, digits: int = 1) -> EstimatePublic:
        r = lambda v: None if v is None else round(v, digits)  # noqa: E731
        ci = (r(e.low), r(e.high)) if e.low is not None and e.high is not None else None
        return cls(mean=r(e.mean), n=e.n, ci95=ci)  # type: ignore[arg-type]


class WeekPoint(BaseModel):
    week: str
    value: EstimatePublic


class AgentRowPublic(BaseModel):
    agent_id: int
    agent: str
    name: str | None
    team: str | None
    calls: int
    overall: EstimatePublic
    dimensions: dict[str, float | None]
    share_reviewed: float | None
    deals_closed: int
    average_length_seconds: float | None

    @classmethod
    def of(cls, a: AgentRow) -> AgentRowPublic:
        return cls(
            agent_id=a.agent_id,
            agent=a.external_id,
            name=a.name,
            team=a.team,
            calls=a.calls,
            overall=EstimatePublic.of(a.overall),
            dimensions={k: None if v is None else round(v, 1) for k, v in a.dimensions.items()},
            share_reviewed=None if a.reviewed is None else round(a.reviewed, 3),
            deals_closed=a.deals_closed,
            average_length_seconds=None if a.average_length is None else round(a.average_length, 1),
        )


class DashboardPublic(BaseModel):
    calls: int
    inbound: int
    outbound: int
    average_length_seconds: EstimatePublic
    deals_closed: int
    sales_calls: int
    share_reviewed: EstimatePublic
    auto_fails: int
    first_contact_resolution: EstimatePublic = Field(
        description="share of calls whose customer did not call again within CALLQA_FCR_DAYS "
        "(target 0.80)"
    )
    scores: dict[str, EstimatePublic]
    trend: dict[str, list[WeekPoint]]
    distribution: list[int] = Field(description="overall scores in 10-point bins, 0-100")
    agents: list[AgentRowPublic]

    @classmethod
    def of(cls, s: Summary) -> DashboardPublic:
        return cls(
            calls=s.calls,
            inbound=s.inbound,
            outbound=s.outbound,
            average_length_seconds=EstimatePublic.of(s.average_length),
            deals_closed=s.deals_closed,
            sales_calls=s.sales_calls,
            share_reviewed=EstimatePublic.of(s.reviewed, 3),
            auto_fails=s.auto_fails,
            first_contact_resolution=EstimatePublic.of(s.fcr, 3),
            scores={k: EstimatePublic.of(v) for k, v in s.scores.items()},
            trend={
                k: [WeekPoint(week=w, value=EstimatePublic.of(e)) for w, e in v]
                for k, v in s.trend.items()
            },
            distribution=s.distribution,
            agents=[AgentRowPublic.of(a) for a in s.agents],
        )


AGENT_CSV_HEADER = [
    "agent",
    "name",
    "team",
    "calls",
    "overall",
    "overall_ci_low",
    "overall_ci_high",
    "reliability",
    "responsiveness",
    "empathy",
    "competence",
    "personal_touch",
    "script_compliance",
    "share_reviewed",
    "deals_closed",
    "average_length_seconds",
]


def agent_csv_rows(summary: Summary) -> list[list[object]]:
    return [
        [
            a.external_id,
            a.name,
            a.team,
            a.calls,
            a.overall.mean,
            a.overall.low,
            a.overall.high,
            *(
                a.dimensions[d]
                for d in (
                    "reliability",
                    "responsiveness",
                    "empathy",
                    "competence",
                    "personal_touch",
                    "script_compliance",
                )
            ),
            a.reviewed,
            a.deals_closed,
            a.average_length,
        ]
        for a in summary.agents
    ]
