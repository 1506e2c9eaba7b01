"""One exception family for the service, each with its HTTP status, and one handler."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from transcription.errors import (
    AudioTooLong,
    CorruptAudio,
    ModelUnavailable,
    TranscriptionError,
    TruncatedAudio,
    UnsupportedAudio,
)


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


def _callqa_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CallqaError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": "3600"}
    body: dict[str, object] = {"detail": exc.message}
    if isinstance(exc, FormInvalid):
        body["errors"] = exc.errors
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


def _audio_handler(request: Request, exc: Exception) -> JSONResponse:
    status = next((s for t, s in _AUDIO_STATUS.items() if isinstance(exc, t)), 422)
    return JSONResponse({"detail": f"audio rejected: {exc}"}, status_code=status)


def _scorecard_handler(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": f"scorecard invalid: {exc}"}, status_code=422)


def install_handlers(app: FastAPI) -> None:
    from qa.scorecard import ScorecardInvalid

    app.add_exception_handler(ScorecardInvalid, _scorecard_handler)
    app.add_exception_handler(CallqaError, _callqa_handler)
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
    return JSONResponse(status_code=422,
                        content={"detail": _finite(jsonable_encoder(exc.errors()))})
