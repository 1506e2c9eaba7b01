from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.audit.service import audited
from app.auth import CallReader, ReviewWriter, SettingsDep
from app.csvexport import csv_requested, csv_response, wants_csv
from app.dashboards import service
from app.dashboards.schemas import (
    AGENT_CSV_HEADER,
    DashboardPublic,
    EstimatePublic,
    agent_csv_rows,
)
from app.db import SessionDep, writes_audit
from app.errors import NotFound
from app.ranges import DateRange, Dates
from app.reviews.service import reviews_of
from app.shopper import service as shopper

router = APIRouter(prefix="/api/v1", tags=["dashboards"])


class ScorecardCall(BaseModel):
    call_id: int
    started_at: datetime
    direction: str
    call_type: str
    duration_seconds: float
    overall: float | None
    dimensions: dict[str, float | None]
    auto_fail: bool
    reviewed: bool
    coaching_notes: list[str]


class SourcePublic(BaseModel):
    source: str = Field(description="automatic (machine, not reviewed), review, or shopper")
    weight: float
    overall: EstimatePublic
    dimensions: dict[str, float | None]


class ShopperVisit(BaseModel):
    id: int
    submitted_at: datetime
    channel: str
    overall: float | None
    dimensions: dict[str, float | None]
    matched_call_id: int | None


class AgentScorecard(BaseModel):
    agent_id: int
    agent: str
    name: str | None
    team: str | None
    summary: DashboardPublic
    sources: list[SourcePublic]
    blended_overall: float | None = Field(
        description="the sources' overalls weighted by CALLQA_SOURCE_WEIGHTS"
    )
    calls: list[ScorecardCall]
    shopper_visits: list[ShopperVisit]


@router.get("/dashboard", response_model=DashboardPublic)
@writes_audit(when=csv_requested)
def dashboard(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: ReviewWriter,
    dates: Dates,
    team: int | None = None,
    agent: int | None = None,
    format: str | None = None,
) -> DashboardPublic | Response:
    """Averages per dimension with n and 95 % interval, weekly trend, distribution, call
    counts, length, deals, share reviewed and first-contact resolution; per agent as CSV."""
    summary = service.dashboard(
        session,
        principal=principal,
        team_id=team,
        agent_id=agent,
        started_from=dates.started_from,
        started_to=dates.started_to,
        fcr_days=settings.fcr_days,
        zone=settings.zone,
    )
    if wants_csv(request, format):
        with audited(
            session,
            principal=principal,
            action="export",
            target_type="dashboard",
            target_id=f"team={team} agent={agent}",
        ):
            pass
        return csv_response(AGENT_CSV_HEADER, agent_csv_rows(summary), filename="agents.csv")
    return DashboardPublic.of(summary)


class MissedPublic(BaseModel):
    criterion: str
    label: str
    dimension: str
    judged: int = Field(description="calls that judged it (it applied)")
    missed: int
    share: float = Field(description="missed / judged")
    calls: list[int] = Field(description="the calls that missed it, oldest first")


class AgentMissedPublic(BaseModel):
    agent_id: int
    agent: str
    calls: int
    missed: list[MissedPublic] = Field(description="this agent's three most missed")


class MissedReport(BaseModel):
    criteria: list[MissedPublic] = Field(description="the ten most missed, by share")
    agents: list[AgentMissedPublic]


def _missed(m: service.Missed) -> MissedPublic:
    return MissedPublic(**{k: getattr(m, k) for k in MissedPublic.model_fields})


