"""Topics through the API: saved searches that tag calls, and their weekly trend."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from app.auth import CallManager, CallReader, OrgZone
from app.db import SessionDep
from app.topics import service
from app.topics.models import Topic

router = APIRouter(prefix="/api/v1/topics", tags=["topics"])


class TopicIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    query: str = Field(
        min_length=1, max_length=500, description='search words: cancel*, "close my account"'
    )
    speaker: Literal["agent", "customer", "unknown"] | None = Field(
        None, description="only what this side said; none: anyone"
    )


class TopicPublic(BaseModel):
    id: int
    name: str
    query: str
    speaker: str | None
    calls: int | None = Field(None, description="calls it tagged that you may see")
    tagged: int | None = Field(None, description="calls it tagged now (after a change)")
    created_by: str
    created_at: datetime


class TrendPublic(BaseModel):
    weeks: list[date] = Field(description="each week's Monday in the organisation's zone")
    calls: list[int] = Field(description="calls started in each week")
    share: dict[str, list[float | None]] = Field(
        description="per topic, the share of each week's calls it tagged (null: no calls)"
    )


def _public(topic: Topic, *, calls: int | None = None, tagged: int | None = None) -> TopicPublic:
    return TopicPublic(
        id=topic.id or 0,
        name=topic.name,
        query=topic.query,
        speaker=topic.speaker,
        calls=calls,
        tagged=tagged,
        created_by=topic.created_by,
        created_at=topic.created_at,
    )


@router.get("", response_model=list[TopicPublic])
def list_topics(session: SessionDep, principal: CallReader) -> list[TopicPublic]:
    """Every topic, with how many of the calls you may see it tagged."""
    return [_public(c.topic, calls=c.calls) for c in service.counts(session, principal=principal)]


@router.post("", response_model=TopicPublic, status_code=201)
def create_topic(body: TopicIn, session: SessionDep, principal: CallManager) -> TopicPublic:
    """A new topic; every call stored so far is tagged now, new ones when they are scored."""
    topic, tagged = service.create_topic(
        session,
        principal=principal,
        spec=service.TopicSpec(name=body.name, query=body.query, speaker=body.speaker),
    )
    return _public(topic, tagged=tagged)


@router.get("/trend", response_model=TrendPublic)
def topic_trend(
    session: SessionDep,
    principal: CallReader,
    zone: OrgZone,
    weeks: Annotated[int, Query(ge=1, le=104)] = 8,
    team: int | None = None,
) -> TrendPublic:
    """The share of calls per topic and week (calls you may see; of one team if given)."""
    result = service.trend(session, principal=principal, zone=zone, weeks=weeks, team_id=team)
    return TrendPublic(weeks=result.weeks, calls=result.calls, share=result.share)


@router.patch("/{topic_id}", response_model=TopicPublic)
def update_topic(
    topic_id: int, body: TopicIn, session: SessionDep, principal: CallManager
) -> TopicPublic:
    """New name, words or speaker: every call is tagged again."""
    topic = service.get_topic(session, topic_id)
    tagged = service.update_topic(
        session,
        topic=topic,
        spec=service.TopicSpec(name=body.name, query=body.query, speaker=body.speaker),
    )
    return _public(topic, tagged=tagged)


@router.delete("/{topic_id}", status_code=204)
def delete_topic(topic_id: int, session: SessionDep, principal: CallManager) -> None:
    """The topic and its tags go; the calls stay as they are."""
    service.delete_topic(session, topic=service.get_topic(session, topic_id))
