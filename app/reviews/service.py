"""Reviews, disputes and calibrations. Never commits; the route does, with the audit entry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.auth import Principal, principal_for
from app.calls.models import Call
from app.errors import BadRequest, Conflict, Forbidden, NotFound
from app.reviews.effective import review_queue
from app.reviews.models import (
    AssignmentStatus,
    Calibration,
    CalibrationReviewer,
    Dispute,
    DisputeStatus,
    Review,
    ReviewAssignment,
    ReviewKind,
)
from app.reviews.schemas import (
    AgreementReport,
    AgreementRow,
    CalibrationPublic,
    CalibrationRow,
    DisputePublic,
    OverrideIn,
    ReviewPublic,
)
from app.scope import visible_calls
from app.scorecards import service as scorecards
from app.scorecards.models import CallScore
from app.timeutil import as_utc, utcnow
from app.users.models import Agent, Role, User
from qa import review as qa_review
from qa.types import DIMENSIONS

VERDICT_KINDS = (ReviewKind.review, ReviewKind.dispute)  # the kinds that become the score


# What a review must set off in the domains above this one (the call's alerts close when it
# clears their cause): registered by app.main, which knows them all, once per process.
ON_REVIEW: list[Callable[[Session, Call, Review], object]] = []


def on_review(hook: Callable[[Session, Call, Review], object]) -> None:
    if hook not in ON_REVIEW:
        ON_REVIEW.append(hook)


def _overrides(items: list[OverrideIn]) -> list[qa_review.Override]:
    return [qa_review.Override(o.target, o.key, o.value, o.reason) for o in items]


def machine_score(session: Session, call: Call) -> CallScore:
    score = scorecards.latest_score(session, call_id=call.id or 0)
    if score is None:
        raise Conflict(
            f"call {call.id} has no score yet ({call.status.value}); review it once it is scored"
        )
    return score


def add_review(
    session: Session,
    *,
    principal: Principal,
    call: Call,
    overrides: list[OverrideIn],
    coaching_note: str | None,
    kind: ReviewKind = ReviewKind.review,
) -> Review:
    """Apply a person's overrides to the call's latest machine score and store the result."""
    if principal.user_id is None:
        raise Forbidden("reviews are made by people, not API keys")
    score = machine_score(session, call)
    card = scorecards.to_scorecard(
        scorecards.get_version(session, version_id=score.scorecard_version_id)
    )
    try:
        result = qa_review.apply(score.detail, card, _overrides(overrides))
    except qa_review.OverrideInvalid as exc:
        raise BadRequest(str(exc)) from None
    row = Review(
        call_id=call.id or 0,
        call_score_id=score.id or 0,
        reviewer_id=principal.user_id,
        kind=kind,
        overrides=result.changes,
        coaching_note=(coaching_note or "").strip() or None,
    )
    _set_scores(row, result)
    session.add(row)
    session.flush()
    if kind is not ReviewKind.calibration:
        _finish_assignment(session, call, row)
    for hook in ON_REVIEW:
        hook(session, call, row)
    return row


def _finish_assignment(session: Session, call: Call, review: Review) -> None:
    """A saved review (or an accepted dispute's correction) is the work of the call's open
    assignment, whoever did it; a blind calibration score is not."""
    row = session.exec(
        select(ReviewAssignment).where(
            ReviewAssignment.call_id == call.id,
            ReviewAssignment.status == AssignmentStatus.open,
        )
    ).first()
    if row is not None:
        row.status, row.review_id, row.done_at = AssignmentStatus.done, review.id, utcnow()
        session.add(row)


def _set_scores(row: Review, result: qa_review.Reviewed) -> None:
    row.overall, row.script_compliance = result.overall, result.script_compliance
    row.auto_fail = result.auto_fail
    for d in DIMENSIONS:
        setattr(row, d, result.dimensions[d])


def latest_verdict(session: Session, *, call_id: int) -> Review | None:
    """The review that is the agent's score for this call, if any."""
    return session.exec(
        select(Review)
        .where(Review.call_id == call_id, col(Review.kind).in_(VERDICT_KINDS))
        .order_by(col(Review.id).desc())
    ).first()


def _names(session: Session, user_ids: set[int] | set[int | None]) -> dict[int, str]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return {u.id or 0: u.email for u in session.exec(select(User).where(col(User.id).in_(ids)))}


def reviews_of(session: Session, *, call_id: int) -> list[ReviewPublic]:
    """A call's reviews and dispute corrections, oldest first (calibrations are not included)."""
    rows = list(
        session.exec(
            select(Review)
            .where(Review.call_id == call_id, col(Review.kind).in_(VERDICT_KINDS))
            .order_by(col(Review.id))
        )
    )
    names = _names(session, {r.reviewer_id for r in rows})
    return [to_public(r, names.get(r.reviewer_id, "?")) for r in rows]


def to_public(r: Review, reviewer: str) -> ReviewPublic:
    return ReviewPublic(
        id=r.id or 0,
        call_id=r.call_id,
        call_score_id=r.call_score_id,
        kind=r.kind,
        reviewer=reviewer,
        overrides=r.overrides,
        coaching_note=r.coaching_note,
        overall=r.overall,
        dimensions={d: getattr(r, d) for d in DIMENSIONS},
        script_compliance=r.script_compliance,
        auto_fail=r.auto_fail,
        acknowledged_at=r.acknowledged_at,
        created_at=r.created_at,
    )


def acknowledge(session: Session, *, principal: Principal, review_id: int) -> Review:
    """The agent confirms they have seen a reviewed score of their own call."""
    review = session.get(Review, review_id)
    call = session.get(Call, review.call_id) if review else None
    if (
        review is None
        or call is None
        or review.kind not in VERDICT_KINDS
        or (principal.role is not Role.agent or call.agent_id != principal.agent_id)
    ):
        # Only the agent the call belongs to acknowledges; to anyone else it does not exist.
        raise NotFound(f"review {review_id} not found")
    if review.acknowledged_at is None:
        review.acknowledged_at = utcnow()
        session.add(review)
        session.flush()
    return review


# ---- disputes -------------------------------------------------------------------------------


def raise_dispute(session: Session, *, principal: Principal, call: Call, reason: str) -> Dispute:
    if principal.role is not Role.agent or call.agent_id != principal.agent_id:
        raise Forbidden("only the agent who took the call can dispute its score")
    machine_score(session, call)
    open_one = session.exec(
        select(Dispute).where(Dispute.call_id == call.id, Dispute.status == DisputeStatus.open)
    ).first()
    if open_one is not None:
        raise Conflict(f"call {call.id} already has an open dispute ({open_one.id})")
    row = Dispute(
        call_id=call.id or 0, agent_id=call.agent_id, raised_by=principal.id, reason=reason.strip()
    )
    session.add(row)
    session.flush()
    return row


def visible_dispute(
    session: Session, *, principal: Principal, dispute_id: int
) -> tuple[Dispute, Call]:
    row = session.exec(
        select(Dispute, Call)
        .join(Call, col(Call.id) == Dispute.call_id)
        .where(Dispute.id == dispute_id)
        .where(col(Call.id).in_(visible_calls(principal).with_only_columns(col(Call.id))))
    ).first()
    if row is None:
        raise NotFound(f"dispute {dispute_id} not found")
    return row[0], row[1]


def decide_dispute(
    session: Session,
    *,
    principal: Principal,
    dispute: Dispute,
    call: Call,
    accept: bool,
    reason: str,
    overrides: list[OverrideIn],
) -> Dispute:
    if dispute.status is not DisputeStatus.open:
        raise Conflict(f"dispute {dispute.id} was already {dispute.status.value}")
    if accept:
        if not overrides:
            raise BadRequest("accepting a dispute needs the corrected score: give overrides")
        review = add_review(
            session,
            principal=principal,
            call=call,
            overrides=overrides,
            coaching_note=None,
            kind=ReviewKind.dispute,
        )
        if not review.overrides:
            raise BadRequest("the overrides change nothing; reject the dispute instead")
        dispute.review_id = review.id
    dispute.status = DisputeStatus.accepted if accept else DisputeStatus.rejected
    dispute.decided_by, dispute.decided_at = principal.id, utcnow()
    dispute.decision_reason = reason.strip()
    session.add(dispute)
    session.flush()
    return dispute


def dispute_public(session: Session, rows: list[Dispute]) -> list[DisputePublic]:
    ids: set[int | None] = {d.raised_by for d in rows}
    ids |= {d.decided_by for d in rows}
    names = _names(session, ids)
    agents = (
        {
            a.id: a.external_id
            for a in session.exec(
                select(Agent).where(col(Agent.id).in_({d.agent_id for d in rows}))
            )
        }
        if rows
        else {}
    )
    return [
        DisputePublic(
            id=d.id or 0,
            call_id=d.call_id,
            agent=agents.get(d.agent_id, "?"),
            raised_by=names.get(d.raised_by, "?"),
            reason=d.reason,
            status=d.status,
            created_at=d.created_at,
            decided_by=names.get(d.decided_by or 0),
            decided_at=d.decided_at,
            decision_reason=d.decision_reason,
            review_id=d.review_id,
        )
        for d in rows
    ]


def disputes_of_call(session: Session, *, call_id: int) -> list[DisputePublic]:
    return dispute_public(
        session,
        list(
            session.exec(
                select(Dispute).where(Dispute.call_id == call_id).order_by(col(Dispute.id))
            )
        ),
    )


def list_disputes(
    session: Session, *, principal: Principal, status: DisputeStatus | None
) -> list[DisputePublic]:
    query = (
        select(Dispute)
        .join(Call, col(Call.id) == Dispute.call_id)
        .where(col(Call.id).in_(visible_calls(principal).with_only_columns(col(Call.id))))
    )
    if status is not None:
        query = query.where(Dispute.status == status)
    return dispute_public(session, list(session.exec(query.order_by(col(Dispute.id).desc()))))


# ---- calibration ----------------------------------------------------------------------------


def create_calibration(
    session: Session, *, principal: Principal, call: Call, reviewers: list[str]
) -> Calibration:
    machine_score(session, call)
    emails = sorted({e.strip().lower() for e in reviewers})
    if len(emails) < 2:
        raise BadRequest("a calibration needs at least two different reviewers")
    users = list(session.exec(select(User).where(col(User.email).in_(emails))))
    unknown = set(emails) - {u.email for u in users}
    if unknown:
        raise BadRequest(f"unknown reviewer(s): {', '.join(sorted(unknown))}")
    not_reviewers = [u.email for u in users if u.role is Role.agent]
    if not_reviewers:
        raise BadRequest(f"agents cannot calibrate: {', '.join(not_reviewers)}")
    # A calibration must not open a call to someone outside its scope.
    blind = [u.email for u in users if not can_see_call(session, u, call)]
    if blind:
        raise BadRequest(f"not in this call's teams: {', '.join(blind)}")
    calibration = Calibration(call_id=call.id or 0, created_by=principal.id)
    session.add(calibration)
    session.flush()
    for u in users:
        session.add(CalibrationReviewer(calibration_id=calibration.id or 0, user_id=u.id or 0))
    session.flush()
    return calibration


def can_see_call(session: Session, user: User, call: Call) -> bool:
    principal = principal_for(session, user)
    return session.exec(visible_calls(principal).where(Call.id == call.id)).first() is not None


@dataclass
class CalibrationView:
    calibration: Calibration
    call: Call
    seats: list[CalibrationReviewer]


def visible_calibration(
    session: Session, *, principal: Principal, calibration_id: int
) -> CalibrationView:
    found = session.exec(
        select(Calibration, Call)
        .join(Call, col(Call.id) == Calibration.call_id)
        .where(Calibration.id == calibration_id)
    ).first()
    if found is None:
        raise NotFound(f"calibration {calibration_id} not found")
    calibration, call = found
    seats = list(
        session.exec(
            select(CalibrationReviewer).where(CalibrationReviewer.calibration_id == calibration_id)
        )
    )
    is_party = principal.id == calibration.created_by or any(
        s.user_id == principal.id for s in seats
    )
    in_scope = session.exec(visible_calls(principal).where(Call.id == call.id)).first()
    if principal.kind != "user" or not (is_party or (principal.is_admin and in_scope)):
        raise NotFound(f"calibration {calibration_id} not found")
    return CalibrationView(calibration, call, seats)


def submit_verdicts(
    session: Session, *, principal: Principal, view: CalibrationView, verdicts: dict[str, bool]
) -> Review:
    seat = next((s for s in view.seats if s.user_id == principal.id), None)
    if seat is None:
        raise Forbidden("you are not a reviewer in this calibration")
    if seat.review_id is not None:
        raise Conflict("you have already scored this call for this calibration")
    score = machine_score(session, view.call)
    applicable = {c.id for c in score.result().applicable}
    missing, unknown = applicable - verdicts.keys(), verdicts.keys() - applicable
    if unknown:
        raise BadRequest(f"not applicable criteria: {', '.join(sorted(unknown))}")
    if missing:
        raise BadRequest(
            f"give a verdict for every criterion; missing: {', '.join(sorted(missing))}"
        )
    card = scorecards.to_scorecard(
        scorecards.get_version(session, version_id=score.scorecard_version_id)
    )
    overrides = [
        qa_review.Override("criterion", cid, v, "calibration") for cid, v in verdicts.items()
    ]
    result = qa_review.apply(score.detail, card, overrides)
    review = Review(
        call_id=view.call.id or 0,
        call_score_id=score.id or 0,
        reviewer_id=principal.id,
        kind=ReviewKind.calibration,
        calibration_id=view.calibration.id,
        verdicts=dict(verdicts),
        overrides=result.changes,
    )
    _set_scores(review, result)
    session.add(review)
    session.flush()
    seat.review_id = review.id
    session.add(seat)
    session.flush()
    return review


@dataclass(frozen=True)
class CalibrationItem:
    id: int
    call_id: int
    created_by: str
    created_at: datetime
    scored: int  # reviewers who sent their verdicts
    reviewers: int
    mine: str  # "to score", "scored", or "organised" (not a reviewer)


def my_calibrations(session: Session, *, principal: Principal) -> list[CalibrationItem]:
    """The calibrations one is invited to or organised, the ones waiting for one's verdicts
    first, then the newest."""
    if principal.id is None or principal.kind != "user":
        return []
    invited = select(CalibrationReviewer.calibration_id).where(
        CalibrationReviewer.user_id == principal.id
    )
    rows = session.exec(
        select(Calibration).where(
            or_(col(Calibration.id).in_(invited), col(Calibration.created_by) == principal.id)
        )
    ).all()
    if not rows:
        return []
    seats = session.exec(
        select(CalibrationReviewer).where(
            col(CalibrationReviewer.calibration_id).in_([c.id for c in rows])
        )
    ).all()
    names = _names(session, {c.created_by for c in rows})
    items = []
    for c in rows:
        mine = [s for s in seats if s.calibration_id == c.id]
        seat = next((s for s in mine if s.user_id == principal.id), None)
        status = "organised" if seat is None else ("scored" if seat.review_id else "to score")
        items.append(
            CalibrationItem(
                id=c.id or 0,
                call_id=c.call_id,
                created_by=names.get(c.created_by, "?"),
                created_at=c.created_at,
                scored=sum(1 for s in mine if s.review_id),
                reviewers=len(mine),
                mine=status,
            )
        )
    items.sort(key=lambda i: (i.mine != "to score", -i.created_at.timestamp()))
    return items


def calibration_public(
    session: Session, *, principal: Principal, view: CalibrationView
) -> CalibrationPublic:
    seat_ids: set[int] = {s.user_id for s in view.seats} | {view.calibration.created_by}
    names = _names(session, seat_ids)
    seat = next((s for s in view.seats if s.user_id == principal.id), None)
    # Blind: a reviewer sees the others (and the machine) only after scoring; the organiser,
    # when not a reviewer, sees the comparison as it fills in.
    visible = seat.review_id is not None if seat else True
    out = CalibrationPublic(
        id=view.calibration.id or 0,
        call_id=view.call.id or 0,
        created_by=names.get(view.calibration.created_by, "?"),
        created_at=view.calibration.created_at,
        reviewers={names.get(s.user_id, "?"): s.review_id is not None for s in view.seats},
        results_visible=visible,
    )
    if not visible:
        return out
    reviews = {s.user_id: session.get(Review, s.review_id) for s in view.seats if s.review_id}
    # Compare against the machine score the reviewers saw, even if the call was rescored since.
    first = next((r for r in reviews.values() if r is not None), None)
    score = (session.get(CallScore, first.call_score_id) if first else None) or machine_score(
        session, view.call
    )
    verdicts: dict[str, dict[str, bool] | None] = {
        names.get(s.user_id, "?"): (r.verdicts if (r := reviews.get(s.user_id)) else None)
        for s in view.seats
    }
    submitted = {n: v for n, v in verdicts.items() if v is not None}
    agree_all = 0
    machine_same: dict[str, int] = dict.fromkeys(submitted, 0)
    rows = []
    for c in score.result().applicable:
        given = {n: (v.get(c.id) if v is not None else None) for n, v in verdicts.items()}
        values = {v for v in given.values() if v is not None}
        reviewers_agree = len(values) <= 1
        agree_all += reviewers_agree
        for n, v in submitted.items():
            machine_same[n] += v.get(c.id) == c.passed
        rows.append(
            CalibrationRow(
                criterion=c.id,
                label=c.label,
                machine=c.passed,
                reviewers=given,
                reviewers_agree=reviewers_agree,
                machine_agrees=values <= {c.passed},
            )
        )
    out.rows = rows
    if rows and len(submitted) >= 2:
        out.reviewer_agreement = round(agree_all / len(rows), 3)
    out.machine_agreement = (
        {n: round(k / len(rows), 3) for n, k in machine_same.items()} if rows else {}
    )
    return out


# ---- agreement between machine and reviewers ------------------------------------------------


def agreement(
    session: Session,
    *,
    principal: Principal,
    started_from: datetime | None,
    started_to: datetime | None,
) -> AgreementReport:
    """Per criterion: how often reviewers overrode the machine, and on how many calls."""
    latest = (
        select(func.max(Review.id).label("rid"))
        .where(col(Review.kind).in_(VERDICT_KINDS))
        .group_by(col(Review.call_id))
    )
    query = (
        select(Review, CallScore)
        .join(CallScore, col(CallScore.id) == Review.call_score_id)
        .join(Call, col(Call.id) == Review.call_id)
        .where(col(Review.id).in_(latest))
        .where(col(Call.id).in_(visible_calls(principal).with_only_columns(col(Call.id))))
    )
    if started_from:
        query = query.where(Call.started_at >= as_utc(started_from))
    if started_to:
        query = query.where(Call.started_at < as_utc(started_to))
    per: dict[str, dict[str, Any]] = {}
    calls = 0
    for review, score in session.exec(query):
        calls += 1
        flipped = {o["key"] for o in review.overrides if o["target"] == "criterion"}
        for c in score.result().applicable:
            row = per.setdefault(c.id, {"label": c.label, "calls": 0, "overridden": 0})
            row["calls"] += 1
            row["overridden"] += c.id in flipped
    rows = [
        AgreementRow(
            criterion=cid,
            label=r["label"],
            calls=r["calls"],
            overridden=r["overridden"],
            share_overridden=round(r["overridden"] / r["calls"], 3),
        )
        for cid, r in per.items()
    ]
    rows.sort(key=lambda r: (-(r.share_overridden or 0), -r.calls, r.criterion))
    checked = sum(r.calls for r in rows)
    overridden = sum(r.overridden for r in rows)
    return AgreementReport(
        reviewed_calls=calls,
        criteria_checked=checked,
        criteria_overridden=overridden,
        share_overridden=round(overridden / checked, 3) if checked else None,
        rows=rows,
    )


def calibrators(session: Session, *, call: Call) -> list[str]:
    """Who may be asked to score `call` blind: active supervisors and admins who may see it."""
    users = session.exec(
        select(User)
        .where(col(User.role).in_((Role.supervisor, Role.admin)), col(User.is_active))
        .order_by(col(User.email))
    )
    return [u.email for u in users if can_see_call(session, u, call)]


# ---- review queue and exports ---------------------------------------------------------------


class QueueItem(BaseModel):
    call_id: int
    agent_id: int
    started_at: datetime
    duration_seconds: float
    overall: float | None
    auto_fail: bool
    why: str
    assignee: str | None = None
    due_at: datetime | None = None


def queue_items(
    session: Session, *, principal: Principal, share: float, below: float
) -> list[QueueItem]:
    """The review queue (see effective.review_queue) as the API and the CSV show it."""
    rows = review_queue(session, principal=principal, share=share, below=below)
    assigned = assignments_of(session, [c.id or 0 for c, _, _ in rows])
    return [
        QueueItem(
            call_id=c.id or 0,
            agent_id=c.agent_id,
            started_at=c.started_at,
            duration_seconds=c.duration_seconds,
            overall=s.overall,
            auto_fail=s.auto_fail,
            why=why,
            assignee=assigned[c.id][0] if c.id in assigned else None,
            due_at=assigned[c.id][1].due_at if c.id in assigned else None,
        )
        for c, s, why in rows
    ]


def assignments_of(
    session: Session, call_ids: list[int]
) -> dict[int, tuple[str, ReviewAssignment]]:
    """The assignment of each of these calls with its assignee's login name."""
    rows = session.exec(
        select(ReviewAssignment, User.email)
        .join(User, col(User.id) == ReviewAssignment.assignee_id)
        .where(col(ReviewAssignment.call_id).in_(call_ids))
    )
    return {a.call_id: (email, a) for a, email in rows}


DISPUTE_CSV = [
    "id",
    "call_id",
    "agent",
    "raised_by",
    "reason",
    "status",
    "created_at",
    "decided_by",
    "decided_at",
    "decision_reason",
]
QUEUE_CSV = [
    "call_id",
    "agent_id",
    "started_at",
    "duration_seconds",
    "overall",
    "auto_fail",
    "why",
    "assignee",
    "due_at",
]


def dispute_csv_rows(rows: Sequence[DisputePublic]) -> list[list[object]]:
    return [[getattr(d, k) if k != "status" else d.status.value for k in DISPUTE_CSV] for d in rows]


def queue_csv_rows(items: Sequence[QueueItem]) -> list[list[object]]:
    return [[getattr(i, k) for k in QUEUE_CSV] for i in items]
