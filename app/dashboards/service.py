"""Dashboards and agent scorecards: roll-ups of effective scores (reviewed where reviewed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from sqlmodel import Session, col, select

from app.auth import Principal
from app.calls.models import Call, Direction
from app.errors import NotFound
from app.reviews.effective import FIELDS, Scored, scored_calls
from app.scope import visible_agents, visible_team
from app.teams.models import Team
from app.timeutil import as_utc, local, utcnow
from app.users.models import Agent
from scorecards import rollup
from scorecards.rollup import Estimate


@dataclass
class AgentRow:
    agent_id: int
    external_id: str
    name: str | None
    team: str | None
    calls: int
    overall: Estimate
    dimensions: dict[str, float | None]
    reviewed: float | None
    deals_closed: int
    average_length: float | None


@dataclass
class Summary:
    calls: int
    inbound: int
    outbound: int
    average_length: Estimate
    deals_closed: int
    sales_calls: int
    reviewed: Estimate
    auto_fails: int
    fcr: Estimate
    scores: dict[str, Estimate]
    trend: dict[str, list[tuple[str, Estimate]]]
    distribution: list[int]
    agents: list[AgentRow] = field(default_factory=list)


def _agents_in_scope(
    session: Session, principal: Principal, *, team_id: int | None, agent_id: int | None
) -> list[Agent]:
    query = visible_agents(principal)
    if team_id is not None:
        visible_team(session, principal, team_id)  # another team's: 404, on API and pages
        query = query.where(Agent.team_id == team_id)
    if agent_id is not None:
        query = query.where(Agent.id == agent_id)
    return list(session.exec(query.order_by(col(Agent.external_id))))


def summarise(rows: list[Scored], *, fcr: Estimate, zone: tzinfo) -> Summary:
    """The figures of `rows`; weeks are the organisation's (Monday 00:00 in `zone`)."""
    return Summary(
        calls=len(rows),
        inbound=sum(r.call.direction is Direction.inbound for r in rows),
        outbound=sum(r.call.direction is Direction.outbound for r in rows),
        average_length=rollup.estimate(
            [r.call.duration_seconds for r in rows], bounds=(0, float("inf"))
        ),
        deals_closed=sum(bool(r.call.deal_closed) for r in rows),
        sales_calls=sum(r.call.call_type.value == "sales" for r in rows),
        reviewed=rollup.proportion(sum(r.reviewed for r in rows), len(rows)),
        auto_fails=sum(r.auto_fail for r in rows),
        fcr=fcr,
        scores={f: rollup.estimate(r.value(f) for r in rows) for f in FIELDS},
        trend={
            f: rollup.weekly((local(r.call.started_at, zone), r.value(f)) for r in rows)
            for f in FIELDS
        },
        distribution=rollup.histogram(r.value("overall") for r in rows),
    )


def dashboard(
    session: Session,
    *,
    principal: Principal,
    team_id: int | None,
    agent_id: int | None,
    started_from: datetime | None,
    started_to: datetime | None,
    fcr_days: int,
    zone: tzinfo,
) -> Summary:
    return dashboard_rows(
        session,
        principal=principal,
        team_id=team_id,
        agent_id=agent_id,
        started_from=started_from,
        started_to=started_to,
        fcr_days=fcr_days,
        zone=zone,
    )[0]


def dashboard_rows(
    session: Session,
    *,
    principal: Principal,
    team_id: int | None,
    agent_id: int | None,
    started_from: datetime | None,
    started_to: datetime | None,
    fcr_days: int,
    zone: tzinfo,
) -> tuple[Summary, list[Scored]]:
    """The dashboard and the scored calls behind it (for the most-missed criteria)."""
    agents = _agents_in_scope(session, principal, team_id=team_id, agent_id=agent_id)
    if agent_id is not None and not agents:
        raise NotFound(f"agent {agent_id} not found")
    ids = [a.id or 0 for a in agents]
    rows = scored_calls(
        session,
        principal=principal,
        agent_ids=ids,
        started_from=started_from,
        started_to=started_to,
    )
    now = utcnow()
    until = min(as_utc(started_to), now) if started_to else now
    # First-contact resolution of the calls in scope and period, judged against every later
    # call of the same customers, whoever took it and even after the period.
    firsts_query = select(Call.customer_ref, Call.started_at).where(
        col(Call.agent_id).in_(ids), col(Call.customer_ref).is_not(None), Call.started_at < until
    )
    if started_from:
        firsts_query = firsts_query.where(Call.started_at >= as_utc(started_from))
    firsts = [(ref, as_utc(at)) for ref, at in session.exec(firsts_query)]
    refs = {ref for ref, _ in firsts}
    later = (
        [
            (ref, as_utc(at))
            for ref, at in session.exec(
                select(Call.customer_ref, Call.started_at).where(col(Call.customer_ref).in_(refs))
            )
        ]
        if refs
        else []
    )
    resolved, counted = rollup.first_contact_resolution(firsts, later, days=fcr_days, now=now)
    summary = summarise(rows, fcr=rollup.proportion(resolved, counted), zone=zone)
    teams = {t.id: t.name for t in session.exec(select(Team))}
    by_agent: dict[int, list[Scored]] = {}
    for r in rows:
        by_agent.setdefault(r.call.agent_id, []).append(r)
    for a in agents:
        mine = by_agent.get(a.id or 0, [])
        summary.agents.append(
            AgentRow(
                agent_id=a.id or 0,
                external_id=a.external_id,
                name=a.name,
                team=teams.get(a.team_id) if a.team_id else None,
                calls=len(mine),
                overall=rollup.estimate(r.value("overall") for r in mine),
                dimensions={f: rollup.estimate(r.value(f) for r in mine).mean for f in FIELDS},
                reviewed=(sum(r.reviewed for r in mine) / len(mine)) if mine else None,
                deals_closed=sum(bool(r.call.deal_closed) for r in mine),
                average_length=rollup.estimate(
                    [r.call.duration_seconds for r in mine], bounds=(0, float("inf"))
                ).mean,
            )
        )
    return summary, rows


