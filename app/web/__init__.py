"""Server-rendered pages (Jinja2 + htmx) for supervisors, agents and admins.

One module per domain under app/web/pages, each with its router; pages parse the form, are
authorised by a role dependency (app.web.deps), call the domain's service and render a template
(app.web.render). Errors are answered by app/errors.py's one handler, as a page for a browser.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import errors
from app.web.pages import (
    account,
    alerts,
    assignments,
    audit,
    auth,
    calls,
    coaching,
    dashboards,
    incentives,
    reviews,
    scorecards,
    search,
    shopper,
    topics,
    upload,
    users,
)
from app.web.render import STATIC, error_page

ROUTERS = (
    auth.router,
    calls.router,
    upload.router,
    search.router,
    topics.router,
    assignments.router,
    scorecards.router,
    reviews.router,
    coaching.router,
    dashboards.router,
    alerts.router,
    audit.router,
    shopper.router,
    incentives.router,
    users.router,
    account.router,
)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for router in ROUTERS:
        app.include_router(router)
    errors.set_html_renderer(app, error_page)
