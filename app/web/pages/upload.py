"""Upload in the browser: one recording or many, with the upload fields. Each request is one
unit of work: all its files are stored or none. The page's script sends the files one per
request, with a progress bar, so one bad file refuses only itself; without the script the
form sends them all at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import Session, col

from app.auth import Principal, SettingsDep
from app.calls import service as calls
from app.calls.languages import check_language
from app.calls.models import Call, CallType, Direction
from app.db import ReaderDep, SessionDep, rollback
from app.errors import BadRequest, CallqaError
from app.scope import check_agent_for_write, visible_agents, visible_call
from app.users.models import Agent
from app.web.deps import PageUploader
from app.web.render import render, viewer_zone
from app.web.session import Csrf
from transcription.errors import TranscriptionError
from transcription.types import Layout

router = APIRouter(include_in_schema=False)


@dataclass
class Stored:
    file: str
    call_id: int


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request, session: SessionDep, principal: PageUploader) -> HTMLResponse:
    return _page(request, session, principal)


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    stored: list[Stored] | None = None,
    error: str | None = None,
    code: int = 200,
) -> HTMLResponse:
    agents = session.exec(visible_agents(principal).order_by(col(Agent.external_id))).all()
    return render(
        request,
        "upload.html",
        principal,
        code=code,
        agents=agents,
        stored=stored or [],
        error=error,
        directions=list(Direction),
        types=list(CallType),
        layouts=list(Layout),
    )


@router.post("/upload", response_class=HTMLResponse)
def upload(
    request: Request,
    session: SessionDep,
    reader: ReaderDep,
    settings: SettingsDep,
    principal: PageUploader,
    _csrf: Csrf,
    # A form sent with no file chosen has an empty text part instead: "choose a recording".
    audio: Annotated[list[UploadFile | str], File()] = [],  # noqa: B006 (FastAPI copies it)
    agent: Annotated[str, Form()] = "",
    started_at: Annotated[str, Form()] = "",
    direction: Annotated[Direction, Form()] = Direction.inbound,
    call_type: Annotated[CallType, Form()] = CallType.service,
    layout: Annotated[Layout, Form()] = Layout.auto,
    language: Annotated[str, Form()] = "",
    customer_ref: Annotated[str, Form(max_length=200)] = "",
    external_id: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Store every file as a call with its transcription job, or none of them; the page
    lists what was stored, or says which file was refused and why."""
    files = [f for f in audio if not isinstance(f, str) and f.filename]
    try:
        if not files:
            raise BadRequest("choose at least one recording")
        if not agent.strip():
            raise BadRequest("give the agent of these calls")
        if external_id and len(files) > 1:
            raise BadRequest("an external id names one recording: send one file with it")
        when = _when(started_at, request, principal, settings)
        lang = check_language(language or None)
        # In a read-only session: on SQLite the request's write lock starts with its first
        # write, after the first recording is decoded, not before.
        with reader() as look:
            check_agent_for_write(look, principal, agent.strip())
        stored = []
        for upload_file in files:
            meta = calls.CallMeta(
                agent=agent.strip(),
                started_at=when,
                direction=direction,
                call_type=call_type,
                layout=layout,
                external_id=external_id or None,
                customer_ref=customer_ref or None,
                language=lang,
            )
            try:
                call = calls.ingest_call(
                    session, settings=settings, audio=upload_file.file, meta=meta
                )
            except (CallqaError, TranscriptionError) as exc:
                message = exc.message if isinstance(exc, CallqaError) else str(exc)
                raise _Refused(upload_file.filename or "?", message) from None
            request.app.state.queue.enqueue_after_commit(session, "transcribe", call.id or 0)
            stored.append(Stored(file=upload_file.filename or "", call_id=call.id or 0))
    except _Refused as exc:
        rollback(session)  # nothing of this upload: the page that follows commits
        prefix = "nothing was stored: " if len(files) > 1 else ""
        return _answer(request, session, principal, error=f"{prefix}{exc}")
    except (CallqaError, ValueError) as exc:
        rollback(session)
        message = exc.message if isinstance(exc, CallqaError) else str(exc)
        return _answer(request, session, principal, error=message)
    return _answer(request, session, principal, stored=stored)


def _answer(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    stored: list[Stored] | None = None,
    error: str | None = None,
) -> Response:
    """The page again with the outcome, or for the page's script (one file per request) the
    outcome alone as JSON."""
    if "application/json" in request.headers.get("accept", ""):
        body = {"stored": [s.__dict__ for s in stored or []], "error": error}
        return JSONResponse(body, status_code=422 if error else 201)
    return _page(
        request, session, principal, stored=stored, error=error, code=422 if error else 200
    )


class _Refused(Exception):
    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")


def _when(value: str, request: Request, principal: Principal, settings: SettingsDep) -> datetime:
    """The calls' start: ISO 8601 with an offset (the script sends each file's own time), a
    time without one as the viewer's clock shows it, or, when empty, now."""
    if not value.strip():
        return datetime.now(viewer_zone(principal, settings))
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"started_at {value!r} is not a date and time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=viewer_zone(principal, settings))
    return parsed


@router.get("/upload/status")
def upload_status(
    session: SessionDep, principal: PageUploader, ids: Annotated[str, Query(max_length=2000)]
) -> JSONResponse:
    """Where the calls of an upload are ({id: status}), for the page to follow them."""
    wanted = [int(i) for i in ids.split(",") if i.strip().isdigit()][:200]
    found: dict[str, str] = {}
    for call_id in wanted:
        try:
            call: Call = visible_call(session, principal, call_id)
        except CallqaError:
            continue
        found[str(call_id)] = call.status.value
    return JSONResponse(found)
