"""Reviews from the call page (overrides, disputes, acknowledgements), the review queue, the
dispute list, calibrations and the reviewer-agreement report."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app.audit.service import audited
from app.auth import SettingsDep
from app.calls import service as calls
from app.csvexport import csv_response
from app.db import SessionDep, writes_audit
from app.errors import BadRequest
from app.reviews import assignments
from app.reviews import service as reviews
from app.reviews.effective import review_queue
from app.reviews.models import DisputeStatus
from app.reviews.schemas import OverrideIn
from app.scope import visible_agents, visible_call, visible_teams
from app.timeutil import utcnow
from app.web.deps import PageDates, PageDisputer, PageReader, PageReviewer
from app.web.render import back, render
from app.web.session import Csrf

router = APIRouter(include_in_schema=False)

_TARGETS = ("criterion", "dimension")


class ChecklistForm(BaseModel):
    """The checklist of the call page: `criterion__<id>` = pass | fail | empty (keep) with
    `reason__criterion__<id>`, and `dimension__<name>` = 0-100 | empty with
    `reason__dimension__<name>`. The criteria are the scorecard's, known only at run time, so
    the fields arrive as the model's extra fields (FastAPI hands a form model every field)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str] = Field(init=False)

    def overrides(self) -> list[OverrideIn]:
        fields = self.model_extra or {}
        out = []
        for name, value in fields.items():
            target, _, key = name.partition("__")
            if target not in _TARGETS or not key or not value.strip():
                continue
            reason = fields.get(f"reason__{target}__{key}", "").strip()
            if not reason:
                raise BadRequest(f"{target} {key!r}: say why you change it")
            parsed: bool | float
            if target == "criterion":
                parsed = value == "pass"
            else:
                try:
                    parsed = float(value)
                except ValueError:
                    raise BadRequest(f"dimension {key!r}: a score from 0 to 100") from None
            out.append(OverrideIn(target=target, key=key, value=parsed, reason=reason))
        return out


class ReviewForm(ChecklistForm):
    coaching_note: str = ""


class DecisionForm(ChecklistForm):
    """A dispute's decision; accepting it carries the correction as a checklist."""

    decision: Literal["accept", "reject"] = "reject"
    decision_reason: str = ""


