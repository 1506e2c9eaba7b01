from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.dbtypes import enum_type
from app.freetext import reasons, redact_on_write, text
from app.timeutil import utcnow


class ReviewKind(StrEnum):
    review = "review"  # a supervisor's review: from then on the agent's score
    dispute = "dispute"  # the correction made when a dispute was accepted: also the score
    calibration = "calibration"  # a blind score for calibration: never the agent's score


class Review(SQLModel, table=True):
    """A person's verdict on a machine score: overrides (before, after, reason) and the score
    that results. The latest review or dispute correction of a call is the agent's score."""

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="call.id", index=True)
    call_score_id: int = Field(foreign_key="call_score.id", index=True)
    reviewer_id: int = Field(foreign_key="user.id", index=True)
    kind: ReviewKind = Field(default=ReviewKind.review, sa_type=enum_type(ReviewKind), index=True)
    calibration_id: int | None = Field(default=None, foreign_key="calibration.id", index=True)
    # [{"target": "criterion"|"dimension", "key": id, "before": v, "after": v, "reason": str}]
    overrides: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    # For a calibration: every criterion's verdict {criterion id: passed}.
    verdicts: dict[str, bool] = Field(default_factory=dict, sa_column=Column(JSON))
    coaching_note: str | None = Field(default=None, sa_column=Column(Text))
    overall: float | None = None
    reliability: float | None = None
    responsiveness: float | None = None
    empathy: float | None = None
    competence: float | None = None
    personal_touch: float | None = None
    script_compliance: float | None = None
    auto_fail: bool = False
    acknowledged_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)


class DisputeStatus(StrEnum):
    open = "open"
    accepted = "accepted"
    rejected = "rejected"


class Dispute(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="call.id", index=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    raised_by: int = Field(foreign_key="user.id")
    reason: str = Field(sa_column=Column(Text, nullable=False))
    status: DisputeStatus = Field(
        default=DisputeStatus.open, sa_type=enum_type(DisputeStatus), index=True
    )
    created_at: datetime = Field(default_factory=utcnow)
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = None
    decision_reason: str | None = Field(default=None, sa_column=Column(Text))
    review_id: int | None = Field(default=None, foreign_key="review.id")


class Calibration(SQLModel, table=True):
    """Several reviewers score one call blind; then callqa shows where they differ."""

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="call.id", index=True)
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class CalibrationReviewer(SQLModel, table=True):
    __tablename__ = "calibration_reviewer"
    __table_args__ = (UniqueConstraint("calibration_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    calibration_id: int = Field(foreign_key="calibration.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    review_id: int | None = Field(default=None, foreign_key="review.id")


class AssignmentStatus(StrEnum):
    open = "open"  # waiting for the assignee's review
    done = "done"  # a review of the call was saved after it was assigned


class ReviewAssignment(SQLModel, table=True):
    """Who is to review a call, by when. One per call: assigning again hands it over. It is
    done when anyone saves a review of the call (the work is done whoever did it)."""

    __tablename__ = "review_assignment"

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="call.id", unique=True)
    assignee_id: int = Field(foreign_key="user.id", index=True)
    assigned_by: int | None = Field(default=None, foreign_key="user.id")  # None: an API key
    auto: bool = False  # spread by auto-assignment rather than picked by a person
    # Why the call wants a review, in words, as the queue said it when assigned.
    reason: str | None = Field(default=None, max_length=200)
    due_at: datetime = Field(index=True)
    status: AssignmentStatus = Field(
        default=AssignmentStatus.open, sa_type=enum_type(AssignmentStatus), index=True
    )
    review_id: int | None = Field(default=None, foreign_key="review.id")
    created_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None


# What reviewers and agents type is redacted for card data as it is written (app/freetext.py).
redact_on_write(Review, coaching_note=text, overrides=reasons)
redact_on_write(Dispute, reason=text, decision_reason=text)
