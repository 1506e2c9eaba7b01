"""Security headers on every answer (issue 14, item 11).

Every response: `X-Content-Type-Options: nosniff` (a recording or a CSV is never run as a
script), `X-Frame-Options: DENY` (no page inside another site's frame: clickjacking), and
`Referrer-Policy: same-origin` (a shopper's link carries its secret in the path and must not
leave in a Referer header). HTML pages also get a Content-Security-Policy that allows only this
site's own scripts, so injected markup cannot run code; styles may be inline, because score bars
are drawn with `style="--v: …"`. /docs and /redoc (their viewers served by the app itself,
fastapi-offline) start them with an inline script: their own policy allows that, and nothing
from any other server either.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# The API viewers start with an inline script (and ReDoc runs a worker from a blob); like the
# pages they may reach nothing but this server. ReDoc's "powered by" logo on cdn.redoc.ly is
# refused by the browser instead of fetched.
DOCS_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
_DOCS = ("/docs", "/redoc")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = str(scope.get("path", "")).startswith(_DOCS)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [(n, v) for n, v in _ALWAYS if n not in present]
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    policy = DOCS_CSP if docs else CSP
                    extra.append((b"content-security-policy", policy.encode()))
                message["headers"] = headers + extra
            await send(message)

        await self.app(scope, receive, with_headers)