class VerdictsForm(BaseModel):
    """`verdict__<criterion id>` = pass | fail for each criterion of the call's scorecard."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str] = Field(init=False)

    def verdicts(self) -> dict[str, bool]:
        return {
            name.removeprefix("verdict__"): value == "pass"
            for name, value in (self.model_extra or {}).items()
            if name.startswith("verdict__")
        }


# ---- on the call page -----------------------------------------------------------------------


@router.post("/calls/{call_id}/review")
def review_call(
    call_id: int,
    session: SessionDep,
    principal: PageReviewer,
    _csrf: Csrf,
    form: Annotated[ReviewForm, Form()],
) -> Response:
    overrides = form.overrides()
    with audited(
        session,
        principal=principal,
        action="override",
        target_type="call",
        target_id=call_id,
        detail=f"{len(overrides)} override(s)",
    ):
        call = visible_call(session, principal, call_id)
        reviews.add_review(
            session,
            principal=principal,
            call=call,
            overrides=overrides,
            coaching_note=form.coaching_note,
        )
    return back(f"/calls/{call_id}#reviews")


@router.post("/calls/{call_id}/dispute")
def dispute_call(
    call_id: int,
    session: SessionDep,
    principal: PageDisputer,
    _csrf: Csrf,
    reason: Annotated[str, Form()] = "",
) -> Response:
    if len(reason.strip()) < 3:
        raise BadRequest("say why you dispute the score")
    call = visible_call(session, principal, call_id)
    reviews.raise_dispute(session, principal=principal, call=call, reason=reason)
    return back(f"/calls/{call_id}#disputes")


@router.post("/reviews/{review_id}/acknowledge")
def acknowledge_review(
    review_id: int, session: SessionDep, principal: PageReader, _csrf: Csrf
) -> Response:
    with audited(
        session,
        principal=principal,
        action="acknowledge",
        target_type="review",
        target_id=review_id,
    ):
        review = reviews.acknowledge(session, principal=principal, review_id=review_id)
    return back(f"/calls/{review.call_id}#reviews")


@router.post("/disputes/{dispute_id}/decision")
def decide_dispute(
    dispute_id: int,
    session: SessionDep,
    principal: PageReviewer,
    _csrf: Csrf,
    form: Annotated[DecisionForm, Form()],
) -> Response:
    accept = form.decision == "accept"
    reason = form.decision_reason.strip()
    if len(reason) < 3:
        raise BadRequest("give a reason for the decision")
    overrides = form.overrides() if accept else []
    with audited(
        session,
        principal=principal,
        action="dispute_decision",
        target_type="dispute",
        target_id=dispute_id,
        detail="accepted" if accept else "rejected",
    ):
        dispute, call = reviews.visible_dispute(session, principal=principal, dispute_id=dispute_id)
        reviews.decide_dispute(
            session,
            principal=principal,
            dispute=dispute,
            call=call,
            accept=accept,
            reason=reason,
            overrides=overrides,
        )
    return back(f"/calls/{call.id}#disputes")


# ---- calibrations ---------------------------------------------------------------------------


@router.post("/calls/{call_id}/calibrations")
def create_calibration(
    call_id: int,
    session: SessionDep,
    principal: PageReviewer,
    _csrf: Csrf,
    reviewers: Annotated[list[str], Form(default_factory=list)],
) -> Response:
    call = visible_call(session, principal, call_id)
    calibration = reviews.create_calibration(
        session, principal=principal, call=call, reviewers=reviewers
    )
    return back(f"/calibrations/{calibration.id}")


@router.get("/calibrations", response_class=HTMLResponse)
def calibrations_page(
    request: Request, session: SessionDep, principal: PageReviewer
) -> HTMLResponse:
    """The calibrations one is invited to (those waiting for one's verdicts first)."""
    return render(
        request,
        "calibrations.html",
        principal,
        items=reviews.my_calibrations(session, principal=principal),
    )


@router.get("/calibrations/{calibration_id}", response_class=HTMLResponse)
@writes_audit
def calibration_page(
    request: Request, calibration_id: int, session: SessionDep, principal: PageReviewer
) -> HTMLResponse:
    view = reviews.visible_calibration(session, principal=principal, calibration_id=calibration_id)
    public = reviews.calibration_public(session, principal=principal, view=view)
    seat = next((s for s in view.seats if s.user_id == principal.id), None)
    with audited(
        session,
        principal=principal,
        action="transcript_view",
        target_type="call",
        target_id=view.call.id,
    ):
        detail = calls.call_detail(session, call=view.call)
    criteria = [c for c in (detail.score.criteria if detail.score else []) if c["applicable"]]
    return render(
        request,
        "calibration.html",
        principal,
        cal=public,
        call=detail,
        criteria=criteria,
        # The player and the words, without the machine's marks until one has scored.
        segments=detail.transcript.segments if detail.transcript else [],
        must_score=seat is not None and seat.review_id is None,
    )


@router.post("/calibrations/{calibration_id}/verdicts")
def calibration_verdicts(
    calibration_id: int,
    session: SessionDep,
    principal: PageReviewer,
    _csrf: Csrf,
    form: Annotated[VerdictsForm, Form()],
) -> Response:
    with audited(
        session,
        principal=principal,
        action="calibration_score",
        target_type="calibration",
        target_id=calibration_id,
    ):
        view = reviews.visible_calibration(
            session, principal=principal, calibration_id=calibration_id
        )
        reviews.submit_verdicts(session, principal=principal, view=view, verdicts=form.verdicts())
    return back(f"/calibrations/{calibration_id}")


# ---- review queue, disputes, agreement ------------------------------------------------------


@router.get("/review-queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: PageReviewer,
    show: Literal["all", "unassigned", "mine"] = "all",
    spread: int | None = None,
    unstaffed: int | None = None,
) -> HTMLResponse:
    items = review_queue(
        session,
        principal=principal,
        share=settings.review_sample_share,
        below=settings.review_below,
    )
    assigned = reviews.assignments_of(session, [c.id or 0 for c, _, _ in items])
    if show == "unassigned":
        items = [i for i in items if i[0].id not in assigned]
    elif show == "mine":
        items = [i for i in items if i[0].id in assigned and assigned[i[0].id][0] == principal.name]
    agents = {a.id: a.external_id for a in session.exec(visible_agents(principal))}
    invites = [
        c for c in reviews.my_calibrations(session, principal=principal) if c.mine == "to score"
    ]
    return render(
        request,
        "queue.html",
        principal,
        items=items,
        agents=agents,
        invites=invites,
        share=settings.review_sample_share,
        below=settings.review_below,
        assigned=assigned,
        reviewers=assignments.reviewers(session, principal=principal),
        teams=list(session.exec(visible_teams(principal))),
        show=show,
        spread=spread,
        unstaffed=unstaffed,
        now=utcnow(),
        due_hours=settings.review_due_hours,
    )


@router.get("/review-queue.csv")
@writes_audit
def queue_export(session: SessionDep, settings: SettingsDep, principal: PageReviewer) -> Response:
    with audited(
        session, principal=principal, action="export", target_type="queue", target_id="list"
    ):
        items = reviews.queue_items(
            session,
            principal=principal,
            share=settings.review_sample_share,
            below=settings.review_below,
        )
    return csv_response(
        reviews.QUEUE_CSV, reviews.queue_csv_rows(items), filename="review-queue.csv"
    )


@router.get("/disputes", response_class=HTMLResponse)
def disputes_page(
    request: Request, session: SessionDep, principal: PageReader, status: str | None = "open"
) -> HTMLResponse:
    wanted = DisputeStatus(status) if status in {s.value for s in DisputeStatus} else None
    rows = reviews.list_disputes(session, principal=principal, status=wanted)
    return render(request, "disputes.html", principal, rows=rows, status=status)


@router.get("/disputes.csv")
@writes_audit
def disputes_export(session: SessionDep, principal: PageReader) -> Response:
    with audited(
        session, principal=principal, action="export", target_type="disputes", target_id="list"
    ):
        rows = reviews.list_disputes(session, principal=principal, status=None)
    return csv_response(
        reviews.DISPUTE_CSV, reviews.dispute_csv_rows(rows), filename="disputes.csv"
    )


@router.get("/agreement", response_class=HTMLResponse)
def agreement_page(
    request: Request, session: SessionDep, principal: PageReviewer, dates: PageDates
) -> HTMLResponse:
    report = reviews.agreement(
        session, principal=principal, started_from=dates.started_from, started_to=dates.started_to
    )
    return render(request, "agreement.html", principal, report=report, q=request.query_params)
