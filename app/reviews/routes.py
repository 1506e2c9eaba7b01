from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.audit.service import audited
from app.auth import CallReader, DisputeWriter, OrgZone, ReviewWriter, SettingsDep
from app.csvexport import csv_requested, csv_response, wants_csv
from app.db import SessionDep, writes_audit
from app.ranges import Dates
from app.reviews import assignments, service
from app.reviews.assignments import AssignmentItem
from app.reviews.models import AssignmentStatus, DisputeStatus
from app.reviews.schemas import (
    AgreementReport,
    AssignIn,
    AutoAssigned,
    AutoAssignIn,
    CalibrationIn,
    CalibrationPublic,
    DecisionIn,
    DisputeIn,
    DisputePublic,
    ReviewIn,
    ReviewPublic,
    VerdictsIn,
)
from app.reviews.service import QueueItem
from app.scope import visible_call
from app.timeutil import from_local

router = APIRouter(prefix="/api/v1", tags=["reviews"])


@router.post("/calls/{call_id}/reviews", response_model=ReviewPublic, status_code=201)
def review_call(
    call_id: int, body: ReviewIn, session: SessionDep, principal: ReviewWriter
) -> ReviewPublic:
    """Override criteria or dimensions of the call's latest score, each with a reason; from
    now on the agent's scorecard uses the reviewed score. No overrides = machine confirmed."""
    with audited(
        session,
        principal=principal,
        action="override",
        target_type="call",
        target_id=call_id,
        detail=f"{len(body.overrides)} override(s)",
    ):
        call = visible_call(session, principal, call_id)
        review = service.add_review(
            session,
            principal=principal,
            call=call,
            overrides=body.overrides,
            coaching_note=body.coaching_note,
        )
    return service.to_public(review, principal.name)


@router.get("/calls/{call_id}/reviews", response_model=list[ReviewPublic])
def list_reviews(call_id: int, session: SessionDep, principal: CallReader) -> list[ReviewPublic]:
    call = visible_call(session, principal, call_id)
    return service.reviews_of(session, call_id=call.id or 0)


@router.post("/reviews/{review_id}/acknowledge", response_model=ReviewPublic)
def acknowledge_review(review_id: int, session: SessionDep, principal: CallReader) -> ReviewPublic:
    """The agent confirms having seen a reviewed score of their own call."""
    with audited(
        session,
        principal=principal,
        action="acknowledge",
        target_type="review",
        target_id=review_id,
    ):
        review = service.acknowledge(session, principal=principal, review_id=review_id)
    return next(r for r in service.reviews_of(session, call_id=review.call_id) if r.id == review.id)


@router.post("/calls/{call_id}/disputes", response_model=DisputePublic, status_code=201)
def dispute_call(
    call_id: int, body: DisputeIn, session: SessionDep, principal: DisputeWriter
) -> DisputePublic:
    """The agent disputes the score of their own call, with a reason."""
    call = visible_call(session, principal, call_id)
    dispute = service.raise_dispute(session, principal=principal, call=call, reason=body.reason)
    return service.dispute_public(session, [dispute])[0]


def disputes_csv(rows: list[DisputePublic]) -> Response:
    return csv_response(
        service.DISPUTE_CSV, service.dispute_csv_rows(rows), filename="disputes.csv"
    )


def queue_csv(items: list[QueueItem]) -> Response:
    return csv_response(
        service.QUEUE_CSV, service.queue_csv_rows(items), filename="review-queue.csv"
    )


@router.get("/disputes", response_model=list[DisputePublic])
@writes_audit(when=csv_requested)
def list_disputes(
    request: Request,
    session: SessionDep,
    principal: CallReader,
    status: DisputeStatus | None = None,
    format: str | None = None,
) -> list[DisputePublic] | Response:
    """Disputes on the calls you may see, newest first; CSV with Accept: text/csv."""
    rows = service.list_disputes(session, principal=principal, status=status)
    if wants_csv(request, format):
        with audited(
            session, principal=principal, action="export", target_type="disputes", target_id="list"
        ):
            pass
        return disputes_csv(rows)
    return rows


@router.post("/disputes/{dispute_id}/decision", response_model=DisputePublic)
def decide_dispute(
    dispute_id: int, body: DecisionIn, session: SessionDep, principal: ReviewWriter
) -> DisputePublic:
    """Accept (with the corrected score as overrides) or reject (with a reason)."""
    with audited(
        session,
        principal=principal,
        action="dispute_decision",
        target_type="dispute",
        target_id=dispute_id,
        detail="accepted" if body.accept else "rejected",
    ):
        dispute, call = service.visible_dispute(session, principal=principal, dispute_id=dispute_id)
        service.decide_dispute(
            session,
            principal=principal,
            dispute=dispute,
            call=call,
            accept=body.accept,
            reason=body.reason,
            overrides=body.overrides,
        )
    return service.dispute_public(session, [dispute])[0]


@router.get("/review-queue", response_model=list[QueueItem])
@writes_audit(when=csv_requested)
def get_review_queue(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: ReviewWriter,
    format: str | None = None,
) -> list[QueueItem] | Response:
    """Unreviewed calls picked for review: every auto-fail, every call under the threshold
    (CALLQA_REVIEW_BELOW) and a random share (CALLQA_REVIEW_SAMPLE_SHARE). Worst first."""
    items = service.queue_items(
        session,
        principal=principal,
        share=settings.review_sample_share,
        below=settings.review_below,
    )
    if wants_csv(request, format):
        with audited(
            session, principal=principal, action="export", target_type="queue", target_id="list"
        ):
            pass
        return queue_csv(items)
    return items


