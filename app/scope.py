"""Who may see whom: every read of calls, agents, reviews and alerts is filtered here.

An admin (and an API key with the right scope) sees everything; a supervisor the agents of the
teams they lead; an agent only themself. Anything outside one's scope answers 404, the same as
something that does not exist.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import false
from sqlmodel import col, select

from app.auth import Principal
from app.calls.models import Call
from app.users.models import Agent, Role


def agent_filter(principal: Principal, agent_id_column: Any) -> Any | None:
    """A WHERE clause limiting `agent_id_column` to the agents one may see, or None for all."""
    if principal.role is Role.agent:
        return agent_id_column == (principal.agent_id or -1)
    if principal.role is Role.supervisor:
        if not principal.team_ids:
            return false()
        team_agents = select(Agent.id).where(col(Agent.team_id).in_(principal.team_ids))
        return col(agent_id_column).in_(team_agents)
    return None


def visible_calls(principal: Principal) -> Any:
    query = select(Call)
    clause = agent_filter(principal, Call.agent_id)
    return query if clause is None else query.where(clause)


def visible_agents(principal: Principal) -> Any:
    query = select(Agent)
    clause = agent_filter(principal, Agent.id)
    return query if clause is None else query.where(clause)
