"""Names that app/web/incentive_pages.py and shopper_pages.py still import from here; the pages
themselves live in app/web/pages and are installed by app.web.install. Delete this module once
those two import app.web.render and app.web.deps instead."""

from __future__ import annotations

from sqlmodel import Session

from app.auth import Principal
from app.scope import visible_teams
from app.teams.models import Team
from app.web.deps import require_scope as _need
from app.web.render import back as _back
from app.web.render import render

__all__ = ["_back", "_need", "_teams_for", "render"]


def _teams_for(session: Session, principal: Principal) -> list[Team]:
    return list(session.exec(visible_teams(principal)))
