"""Browser sessions: a signed token in an HttpOnly cookie, and CSRF tokens on every form.

CSRF uses the double-submit pattern: a random token in a SameSite=Strict cookie that forms carry
back in a hidden field (htmx requests in the X-CSRF-Token header). A cross-site form cannot read
the cookie, so it cannot send the matching value.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Form, Request, Response

from app.auth import Principal, SettingsDep, principal_for, user_from_token
from app.config import Settings
from app.db import ReaderDep
from app.errors import CallqaError, Forbidden

SESSION_COOKIE = "callqa_session"
CSRF_COOKIE = "callqa_csrf"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(CallqaError):
    """Turned into a redirect to the login page (see app.web.render.error_page)."""

    status_code = 401


def csrf_token(request: Request) -> str:
    """The token for this browser, made on first sight and set as a cookie by the page."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def set_cookies(request: Request, response: Response, settings: Settings) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(
            CSRF_COOKIE,
            new,
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookies,
            path="/",
        )


def set_session(response: Response, token: str, settings: Settings) -> None:
    """Log in: the session cookie, and a fresh CSRF token, so that a token planted before the
    login (by another site on a shared parent domain, say) is worth nothing after it."""
    response.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(32),
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/",
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
        max_age=settings.token_minutes * 60,
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def check_csrf(request: Request, csrf: Annotated[str | None, Form()] = None) -> None:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = csrf or request.headers.get(CSRF_HEADER, "")
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise Forbidden(
            "the form's security token is missing or stale: reload the page and try again"
        )


def get_web_principal(request: Request, reader: ReaderDep, settings: SettingsDep) -> Principal:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired("log in to continue")
    # Its own short read: the connection goes back before the page takes its own.
    with reader() as session:
        user = user_from_token(session, settings, token)
        if user is None:
            raise LoginRequired("log in to continue")
        return principal_for(session, user)


WebPrincipal = Annotated[Principal, Depends(get_web_principal)]
Csrf = Annotated[None, Depends(check_csrf)]
