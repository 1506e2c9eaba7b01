"""Templates for the pages: the Jinja environment, `render`, the redirect after a form, and
the error page that app/errors.py's handler shows to a browser."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from app.auth import Principal
from app.config import Settings
from app.reviews.effective import FIELDS
from app.timeutil import local, zone
from app.users.models import Role
from app.web import charts
from app.web.session import LoginRequired, csrf_token, set_cookies
from qa.types import DIMENSIONS

HERE = Path(__file__).resolve().parent


@pass_context
def when(context: Context, value: datetime | None) -> str:
    """A stored time as the viewer's wall-clock time, with the zone's abbreviation ("IST",
    "+0330", "UTC") so that nobody has to guess which clock a time is on."""
    if value is None:
        return ""
    return local(value, context.get("tz") or UTC).strftime("%Y-%m-%d %H:%M %Z")


def viewer_zone(principal: Principal | None, settings: Settings) -> tzinfo:
    """The zone pages show times in: the user's own, or else the organisation's."""
    if principal is not None and principal.time_zone:
        try:
            return zone(principal.time_zone)
        except ValueError:  # a zone name that a newer tzdata dropped: fall back, do not fail
            pass
    return settings.zone


STATIC = HERE / "static"
# Reasons stored before qa/detectors.py said them in words: "no match for /(?i)thank/ by ...".
_REGEX_REASON = re.compile(r"^no match for /.*/ by ")


def verdict(value: object) -> str:
    """A criterion's verdict in words (pass, fail); a dimension's score as a number."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "pass" if value else "fail"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def plain_reason(reason: str | None) -> str:
    """A criterion's reason for people: an old stored one that shows the regular expression
    is shown in words (the stored text is left as it was)."""
    text = reason or ""
    if _REGEX_REASON.match(text):
        return _REGEX_REASON.sub("the wording this criterion looks for was not said by ", text)
    return text


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(charts=charts, DIMENSIONS=DIMENSIONS, FIELDS=FIELDS)
templates.env.filters["label"] = lambda s: str(s).replace("_", " ")
templates.env.filters["num"] = lambda v, d=0: "–" if v is None else f"{v:.{d}f}"
templates.env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.0f} %"
templates.env.filters["when"] = when
templates.env.filters["verdict"] = verdict
templates.env.filters["plain_reason"] = plain_reason
templates.env.filters["mmss"] = lambda s: "" if s is None else f"{int(s) // 60}:{s % 60:04.1f}"


def render(
    request: Request, template: str, principal: Principal | None, /, code: int = 200, **context: Any
) -> HTMLResponse:
    """The template as a page for `principal` (None: nobody is logged in), with the CSRF token
    its forms carry back. Positional-only: a template may have a variable named `template`."""
    settings = request.app.state.settings
    context.update(
        request=request,
        me=principal,
        csrf=csrf_token(request),
        Role=Role,
        tz=viewer_zone(principal, settings),
    )
    response = templates.TemplateResponse(request, template, context, status_code=code)
    set_cookies(request, response, settings)
    return response


def back(url: str) -> RedirectResponse:
    """After a form: see the result with a GET (303), so a reload does not post again."""
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, exc: Exception, *, status: int, message: str) -> Response:
    """What a browser gets for an error (registered with app.errors by app.web.install)."""
    if isinstance(exc, LoginRequired):
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return back(f"/login?next={quote(target)}")
    return render(request, "error.html", None, code=status, message=message, status=status)
