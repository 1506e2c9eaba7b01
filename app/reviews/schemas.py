from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.reviews.models import DisputeStatus, ReviewKind


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str = Field(pattern="^(criterion|dimension)$")
    key: str = Field(min_length=1, max_length=100, description="criterion id or dimension")
    value: bool | float = Field(description="criterion: passed (true/false); dimension: 0-100")
    reason: str = Field(min_length=1, max_length=2000)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overrides: list[OverrideIn] = Field(default_factory=list)
    coaching_note: str | None = Field(default=None, max_length=5000)


class ReviewPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    call_id: int
    call_score_id: int
    kind: ReviewKind
    reviewer: str
    overrides: list[dict[str, Any]] = Field(description="{target, key, before, after, reason}")
    coaching_note: str | None
    overall: float | None
    dimensions: dict[str, float | None]
    script_compliance: float | None
    auto_fail: bool
    acknowledged_at: datetime | None
    created_at: datetime


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=5000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accept: bool
    reason: str = Field(min_length=3, max_length=5000)
    overrides: list[OverrideIn] = Field(
        default_factory=list, description="the corrected score; required when accepting"
    )


class DisputePublic(BaseModel):
    id: int
    call_id: int
    agent: str
    raised_by: str
    reason: str
    status: DisputeStatus
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    review_id: int | None


class CalibrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_id: int
    reviewers: list[str] = Field(min_length=2, description="reviewers' login names (emails)")


class VerdictsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdicts: dict[str, bool] = Field(description="every applicable criterion: passed?")


class CalibrationRow(BaseModel):
    criterion: str
    label: str
    machine: bool
    reviewers: dict[str, bool | None]
    reviewers_agree: bool
    machine_agrees: bool


class CalibrationPublic(BaseModel):
    id: int
    call_id: int
    created_by: str
    created_at: datetime
    reviewers: dict[str, bool] = Field(description="reviewer -> has submitted")
    results_visible: bool
    rows: list[CalibrationRow] = Field(default_factory=list)
    reviewer_agreement: float | None = Field(
        None, description="share of criteria on which every reviewer gave the same verdict"
    )
    machine_agreement: dict[str, float] = Field(
        default_factory=dict,
        description="per reviewer: share of criteria agreeing with the machine",
    )


class AgreementRow(BaseModel):
    criterion: str
    label: str
    calls: int = Field(description="reviewed calls to which the criterion applied")
    overridden: int
    share_overridden: float | None


class AgreementReport(BaseModel):
    reviewed_calls: int
    criteria_checked: int
    criteria_overridden: int
    share_overridden: float | None
    rows: list[AgreementRow]


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_id: int
    assignee: str = Field(min_length=1, max_length=320, description="a reviewer's login name")
    due_at: datetime | None = Field(
        default=None,
        description="when the review is due; without an offset: the organisation's time; "
        "omitted: CALLQA_REVIEW_DUE_HOURS from now",
    )


class AutoAssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team_id: int | None = Field(default=None, description="only this team's calls")
    due_at: datetime | None = None


class AutoAssigned(BaseModel):
    assigned: int
    per_reviewer: dict[str, int]
    no_reviewer: list[int] = Field(description="picked calls whose team has no supervisor")
