"""Refuse request bodies over the upload limit while they stream, before the disk fills."""

from __future__ import annotations

import ipaddress
import json

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Room for the multipart envelope and form fields around the file itself.
_FORM_OVERHEAD = 1 << 20


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes + _FORM_OVERHEAD
        self.limit_mb = max_bytes // (1024 * 1024)

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {"detail": f"the request body exceeds the upload limit of {self.limit_mb} MB"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        seen = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            # A parser that caught our exception may answer 400; the truth is 413.
            if exceeded:
                return
            started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            pass
        if exceeded and not started:
            await self._reject(send)


def rate_key(address: str) -> str:
    """The unit a rate limit counts: an IPv4 address, or an IPv6 address's /64 network (one
    subscriber's; its 2^64 addresses would otherwise each get a fresh allowance)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_address(request: Request) -> str:
    """Who sent the request, as far as this process can tell, as the rate limits count it
    (`rate_key`). Behind a trusted proxy (CALLQA_TRUSTED_PROXIES) it is the nearest address in
    X-Forwarded-For that is not one of the proxies: the ones before it could be made up by the
    client."""
    peer = request.client.host if request.client else "unknown"
    trusted = request.app.state.settings.proxies
    if peer not in trusted:
        return rate_key(peer)
    # Every X-Forwarded-For line, in order: a proxy may add its own line after the client's.
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    chain = [a.strip() for a in forwarded.split(",") if a.strip()]
    for address in reversed(chain):
        if address not in trusted:
            return rate_key(address)
    return rate_key(peer)
