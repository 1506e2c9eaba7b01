from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.dbtypes import enum_type
from app.freetext import redact_on_write, text
from app.timeutil import utcnow


class HoldKind(StrEnum):
    call = "call"  # one call, by id
    agent = "agent"  # every call of an agent, by the agent's external id
    customer = "customer"  # every call with this customer_ref


class LegalHold(SQLModel, table=True):
    """While a hold is not released, nothing it covers may be deleted or erased."""

    __tablename__ = "legal_hold"

    id: int | None = Field(default=None, primary_key=True)
    kind: HoldKind = Field(sa_type=enum_type(HoldKind))
    value: str = Field(max_length=200, index=True)
    reason: str = Field(max_length=500)
    set_by: str = Field(max_length=320)
    set_at: datetime = Field(default_factory=utcnow)
    released_by: str | None = Field(default=None, max_length=320)
    released_at: datetime | None = None


class RetentionPolicy(SQLModel, table=True):
    """How long calls are kept, for a team, a call type, both, or everyone (both empty). The
    most specific policy that matches a call decides. Days count from the call's start; no
    value keeps forever, 0 removes at the next sweep."""

    __tablename__ = "retention_policy"

    id: int | None = Field(default=None, primary_key=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    call_type: str | None = Field(default=None, max_length=20)
    audio_days: int | None = None  # the recording file
    data_days: int | None = None  # transcript, words, scores, reviews, customer fields
    created_by: str = Field(max_length=320)
    created_at: datetime = Field(default_factory=utcnow)


redact_on_write(
    LegalHold, reason=text
)  # free text: card data redacted as written (app/freetext.py)
