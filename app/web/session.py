"""Browser sessions: a signed token in an HttpOnly cookie, and CSRF tokens on every form.

CSRF uses the signed double-submit pattern: a token in a SameSite=Strict cookie that forms carry
back in a hidden field (htmx requests in the X-CSRF-Token header). A cross-site form cannot read
the cookie, so it cannot send the matching value; and the token is a random nonce signed with
the session it was made for (HMAC with the signing key), so a token planted in the browser, or
one from before a login, is worth nothing for the session now in the cookie.
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


def _signature(settings: Settings, nonce: str, session: str) -> str:
    mac = hmac.new(settings.signing_key.encode(), f"csrf:{nonce}:{session}".encode(), "sha256")
    return mac.hexdigest()[:32]


def make_csrf(settings: Settings, session: str | None) -> str:
    """A fresh token bound to `session` (the session cookie's value; None before login)."""
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_signature(settings, nonce, session or '')}"


def _bound(settings: Settings, token: str, session: str | None) -> bool:
    nonce, _, signature = token.partition(".")
    expected = _signature(settings, nonce, session or "")
    return bool(nonce and signature) and hmac.compare_digest(signature, expected)


def csrf_token(request: Request) -> str:
    """The token for this browser and session: the cookie's while it is bound to the session
    in the cookie, else a new one that the page sets as the cookie."""
    settings: Settings = request.app.state.settings
    session = request.cookies.get(SESSION_COOKIE)
    token = getattr(request.state, "new_csrf", None) or request.cookies.get(CSRF_COOKIE)
    if not token or not _bound(settings, token, session):
        token = make_csrf(settings, session)
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
    """Log in: the session cookie, and a fresh CSRF token bound to it, so that a token planted
    before the login (by another site on a shared parent domain, say) is worth nothing after."""
    response.set_cookie(
        CSRF_COOKIE,
        make_csrf(settings, token),
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


def check_csrf(
    request: Request, settings: SettingsDep, csrf: Annotated[str | None, Form()] = None
) -> None:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = csrf or request.headers.get(CSRF_HEADER, "")
    if (
        not cookie
        or not sent
        or not hmac.compare_digest(cookie, sent)
        or not _bound(settings, sent, request.cookies.get(SESSION_COOKIE))
    ):
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
