"""Legal holds, deleting a call, and erasing everything about one customer.

A call's traces are its recording file, its transcript (segments, sentence vectors), scores,
reviews, disputes, calibrations, alerts, job rows and coaching sessions' links to it; a shopper
submission matched to it loses the match. Incentive lines are stored numbers per agent and
month: a locked period keeps its figures, and the words behind them go. The audit log is
append-only and names no words: it keeps its rows (who played or downloaded call 42), and
records the deletion itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from app import storage
from app.alerts.models import Alert
from app.audit.service import record
from app.auth import Principal
from app.calls.models import Call, Transcript, TranscriptEmbedding, TranscriptSegment
from app.coaching.models import CoachingCall
from app.config import Settings
from app.db import after_commit
from app.errors import BadRequest, Conflict, NotFound
from app.jobs.models import Job
from app.privacy.models import HoldKind, LegalHold
from app.reviews.models import (
    Calibration,
    CalibrationReviewer,
    Dispute,
    Review,
    ReviewAssignment,
)
from app.scorecards.models import CallScore
from app.shopper.models import ShopperSubmission
from app.timeutil import utcnow
from app.topics.models import CallTopic
from app.users.models import Agent


def set_hold(
    session: Session, *, kind: HoldKind, value: str, reason: str, by: Principal
) -> LegalHold:
    value, reason = value.strip(), reason.strip()
    if not value or not reason:
        raise BadRequest("a legal hold needs what it covers (value) and why (reason)")
    if kind is HoldKind.call and not value.isdigit():
        raise BadRequest("a hold on a call names the call's id")
    hold = LegalHold(kind=kind, value=value, reason=reason, set_by=by.name)
    session.add(hold)
    session.flush()
    _audit(session, by, "hold_set", hold, f"hold {hold.id}: {hold.reason}")
    return hold


def release_hold(session: Session, *, hold_id: int, by: Principal) -> LegalHold:
    hold = session.get(LegalHold, hold_id)
    if hold is None:
        raise NotFound(f"no legal hold {hold_id}")
    if hold.released_at is not None:
        raise Conflict(f"legal hold {hold_id} was released already")
    hold.released_by, hold.released_at = by.name, utcnow()
    session.add(hold)
    session.flush()
    _audit(session, by, "hold_release", hold, f"hold {hold.id} released")
    return hold


def _audit(session: Session, by: Principal, action: str, hold: LegalHold, detail: str) -> None:
    """Who set and who released a hold is audited, whoever asked."""
    record(
        session,
        principal=by,
        action=action,
        target_type=f"hold:{hold.kind.value}",
        target_id=hold.value,
        detail=detail,
    )


def list_holds(session: Session, *, active_only: bool) -> list[LegalHold]:
    query = select(LegalHold).order_by(col(LegalHold.id))
    if active_only:
        query = query.where(col(LegalHold.released_at).is_(None))
    return list(session.exec(query).all())


def holds_on(
    session: Session, call: Call, active: list[LegalHold] | None = None
) -> list[LegalHold]:
    """The active holds that cover a call (on it, its agent, or its customer); `active`: the
    active holds, when the caller has them already (a sweep over many calls)."""
    agent = session.get(Agent, call.agent_id)
    covers = [(HoldKind.call, str(call.id))]
    if agent is not None:
        covers.append((HoldKind.agent, agent.external_id))
    if call.customer_ref:
        covers.append((HoldKind.customer, call.customer_ref))
    if active is None:
        active = list_holds(session, active_only=True)
    return [h for h in active if (h.kind, h.value) in covers]


@dataclass
class Removal:
    """What went: rows per table, and the recordings deleted."""

    calls: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)  # covered by a legal hold: kept whole
    rows: Counter[str] = field(default_factory=Counter)
    recordings: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "calls": self.calls,
            "held": self.held,
            "rows": dict(sorted(self.rows.items())),
            "recordings": self.recordings,
        }


def purge_data(session: Session, call: Call, removal: Removal) -> None:
    """Every row that hangs off a call (not the call row, not its recording file)."""
    call_id = call.id
    transcripts = list(session.exec(select(Transcript.id).where(Transcript.call_id == call_id)))
    calibrations = list(session.exec(select(Calibration.id).where(Calibration.call_id == call_id)))
    steps = [
        (
            "calibration_reviewer",
            delete(CalibrationReviewer).where(
                col(CalibrationReviewer.calibration_id).in_(calibrations)
            ),
        ),
        ("dispute", delete(Dispute).where(col(Dispute.call_id) == call_id)),
        (
            "review_assignment",
            delete(ReviewAssignment).where(col(ReviewAssignment.call_id) == call_id),
        ),
        ("review", delete(Review).where(col(Review.call_id) == call_id)),
        ("calibration", delete(Calibration).where(col(Calibration.call_id) == call_id)),
        ("call_score", delete(CallScore).where(col(CallScore.call_id) == call_id)),
        (
            "transcript_embedding",
            delete(TranscriptEmbedding).where(
                col(TranscriptEmbedding.transcript_id).in_(transcripts)
            ),
        ),
        (
            "transcript_segment",
            delete(TranscriptSegment).where(col(TranscriptSegment.transcript_id).in_(transcripts)),
        ),
        ("transcript", delete(Transcript).where(col(Transcript.call_id) == call_id)),
        ("job", delete(Job).where(col(Job.call_id) == call_id)),
        ("alert", delete(Alert).where(col(Alert.call_id) == call_id)),
        # A topic tag says what was said ("cancellation"): it goes with the transcript.
        ("call_topic", delete(CallTopic).where(col(CallTopic.call_id) == call_id)),
        # The coaching session is about the agent and stays; its link to this call goes.
        ("coaching_call", delete(CoachingCall).where(col(CoachingCall.call_id) == call_id)),
    ]
    for table, statement in steps:
        removal.rows[table] += session.execute(statement).rowcount or 0  # type: ignore[attr-defined]
    unmatched = session.execute(
        update(ShopperSubmission)
        .where(col(ShopperSubmission.matched_call_id) == call_id)
        .values(matched_call_id=None)
    )
    removal.rows["shopper_submission (unmatched)"] += unmatched.rowcount or 0  # type: ignore[attr-defined]


def _purge(session: Session, settings: Settings, call: Call, removal: Removal) -> None:
    purge_data(session, call, removal)
    call_id = call.id
    recording = call.audio_path
    session.delete(call)
    session.flush()
    removal.rows["call"] += 1
    removal.calls.append(call_id or 0)
    if recording:
        removal.recordings += 1
        # The file goes once the rows are gone for good; a rolled-back deletion keeps both.
        after_commit(session, lambda: storage.audio_store(settings).delete(recording))


def delete_call(session: Session, settings: Settings, *, call: Call) -> Removal:
    held = holds_on(session, call)
    if held:
        reasons = "; ".join(f"hold {h.id} on {h.kind.value} {h.value}: {h.reason}" for h in held)
        raise Conflict(f"call {call.id} is under legal hold ({reasons})")
    removal = Removal()
    _purge(session, settings, call, removal)
    return removal


def erase_customer(
    session: Session, settings: Settings, *, customer_ref: str, dry_run: bool = False
) -> Removal:
    """Every call with this customer_ref, unless a legal hold covers it."""
    customer_ref = customer_ref.strip()
    if not customer_ref:
        raise BadRequest("name the customer to erase (customer_ref)")
    removal = Removal()
    calls = session.exec(
        select(Call).where(Call.customer_ref == customer_ref).order_by(col(Call.id))
    ).all()
    for call in calls:
        if holds_on(session, call):
            removal.held.append(call.id or 0)
        elif dry_run:
            removal.calls.append(call.id or 0)
            removal.recordings += bool(call.audio_path)
        else:
            _purge(session, settings, call, removal)
    return removal
