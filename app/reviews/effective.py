"""The score that counts for an agent: the latest review of a call if there is one, else the
latest machine score. Also the review queue, which is built on the same joins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.auth import Principal
from app.calls.models import Call, CallStatus
from app.reviews.models import Review, ReviewKind
from app.scope import agent_filter
from app.scorecards.models import CallScore
from app.timeutil import as_utc
from qa.types import DIMENSIONS

FIELDS = ("overall", *DIMENSIONS, "script_compliance")


def latest_scores() -> Any:
    return (
        select(CallScore.call_id, func.max(CallScore.id).label("score_id"))
        .group_by(col(CallScore.call_id))
        .subquery("latest_score")
    )


def latest_verdicts() -> Any:
    return (
        select(Review.call_id, func.max(Review.id).label("review_id"))
        .where(col(Review.kind).in_((ReviewKind.review, ReviewKind.dispute)))
        .group_by(col(Review.call_id))
        .subquery("latest_review")
    )


@dataclass(frozen=True)
class Scored:
    call: Call
    score: CallScore
    review: Review | None

    def value(self, field: str) -> float | None:
        source = self.review if self.review is not None else self.score
        v = getattr(source, field)
        return None if v is None else float(v)

    @property
    def auto_fail(self) -> bool:
        return (self.review or self.score).auto_fail

    @property
    def reviewed(self) -> bool:
        return self.review is not None


def scored_calls(
    session: Session,
    *,
    principal: Principal | None,
    agent_ids: list[int] | None = None,
    started_from: datetime | None = None,
    started_to: datetime | None = None,
    call_ids: list[int] | None = None,
) -> list[Scored]:
    """Every scored call in scope with its latest machine score and latest verdict."""
    ls, lv = latest_scores(), latest_verdicts()
    query = (
        select(Call, CallScore, Review)
        .join(ls, ls.c.call_id == Call.id)
        .join(CallScore, col(CallScore.id) == ls.c.score_id)
        .outerjoin(lv, lv.c.call_id == Call.id)
        .outerjoin(Review, col(Review.id) == lv.c.review_id)
    )
    if principal is not None and (clause := agent_filter(principal, Call.agent_id)) is not None:
        query = query.where(clause)
    if agent_ids is not None:
        query = query.where(col(Call.agent_id).in_(agent_ids))
    if call_ids is not None:
        query = query.where(col(Call.id).in_(call_ids))
    if started_from:
        query = query.where(Call.started_at >= as_utc(started_from))
    if started_to:
        query = query.where(Call.started_at < as_utc(started_to))
    rows = session.exec(query.order_by(col(Call.started_at), col(Call.id)))
    return [Scored(c, s, r) for c, s, r in rows]


def review_queue(
    session: Session,
    *,
    principal: Principal | None,
    share: float,
    below: float,
    limit: int | None = 200,
) -> list[tuple[Call, CallScore, str]]:
    """Scored calls that no one has reviewed yet and that the rules pick for review: every
    auto-fail, every call under `below`, and the random sample. Worst first."""
    ls, lv = latest_scores(), latest_verdicts()
    query = (
        select(Call, CallScore)
        .join(ls, ls.c.call_id == Call.id)
        .join(CallScore, col(CallScore.id) == ls.c.score_id)
        .outerjoin(lv, lv.c.call_id == Call.id)
        .where(lv.c.review_id.is_(None), Call.status == CallStatus.scored)
        .where(
            or_(
                col(CallScore.auto_fail),
                col(CallScore.overall) < below,
                col(Call.review_draw) < share,
            )
        )
    )
    if principal is not None and (clause := agent_filter(principal, Call.agent_id)) is not None:
        query = query.where(clause)
    rows = session.exec(
        query.order_by(col(CallScore.auto_fail).desc(), col(CallScore.overall), col(Call.id)).limit(
            limit
        )
    )
    out = []
    for call, score in rows:
        why = (
            "auto-fail"
            if score.auto_fail
            else f"score {score.overall:.0f} under {below:.0f}"
            if score.overall is not None and score.overall < below
            else "random sample"
        )
        out.append((call, score, why))
    return out