@router.get("/reviews/agreement", response_model=AgreementReport)
@writes_audit(when=csv_requested)
def agreement(
    request: Request,
    session: SessionDep,
    principal: ReviewWriter,
    dates: Dates,
    format: str | None = None,
) -> AgreementReport | Response:
    """How often reviewers overrode the machine, per criterion, with the calls behind it."""
    report = service.agreement(
        session,
        principal=principal,
        started_from=dates.started_from,
        started_to=dates.started_to,
    )
    if wants_csv(request, format):
        with audited(
            session,
            principal=principal,
            action="export",
            target_type="report",
            target_id="agreement",
        ):
            pass
        return csv_response(
            ["criterion", "label", "calls", "overridden", "share_overridden"],
            [
                (r.criterion, r.label, r.calls, r.overridden, r.share_overridden)
                for r in report.rows
            ],
            filename="agreement.csv",
        )
    return report


@router.post("/calibrations", response_model=CalibrationPublic, status_code=201)
def create_calibration(
    body: CalibrationIn, session: SessionDep, principal: ReviewWriter
) -> CalibrationPublic:
    """Ask several reviewers to score one call blind."""
    call = visible_call(session, principal, body.call_id)
    calibration = service.create_calibration(
        session, principal=principal, call=call, reviewers=body.reviewers
    )
    view = service.visible_calibration(
        session, principal=principal, calibration_id=calibration.id or 0
    )
    return service.calibration_public(session, principal=principal, view=view)


@router.get("/calibrations/{calibration_id}", response_model=CalibrationPublic)
def get_calibration(
    calibration_id: int, session: SessionDep, principal: ReviewWriter
) -> CalibrationPublic:
    """Where reviewers differ from each other and from the machine (once you have scored)."""
    view = service.visible_calibration(session, principal=principal, calibration_id=calibration_id)
    return service.calibration_public(session, principal=principal, view=view)


@router.post("/calibrations/{calibration_id}/verdicts", response_model=CalibrationPublic)
def submit_verdicts(
    calibration_id: int, body: VerdictsIn, session: SessionDep, principal: ReviewWriter
) -> CalibrationPublic:
    with audited(
        session,
        principal=principal,
        action="calibration_score",
        target_type="calibration",
        target_id=calibration_id,
    ):
        view = service.visible_calibration(
            session, principal=principal, calibration_id=calibration_id
        )
        service.submit_verdicts(session, principal=principal, view=view, verdicts=body.verdicts)
    return service.calibration_public(session, principal=principal, view=view)


# ---- assignments ----------------------------------------------------------------------------


def _item(session: SessionDep, principal: ReviewWriter, assignment_id: int) -> AssignmentItem:
    return assignments.list_assignments(session, principal=principal, ids=[assignment_id])[0]


@router.get("/review-assignments", response_model=list[AssignmentItem])
def list_assignments(
    session: SessionDep,
    principal: ReviewWriter,
    assignee: str | None = None,
    status: AssignmentStatus | None = None,
    overdue: bool | None = None,
) -> list[AssignmentItem]:
    """Review assignments on the calls you may see, open ones first by due time.
    `assignee=me` is your own list ("my reviews"); `overdue=true` the open ones past due."""
    return assignments.list_assignments(
        session, principal=principal, assignee=assignee, status=status, overdue=overdue
    )


@router.post("/review-assignments", response_model=AssignmentItem, status_code=201)
def assign_review(
    body: AssignIn,
    session: SessionDep,
    settings: SettingsDep,
    principal: ReviewWriter,
    zone: OrgZone,
) -> AssignmentItem:
    """Give a scored call to a reviewer (a supervisor of its team, or an admin) by a due
    time; a call already assigned is handed over."""
    with audited(
        session,
        principal=principal,
        action="assign_review",
        target_type="call",
        target_id=body.call_id,
        detail=body.assignee,
    ):
        row = assignments.assign(
            session,
            principal=principal,
            call_id=body.call_id,
            assignee=body.assignee,
            due_at=from_local(body.due_at, zone) if body.due_at else None,
            default_hours=settings.review_due_hours,
            below=settings.review_below,
        )
    return _item(session, principal, row.id or 0)


@router.post("/review-assignments/auto", response_model=AutoAssigned)
def auto_assign(
    body: AutoAssignIn,
    session: SessionDep,
    settings: SettingsDep,
    principal: ReviewWriter,
    zone: OrgZone,
) -> AutoAssigned:
    """Spread the review queue's unassigned calls over the supervisors of each call's team,
    the least loaded first (open assignments)."""
    with audited(
        session,
        principal=principal,
        action="assign_review",
        target_type="queue",
        target_id=str(body.team_id or "all"),
        detail="auto",
    ):
        spread = assignments.auto_assign(
            session,
            principal=principal,
            share=settings.review_sample_share,
            below=settings.review_below,
            due_at=from_local(body.due_at, zone) if body.due_at else None,
            default_hours=settings.review_due_hours,
            team_id=body.team_id,
        )
    return AutoAssigned(
        assigned=spread.assigned,
        per_reviewer=dict(spread.per_reviewer),
        no_reviewer=spread.no_reviewer,
    )


@router.delete("/review-assignments/{review_assignment_id}", status_code=204)
def unassign(review_assignment_id: int, session: SessionDep, principal: ReviewWriter) -> Response:
    """Take a call back from its assignee (it stays in the queue while unreviewed)."""
    with audited(
        session,
        principal=principal,
        action="unassign_review",
        target_type="review_assignment",
        target_id=review_assignment_id,
    ):
        assignments.unassign(session, principal=principal, assignment_id=review_assignment_id)
    return Response(status_code=204)
