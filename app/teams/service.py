"""Teams: who leads whom. Never commits."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.errors import BadRequest, Conflict, NotFound
from app.teams.models import Team, TeamLead
from app.users.models import Agent, Role, User
from app.users.service import get_or_create_agent


def create_team(session: Session, *, name: str) -> Team:
    name = name.strip()
    if not name:
        raise BadRequest("a team needs a name")
    if session.exec(select(Team).where(Team.name == name)).first():
        raise Conflict(f"a team {name!r} already exists")
    team = Team(name=name)
    session.add(team)
    session.flush()
    return team


def get_team(session: Session, *, name_or_id: str | int) -> Team:
    query = select(Team).where(
        Team.id == int(name_or_id) if str(name_or_id).isdigit() else Team.name == name_or_id
    )
    team = session.exec(query).first()
    if team is None:
        raise NotFound(f"team {name_or_id!r} not found")
    return team


def add_lead(session: Session, *, team: Team, email: str) -> TeamLead:
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise NotFound(f"user {email!r} not found")
    if user.role is not Role.supervisor:
        raise BadRequest(
            f"{email} is {user.role.value}, not a supervisor; only supervisors "
            "lead teams (admins see every team)"
        )
    existing = session.exec(
        select(TeamLead).where(TeamLead.team_id == team.id, TeamLead.user_id == user.id)
    ).first()
    if existing:
        return existing
    lead = TeamLead(team_id=team.id or 0, user_id=user.id or 0)
    session.add(lead)
    session.flush()
    return lead


def set_agent_team(
    session: Session, *, agent_external_id: str, team: Team | None, name: str | None = None
) -> Agent:
    agent = get_or_create_agent(session, external_id=agent_external_id)
    agent.team_id = team.id if team else None
    if name:
        agent.name = name
    session.add(agent)
    session.flush()
    return agent


def list_teams(session: Session) -> list[tuple[Team, list[str], list[str]]]:
    teams = list(session.exec(select(Team).order_by(col(Team.name))))
    leads = session.exec(
        select(TeamLead.team_id, User.email).join(User, col(User.id) == TeamLead.user_id)
    ).all()
    agents = session.exec(
        select(Agent.team_id, Agent.external_id).where(col(Agent.team_id).is_not(None))
    ).all()
    return [
        (
            t,
            sorted(e for tid, e in leads if tid == t.id),
            sorted(x for tid, x in agents if tid == t.id),
        )
        for t in teams
    ]
