from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.auth import CallReader, TeamManager
from app.db import SessionDep
from app.scope import visible_agents
from app.teams import service
from app.users.models import Agent

router = APIRouter(prefix="/api/v1", tags=["teams"])


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class LeadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=1, max_length=320)


class AgentTeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    team: str | None = Field(description="team name or id; null takes the agent off any team")
    name: str | None = Field(default=None, max_length=200)


class TeamPublic(BaseModel):
    id: int
    name: str
    leads: list[str]
    agents: list[str]


class AgentPublic(BaseModel):
    id: int
    external_id: str
    name: str | None
    team_id: int | None


@router.get("/teams", response_model=list[TeamPublic])
def list_teams(session: SessionDep, principal: TeamManager) -> list[TeamPublic]:
    """Every team with its supervisors and agents (admins)."""
    return [
        TeamPublic(id=t.id or 0, name=t.name, leads=leads, agents=agents)
        for t, leads, agents in service.list_teams(session)
    ]


@router.post("/teams", response_model=TeamPublic, status_code=201)
def create_team(body: TeamIn, session: SessionDep, principal: TeamManager) -> TeamPublic:
    team = service.create_team(session, name=body.name)
    return TeamPublic(id=team.id or 0, name=team.name, leads=[], agents=[])


@router.post("/teams/{team_id}/leads", response_model=TeamPublic)
def add_lead(team_id: int, body: LeadIn, session: SessionDep, principal: TeamManager) -> TeamPublic:
    """Make a supervisor a lead of the team: they then see its agents and calls."""
    team = service.get_team(session, name_or_id=team_id)
    service.add_lead(session, team=team, email=body.email)
    return next(
        TeamPublic(id=t.id or 0, name=t.name, leads=leads, agents=agents)
        for t, leads, agents in service.list_teams(session)
        if t.id == team.id
    )


@router.put("/agents/{external_id}/team", response_model=AgentPublic)
def set_agent_team(
    external_id: str, body: AgentTeamIn, session: SessionDep, principal: TeamManager
) -> AgentPublic:
    team = service.get_team(session, name_or_id=body.team) if body.team else None
    agent = service.set_agent_team(
        session, agent_external_id=external_id, team=team, name=body.name
    )
    return AgentPublic.model_validate(agent, from_attributes=True)


@router.get("/agents", response_model=list[AgentPublic])
def list_agents(session: SessionDep, principal: CallReader) -> list[AgentPublic]:
    """The agents you may see: all (admin), your teams' (supervisor), yourself (agent)."""
    rows = session.exec(visible_agents(principal).order_by(Agent.external_id)).all()
    return [AgentPublic.model_validate(a, from_attributes=True) for a in rows]
