"""The topics page: the saved searches that tag calls, how many each tagged, a form to add one
(old calls are tagged at once) and to remove one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.auth import Principal
from app.db import SessionDep, rollback
from app.errors import CallqaError
from app.topics import service
from app.web.deps import PageCallManager, PageReader
from app.web.render import back, render
from app.web.session import Csrf

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "topics.html",
        principal,
        code=code,
        topics=service.counts(session, principal=principal),
        error=error,
        form=form or {},
        speakers=service.SPEAKERS,
        tagged=_tagged(request.query_params.get("tagged", "")),
    )


def _tagged(value: str) -> int | None:
    """How many calls the topic just made tagged (`?tagged=ID:COUNT` after the form)."""
    _, _, count = value.partition(":")
    return int(count) if count.isdigit() else None


@router.get("/topics", response_class=HTMLResponse)
def topics_page(request: Request, session: SessionDep, principal: PageReader) -> HTMLResponse:
    return _page(request, session, principal)


@router.post("/topics", response_class=HTMLResponse)
def topics_add(
    request: Request,
    session: SessionDep,
    principal: PageCallManager,
    _csrf: Csrf,
    name: Annotated[str, Form(max_length=80)] = "",
    query: Annotated[str, Form(max_length=500)] = "",
    speaker: Annotated[str, Form()] = "",
) -> Response:
    try:
        topic, tagged = service.create_topic(
            session,
            principal=principal,
            spec=service.TopicSpec(name=name, query=query, speaker=speaker or None),
        )
    except CallqaError as exc:
        rollback(session)
        form = {"name": name, "query": query, "speaker": speaker}
        return _page(request, session, principal, error=exc.message, form=form, code=422)
    return back(f"/topics?tagged={topic.id}:{tagged}")


@router.post("/topics/{topic_id}/delete", response_class=HTMLResponse)
def topics_delete(
    topic_id: int, session: SessionDep, principal: PageCallManager, _csrf: Csrf
) -> Response:
    service.delete_topic(session, topic=service.get_topic(session, topic_id))
    return back("/topics")
