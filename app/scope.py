"""Who may see whom: every read of calls, agents, teams, reviews and alerts is filtered here.

An admin (and an API key with the right scope) sees everything; a supervisor the agents of the
teams they lead; an agent only themself. Anything outside one's scope answers 404, the same as
something that does not exist, on the API and on the pages alike.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, false, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.auth import Principal
from app.calls.models import Call
from app.errors import BadRequest, Conflict, Forbidden, NotFound
from app.teams.models import Team
from app.users.models import Agent, Role
from app.versioned import latest_version


class Reach(StrEnum):
    """How far one's view goes."""

    everyone = "everyone"  # admins and API keys
    teams = "teams"  # supervisors: the teams they lead
    self = "self"  # agents: their own calls


def reach(principal: Principal) -> Reach:
    if principal.role is Role.agent:
        return Reach.self
    if principal.role is Role.supervisor:
        return Reach.teams
    return Reach.everyone


def agent_filter(principal: Principal, agent_id_column: Any) -> ColumnElement[bool] | None:
    """A WHERE clause limiting `agent_id_column` to the agents one may see, or None for all."""
    match reach(principal):
        case Reach.self:
            return col(agent_id_column) == (principal.agent_id or -1)
        case Reach.teams:
            if not principal.team_ids:
                return false()
            team_agents = select(Agent.id).where(col(Agent.team_id).in_(principal.team_ids))
            return col(agent_id_column).in_(team_agents)
    return None


def team_filter(principal: Principal, team_id_column: Any) -> ColumnElement[bool] | None:
    """A WHERE clause limiting `team_id_column` to the teams one may see, or None for all."""
    match reach(principal):
        case Reach.self:
            return false()
        case Reach.teams:
            return col(team_id_column).in_(principal.team_ids or {-1})
    return None


def _where(query: Any, clause: ColumnElement[bool] | None) -> Any:
    return query if clause is None else query.where(clause)


def visible_calls(principal: Principal) -> SelectOfScalar[Call]:
    return _where(select(Call), agent_filter(principal, Call.agent_id))  # type: ignore[no-any-return]


def visible_agents(principal: Principal) -> SelectOfScalar[Agent]:
    return _where(select(Agent), agent_filter(principal, Agent.id))  # type: ignore[no-any-return]


def visible_teams(principal: Principal) -> SelectOfScalar[Team]:
    query = select(Team).order_by(col(Team.name))
    return _where(query, team_filter(principal, Team.id))  # type: ignore[no-any-return]


def visible_call(session: Session, principal: Principal, call_id: int) -> Call:
    """The call, or 404 whether it does not exist or belongs to someone one may not see."""
    call = session.exec(visible_calls(principal).where(Call.id == call_id)).first()
    if call is None:
        raise NotFound(f"call {call_id} not found")
    return call


def check_agent_for_write(session: Session, principal: Principal, external_id: str) -> None:
    """Whether `principal` may put a call on this agent. Admins and API keys (recorders) may
    name any agent, a new one included (it is created); a supervisor only an agent of a team
    they lead, and an unknown agent answers exactly like another team's (404)."""
    if reach(principal) is Reach.everyone:
        return
    # Exactly as given: the upload creates the agent under this very id ("A1 " is not "A1").
    found = session.exec(visible_agents(principal).where(Agent.external_id == external_id)).first()
    if found is None:
        raise NotFound(f"no agent {external_id!r} in the teams you lead")


def visible_team(session: Session, principal: Principal, team_id: int) -> Team:
    """The team, or 404 outside one's scope (a supervisor asking for another team's figures)."""
    team = session.exec(visible_teams(principal).where(Team.id == team_id)).first()
    if team is None:
        raise NotFound(f"team {team_id} not found")
    return team


# ---- definitions owned by teams ---------------------------------------------------------------
# Scorecards and shopper forms are either global (no team: the organisation's, changed by admins
# only) or a team's (changed by that team's supervisors and by admins).


def owner_filter(principal: Principal, team_id_column: Any) -> ColumnElement[bool] | None:
    """A WHERE clause limiting definitions to the ones one may read: the global ones and those
    of one's own teams (an agent: their team's); None for all."""
    column = col(team_id_column)
    match reach(principal):
        case Reach.self:
            own_team = select(Agent.team_id).where(Agent.id == (principal.agent_id or -1))
            return or_(column.is_(None), column.in_(own_team))
        case Reach.teams:
            return or_(column.is_(None), column.in_(principal.team_ids or {-1}))
    return None


def owned(query: Any, principal: Principal, team_id_column: Any) -> Any:
    """`query` limited to the definitions `principal` may read (see owner_filter)."""
    return _where(query, owner_filter(principal, team_id_column))


def check_owner_for_write(principal: Principal, team_id: int | None, what: str) -> None:
    """Whether `principal` may change a definition owned by `team_id` (None: a global one).
    Admins and API keys may change any; a supervisor only their own teams'. `what` names it in
    the refusal ("scorecard 'default'")."""
    if reach(principal) is Reach.everyone:
        return
    if team_id is None:
        raise Forbidden(f"{what} is shared by every team: only an admin may change it")
    if reach(principal) is not Reach.teams or team_id not in principal.team_ids:
        raise NotFound(f"team {team_id} not found")


def owner_of_next_version(
    session: Session, principal: Principal, model: Any, *, name: str, team_id: int | None, what: str
) -> int | None:
    """The owner the next version of `name` gets, once `principal` may add it: a new name is
    owned by `team_id` (None: global; a supervisor must name one of their teams); a known name
    keeps its first version's owner. Another team's name answers 409 without saying whose."""
    latest = latest_version(session, model, name=name)
    if latest is None:
        owner = team_id
        if owner is None and reach(principal) is Reach.teams:
            raise BadRequest(f"a new {what} needs the team it is for: team_id, a team you lead")
        if owner is not None:
            visible_team(session, principal, owner)
    else:
        owner = latest.team_id
        if owner is not None and reach(principal) is not Reach.everyone:
            if owner not in principal.team_ids:
                raise Conflict(f"the name {name!r} is taken by another team's {what}")
        if team_id is not None and team_id != owner:
            whose = "every team" if owner is None else f"team {owner}"
            raise Conflict(f"{what} {name!r} belongs to {whose}: its versions keep that owner")
    check_owner_for_write(principal, owner, f"{what} {name!r}")
    return owner  # type: ignore[no-any-return]