@router.get("/dashboard/missed", response_model=MissedReport)
def missed_criteria(
    session: SessionDep,
    settings: SettingsDep,
    principal: ReviewWriter,
    dates: Dates,
    team: int | None = None,
    agent: int | None = None,
) -> MissedReport:
    """The criteria missed most often in the dashboard's calls (reviewers' verdicts replace
    the machine's), overall and per agent, each with the calls that missed it."""
    _, rows = service.dashboard_rows(
        session,
        principal=principal,
        team_id=team,
        agent_id=agent,
        started_from=dates.started_from,
        started_to=dates.started_to,
        fcr_days=settings.fcr_days,
        zone=settings.zone,
    )
    return MissedReport(
        criteria=[_missed(m) for m in service.missed_criteria(rows)],
        agents=[
            AgentMissedPublic(
                agent_id=a.agent_id,
                agent=a.external_id,
                calls=a.calls,
                missed=[_missed(m) for m in a.missed],
            )
            for a in service.missed_by_agent(session, rows)
        ],
    )


def _scorecard(
    session: SessionDep,
    principal: CallReader,
    settings: SettingsDep,
    agent_id: int,
    dates: DateRange,
) -> AgentScorecard:
    card = service.agent_card(
        session,
        principal=principal,
        agent_id=agent_id,
        started_from=dates.started_from,
        started_to=dates.started_to,
        fcr_days=settings.fcr_days,
        zone=settings.zone,
    )
    calls = []
    for s in card.calls:
        notes = (
            [
                r.coaching_note
                for r in reviews_of(session, call_id=s.call.id or 0)
                if r.coaching_note
            ]
            if s.reviewed
            else []
        )
        calls.append(
            ScorecardCall(
                call_id=s.call.id or 0,
                started_at=s.call.started_at,
                direction=s.call.direction.value,
                call_type=s.call.call_type.value,
                duration_seconds=s.call.duration_seconds,
                overall=s.value("overall"),
                dimensions={
                    f: s.value(f)
                    for f in (
                        "reliability",
                        "responsiveness",
                        "empathy",
                        "competence",
                        "personal_touch",
                        "script_compliance",
                    )
                },
                auto_fail=s.auto_fail,
                reviewed=s.reviewed,
                coaching_notes=notes,
            )
        )
    found, blended = shopper.sources(
        session,
        settings=settings,
        agent_id=agent_id,
        calls=card.calls,
        started_from=dates.started_from,
        started_to=dates.started_to,
    )
    visits = [
        ShopperVisit(
            id=v.id or 0,
            submitted_at=v.submitted_at,
            channel=v.channel,
            overall=v.overall,
            dimensions={
                f: getattr(v, f)
                for f in (
                    "reliability",
                    "responsiveness",
                    "empathy",
                    "competence",
                    "personal_touch",
                    "script_compliance",
                )
            },
            matched_call_id=v.matched_call_id,
        )
        for v in shopper.visits_of(session, agent_id=agent_id)
    ]
    return AgentScorecard(
        agent_id=card.agent.id or 0,
        agent=card.agent.external_id,
        name=card.agent.name,
        team=card.team,
        summary=DashboardPublic.of(card.summary),
        sources=[
            SourcePublic(
                source=s.name,
                weight=s.weight,
                overall=EstimatePublic.of(s.overall),
                dimensions=s.dimensions,
            )
            for s in found
        ],
        blended_overall=blended,
        calls=calls,
        shopper_visits=visits,
    )


@router.get("/agents/{agent_id}/scorecard", response_model=AgentScorecard)
def agent_scorecard(
    agent_id: int,
    session: SessionDep,
    settings: SettingsDep,
    principal: CallReader,
    dates: Dates,
) -> AgentScorecard:
    """An agent's scorecard: reviewed scores where reviewed, trend, calls and coaching notes."""
    return _scorecard(session, principal, settings, agent_id, dates)


@router.get("/me/scorecard", response_model=AgentScorecard)
def my_scorecard(
    session: SessionDep,
    settings: SettingsDep,
    principal: CallReader,
    dates: Dates,
) -> AgentScorecard:
    """Your own scorecard (agents)."""
    if principal.agent_id is None:
        raise NotFound("this account is not an agent; use /api/v1/agents/{id}/scorecard")
    return _scorecard(session, principal, settings, principal.agent_id, dates)