@dataclass
class AgentCard:
    agent: Agent
    team: str | None
    summary: Summary
    calls: list[Scored]


def agent_card(
    session: Session,
    *,
    principal: Principal,
    agent_id: int,
    started_from: datetime | None,
    started_to: datetime | None,
    fcr_days: int,
    zone: tzinfo,
) -> AgentCard:
    summary, rows = dashboard_rows(
        session,
        principal=principal,
        team_id=None,
        agent_id=agent_id,
        started_from=started_from,
        started_to=started_to,
        fcr_days=fcr_days,
        zone=zone,
    )
    agent = session.get(Agent, agent_id)
    assert agent is not None  # dashboard_rows() checked scope and existence
    team = session.get(Team, agent.team_id) if agent.team_id else None
    return AgentCard(
        agent=agent, team=team.name if team else None, summary=summary, calls=list(reversed(rows))
    )


@dataclass
class Missed:
    """A criterion and how often it was missed where it could be judged (reviewed verdicts
    replace the machine's), with the calls that missed it for the drill-down."""

    criterion: str
    label: str
    dimension: str
    judged: int
    missed: int
    calls: list[int]

    @property
    def share(self) -> float:
        return self.missed / self.judged if self.judged else 0.0


def _verdicts(row: Scored) -> list[tuple[str, str, str, bool]]:
    """(id, label, dimension, passed) of each criterion that applied, as the call's reviewer
    left it: a criterion a reviewer flipped counts as they said."""
    flipped = {
        o["key"]: bool(o["after"])
        for o in (row.review.overrides if row.review is not None else [])
        if o.get("target") == "criterion"
    }
    out = []
    for c in row.score.detail.get("criteria", []):
        if not c.get("applicable", True):
            continue
        passed = flipped.get(c["id"], bool(c["passed"]))
        out.append((c["id"], c.get("label", c["id"]), c.get("dimension", ""), passed))
    return out


def missed_criteria(rows: list[Scored], *, limit: int | None = 10) -> list[Missed]:
    """The criteria missed most often (share of the calls that judged them), ties by count."""
    found: dict[str, Missed] = {}
    for row in rows:
        for cid, label, dimension, passed in _verdicts(row):
            m = found.setdefault(cid, Missed(cid, label, dimension, 0, 0, []))
            m.judged += 1
            if not passed:
                m.missed += 1
                m.calls.append(row.call.id or 0)
    ranked = sorted(
        (m for m in found.values() if m.missed),
        key=lambda m: (-m.share, -m.missed, m.criterion),
    )
    return ranked[:limit] if limit is not None else ranked


@dataclass
class AgentMissed:
    agent_id: int
    external_id: str
    name: str | None
    calls: int
    missed: list[Missed]


def missed_by_agent(
    session: Session, rows: list[Scored], *, per_agent: int = 3
) -> list[AgentMissed]:
    """Each agent's most-missed criteria, the agents with most misses first."""
    by_agent: dict[int, list[Scored]] = {}
    for r in rows:
        by_agent.setdefault(r.call.agent_id, []).append(r)
    agents = {a.id: a for a in session.exec(select(Agent).where(col(Agent.id).in_(list(by_agent))))}
    out = [
        AgentMissed(
            agent_id=agent_id,
            external_id=agents[agent_id].external_id,
            name=agents[agent_id].name,
            calls=len(mine),
            missed=missed_criteria(mine, limit=per_agent),
        )
        for agent_id, mine in by_agent.items()
        if agent_id in agents
    ]
    out.sort(key=lambda a: (-sum(m.missed for m in a.missed), a.external_id))
    return [a for a in out if a.missed]
