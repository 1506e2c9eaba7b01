from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.coaching.models import CoachingStatus

MAX_FOCUS = 20
MAX_CALLS = 50


class CoachingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: int = Field(description="the agent coached (callqa's agent id)")
    note: str | None = Field(None, max_length=5000, description="what was agreed")
    focus: list[str] = Field(
        default_factory=list,
        max_length=MAX_FOCUS,
        description="criterion ids of the agent's scorecards to work on",
    )
    calls: list[int] = Field(
        default_factory=list, max_length=MAX_CALLS, description="the agent's calls it was about"
    )
    follow_up: date | None = Field(None, description="the day to look again")


class CoachingUpdate(BaseModel):
    """Only the fields sent change; `follow_up: null` clears the date."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=5000)
    focus: list[str] | None = Field(None, max_length=MAX_FOCUS)
    calls: list[int] | None = Field(None, max_length=MAX_CALLS)
    follow_up: date | None = None
    done: bool | None = Field(None, description="true: mark done; false: open it again")


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(None, max_length=2000, description="the agent's own words")


class FocusCriterion(BaseModel):
    id: str
    label: str


class LinkedCall(BaseModel):
    id: int
    started_at: datetime
    link: str = Field(description="the call's page")


class CoachingPublic(BaseModel):
    id: int
    agent_id: int
    agent: str = Field(description="the agent's external id")
    agent_name: str | None
    coach: str
    note: str | None
    focus: list[FocusCriterion]
    calls: list[LinkedCall]
    follow_up: date | None
    status: CoachingStatus
    overdue: bool = Field(description="the follow-up day has passed and it is not done")
    acknowledged_at: datetime | None
    agent_comment: str | None
    done_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PassRate(BaseModel):
    judged: int = Field(description="scored calls on which the criterion applied")
    passed: int
    rate: float | None = Field(description="passed / judged; null without a judged call")


class FocusProgress(BaseModel):
    criterion: str
    label: str
    before: PassRate = Field(description="the agent's calls started before the session")
    after: PassRate = Field(description="the agent's calls started since the session")


class CoachingDetail(CoachingPublic):
    progress: list[FocusProgress] = Field(
        description="per focus criterion: pass rate before and since (reviewed verdicts count)"
    )
