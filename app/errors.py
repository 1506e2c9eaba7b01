"""One exception family for the service, each with its HTTP status, and one handler."""

from __future__ import annotations

import logging
import math
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from qa.scorecard import ScorecardInvalid
from transcription.errors import (
    AudioTooLong,
    CorruptAudio,
    ModelUnavailable,
    TranscriptionError,
    TruncatedAudio,
    UnsupportedAudio,
)

log = logging.getLogger(__name__)


class CallqaError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(CallqaError):
    status_code = 400


class Unauthorized(CallqaError):
    status_code = 401


class Forbidden(CallqaError):
    status_code = 403


class NotFound(CallqaError):
    status_code = 404


class Conflict(CallqaError):
    status_code = 409


class Gone(CallqaError):
    status_code = 410


class Unprocessable(CallqaError):
    """A payload that parses but cannot be accepted (a conversation over the length limit)."""

    status_code = 422


class PayloadTooLarge(CallqaError):
    status_code = 413


class TooManyRequests(CallqaError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: int = 3600) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(CallqaError):
    status_code = 503


class FormInvalid(CallqaError):
    """Answers that cannot be accepted; `errors` says, per question, why."""

    status_code = 422

    def __init__(self, message: str, errors: dict[str, str]) -> None:
        super().__init__(message)
        self.errors = errors


_AUDIO_STATUS: dict[type[TranscriptionError], int] = {
    UnsupportedAudio: 415,
    CorruptAudio: 422,
    TruncatedAudio: 422,
    AudioTooLong: 422,
    ModelUnavailable: 503,
}


class ErrorPage(Protocol):
    """Renders an error for a person in a browser (the web layer registers one)."""

    def __call__(
        self, request: Request, exc: Exception, *, status: int, message: str
    ) -> Response: ...


def set_html_renderer(app: FastAPI, render: ErrorPage) -> None:
    """Answer errors as HTML pages when the client asked for HTML. Registered by app.web: the
    handler lives here, once, and this module must not import the web layer (a cycle)."""
    app.state.error_page = render


def _prefers_html(accept: str) -> bool:
    """Whether the Accept header ranks text/html above application/json; `*/*` alone (curl,
    httpx, fetch) does not. The most specific matching range gives a type its q."""
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media:
            ranges.append((media.lower(), q))

    def quality(media_type: str) -> float:
        major = media_type.split("/")[0]
        for wanted in (media_type, f"{major}/*", "*/*"):
            found = [q for m, q in ranges if m == wanted]
            if found:
                return max(found)
        return 0.0

    return quality("text/html") > quality("application/json")


def wants_html(request: Request) -> bool:
    """A page (any path outside /api/), or an API URL opened in a browser tab."""
    return not request.url.path.startswith("/api/") or _prefers_html(
        request.headers.get("accept", "")
    )


def _error_page(request: Request) -> ErrorPage | None:
    render: ErrorPage | None = getattr(request.app.state, "error_page", None)
    return render if render is not None and wants_html(request) else None


def _callqa_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CallqaError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    if (page := _error_page(request)) is not None:
        response = page(request, exc, status=exc.status_code, message=exc.message)
        response.headers.update(headers or {})
        return response
    body: dict[str, object] = {"detail": exc.message}
    if isinstance(exc, FormInvalid):
        body["errors"] = exc.errors
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


async def _http_handler(request: Request, exc: Exception) -> Response:
    """No such route (404) or method (405): a page for a browser, FastAPI's JSON otherwise."""
    assert isinstance(exc, HTTPException)
    if (page := _error_page(request)) is not None:
        response = page(request, exc, status=exc.status_code, message=str(exc.detail))
        response.headers.update(exc.headers or {})
        return response
    return await http_exception_handler(request, exc)


async def _validation_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if (page := _error_page(request)) is not None:
        message = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
        )
        return page(request, exc, status=422, message=message)
    return await validation_handler(request, exc)


def _audio_handler(request: Request, exc: Exception) -> JSONResponse:
    status = next((s for t, s in _AUDIO_STATUS.items() if isinstance(exc, t)), 422)
    return JSONResponse({"detail": f"audio rejected: {exc}"}, status_code=status)


def _scorecard_handler(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": f"scorecard invalid: {exc}"}, status_code=422)


# PostgreSQL's "data exception" codes that mean the value sent cannot be stored: too long,
# numeric out of range, datetime out of range, bad text for the type, untranslatable character.
_CLIENT_DATA_ERRORS = {"22001", "22003", "22007", "22008", "22021", "22P02"}


def _out_of_range_handler(request: Request, exc: Exception) -> Response:
    # sqlite3 raises OverflowError for an integer past 64 bits (an id of 2^63 in a path or a
    # body) before any SQL runs, and datetime for a date a time zone moves past year 1 or
    # 9999; PostgreSQL answers DataError for a value its column cannot hold (2^31 in an integer
    # column). The request was wrong: 422 with a message that names no column, the unit of work
    # already rolled back. Any other DataError is a fault of ours and stays a 500. Each is
    # logged with its traceback, so a genuine overflow in our own arithmetic is still seen.
    if isinstance(exc, DataError):
        code = getattr(getattr(exc, "orig", None), "sqlstate", None)
        if code not in _CLIENT_DATA_ERRORS:
            log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
            return JSONResponse({"detail": "internal server error"}, status_code=500)
    log.warning("out-of-range input on %s %s", request.method, request.url.path, exc_info=exc)
    message = (
        "a number or a date in the request is out of range"
        if isinstance(exc, OverflowError)
        else "a value in the request is out of range or too long for the field it goes in"
    )
    return _callqa_handler(request, Unprocessable(message))


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OverflowError, _out_of_range_handler)
    app.add_exception_handler(DataError, _out_of_range_handler)
    app.add_exception_handler(ScorecardInvalid, _scorecard_handler)
    app.add_exception_handler(CallqaError, _callqa_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(HTTPException, _http_handler)
    app.add_exception_handler(TranscriptionError, _audio_handler)


def _finite(value: Any) -> Any:
    """The payload as JSON can carry it: Infinity and NaN become their names."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


async def validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 saying what is wrong. FastAPI's own handler echoes the input, and a body with
    Infinity in it then fails to render as JSON (a 500 instead of the 422)."""
    return JSONResponse(
        status_code=422, content={"detail": _finite(jsonable_encoder(exc.errors()))}
    )
