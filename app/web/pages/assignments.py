"""Review assignments on the pages: handing queue calls to reviewers (by hand or spread
automatically over each team's supervisors) and each reviewer's own list, "My reviews"."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.audit.service import audited
from app.auth import SettingsDep
from app.db import SessionDep
from app.errors import BadRequest
from app.reviews import assignments
from app.reviews.models import AssignmentStatus
from app.timeutil import day_end
from app.web.deps import PageReviewer
from app.web.render import back, render, viewer_zone
from app.web.session import Csrf

router = APIRouter(include_in_schema=False)


def _due(value: str, principal: PageReviewer, settings: SettingsDep) -> datetime | None:
    """A due day typed on a page: the end of that day on the viewer's clock; empty: the
    default (CALLQA_REVIEW_DUE_HOURS from now)."""
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(f"due: {value!r} is not a date (YYYY-MM-DD)") from None
    return day_end(day, viewer_zone(principal, settings))


@router.post("/review-queue/assign")
def assign_selected(
    session: SessionDep,
    settings: SettingsDep,
    principal: PageReviewer,
    _csrf: Csrf,
    call_id: Annotated[list[int], Form()] = [],  # noqa: B006 (FastAPI reads the default)
    assignee: Annotated[str, Form(max_length=320)] = "",
    due: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Give the ticked calls to one reviewer: all of them, or none if one cannot be."""
    if not call_id:
        raise BadRequest("tick the calls to assign")
    if not assignee.strip():
        raise BadRequest("choose whom to assign them to")
    due_at = _due(due, principal, settings)
    for one in call_id:
        with audited(
            session,
            principal=principal,
            action="assign_review",
            target_type="call",
            target_id=one,
            detail=assignee,
        ):
            assignments.assign(
                session,
                principal=principal,
                call_id=one,
                assignee=assignee,
                due_at=due_at,
                default_hours=settings.review_due_hours,
                below=settings.review_below,
            )
    return back("/review-queue")


@router.post("/review-queue/auto")
def auto_assign(
    session: SessionDep,
    settings: SettingsDep,
    principal: PageReviewer,
    _csrf: Csrf,
    team_id: Annotated[str, Form(max_length=20)] = "",
    due: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    if team_id.strip() and not team_id.strip().isdigit():
        raise BadRequest(f"team_id: {team_id!r} is not a team's number")
    team = int(team_id) if team_id.strip() else None
    with audited(
        session,
        principal=principal,
        action="assign_review",
        target_type="queue",
        target_id=str(team or "all"),
        detail="auto",
    ):
        spread = assignments.auto_assign(
            session,
            principal=principal,
            share=settings.review_sample_share,
            below=settings.review_below,
            due_at=_due(due, principal, settings),
            default_hours=settings.review_due_hours,
            team_id=team,
        )
    return back(f"/review-queue?spread={spread.assigned}&unstaffed={len(spread.no_reviewer)}")


@router.get("/my-reviews", response_class=HTMLResponse)
def my_reviews(request: Request, session: SessionDep, principal: PageReviewer) -> HTMLResponse:
    open_ = assignments.list_assignments(
        session, principal=principal, assignee="me", status=AssignmentStatus.open
    )
    done = assignments.list_assignments(
        session,
        principal=principal,
        assignee="me",
        status=AssignmentStatus.done,
        newest_done_first=True,
        limit=20,
    )
    return render(request, "my_reviews.html", principal, open=open_, done=done)
