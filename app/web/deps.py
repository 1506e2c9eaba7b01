"""Who may open a page: one dependency per role, resolved before the page runs.

A page that names what it needs (`PageReviewer`, `PageAuditReader`, ...) refuses everyone else
with 403 before it reads a form or the database; a visitor who is not logged in goes to the
login page (LoginRequired, see app.web.render.error_page). What a role may see once in is
app.scope's business: another team's call or team answers 404, as on the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from app.auth import Principal, SettingsDep
from app.db import ReaderDep
from app.errors import BadRequest, Forbidden
from app.ranges import Dates
from app.users.models import Scope
from app.web.session import LoginRequired, WebPrincipal, get_web_principal


def require_scope(principal: Principal, scope: Scope) -> None:
    """403 unless the principal's role carries `scope` (the check behind every page role)."""
    if not principal.can(scope):
        raise Forbidden("your role cannot open this page")


def page_scope(scope: Scope) -> Callable[[Principal], Principal]:
    """A dependency: the logged-in person, if their role carries `scope`."""

    def dependency(principal: WebPrincipal) -> Principal:
        require_scope(principal, scope)
        return principal

    dependency.__name__ = f"page_scope_{scope.replace(':', '_')}"
    return dependency


PageReader = Annotated[Principal, Depends(page_scope(Scope.calls_read))]
PageReviewer = Annotated[Principal, Depends(page_scope(Scope.reviews_write))]
PageUploader = Annotated[Principal, Depends(page_scope(Scope.calls_write))]
PageCallManager = Annotated[Principal, Depends(page_scope(Scope.calls_manage))]
PageDisputer = Annotated[Principal, Depends(page_scope(Scope.disputes_write))]
PageAlertReader = Annotated[Principal, Depends(page_scope(Scope.alerts_read))]
PageAlertManager = Annotated[Principal, Depends(page_scope(Scope.alerts_manage))]
PageAuditReader = Annotated[Principal, Depends(page_scope(Scope.audit_read))]
PageIncentiveTeam = Annotated[Principal, Depends(page_scope(Scope.incentives_team))]
PageIncentiveLocker = Annotated[Principal, Depends(page_scope(Scope.incentives_lock))]
PageUserManager = Annotated[Principal, Depends(page_scope(Scope.users_manage))]


def maybe_web_principal(
    request: Request, reader: ReaderDep, settings: SettingsDep
) -> Principal | None:
    """The logged-in person, or None: for the pages anyone may open (the landing page)."""
    try:
        return get_web_principal(request, reader, settings)
    except LoginRequired:
        return None


MaybePrincipal = Annotated[Principal | None, Depends(maybe_web_principal)]


# `from` and `to` of a page's filter form, read as the API reads them.
PageDates = Dates


def team_param(team: str | None = None) -> int | None:
    """`?team=` of a filter form: empty is every team one may see."""
    if not team:
        return None
    if not team.isdigit():
        raise BadRequest("`team` must be a team id")
    return int(team)


TeamParam = Annotated[int | None, Depends(team_param)]
