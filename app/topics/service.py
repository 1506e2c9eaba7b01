"""Topics: create, change, delete; tag one call (when it is scored) or every call (when a topic
is made or its words change: the backfill, one query over the search index); the calls of a
topic, and the share of calls per topic and week for the dashboard."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.auth import Principal
from app.calls import search
from app.calls.models import Call
from app.errors import BadRequest, Conflict, NotFound
from app.scope import visible_calls, visible_team
from app.timeutil import as_utc, utcnow
from app.topics.models import CallTopic, Topic
from app.users.models import Agent

SPEAKERS = ("agent", "customer", "unknown")


@dataclass(frozen=True)
class TopicSpec:
    name: str
    query: str
    speaker: str | None = None


def _checked(spec: TopicSpec) -> TopicSpec:
    name = spec.name.strip()
    if not name:
        raise BadRequest("`name`: give the topic a name")
    if spec.speaker is not None and spec.speaker not in SPEAKERS:
        raise BadRequest(f"`speaker`: one of {', '.join(SPEAKERS)}, or none for anyone")
    search.parse(spec.query)  # a query that cannot match anything is refused, saying why
    return TopicSpec(name=name, query=spec.query.strip(), speaker=spec.speaker or None)


def list_topics(session: Session) -> list[Topic]:
    return list(session.exec(select(Topic).order_by(col(Topic.name))))


def get_topic(session: Session, topic_id: int) -> Topic:
    topic = session.get(Topic, topic_id)
    if topic is None:
        raise NotFound(f"topic {topic_id} not found")
    return topic


def create_topic(session: Session, *, principal: Principal, spec: TopicSpec) -> tuple[Topic, int]:
    """The topic, and how many calls it tagged (old ones too: the backfill runs now)."""
    spec = _checked(spec)
    topic = Topic(name=spec.name, query=spec.query, speaker=spec.speaker, created_by=principal.name)
    session.add(topic)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"a topic named {spec.name!r} exists already") from None
    return topic, backfill(session, topic)


def update_topic(session: Session, *, topic: Topic, spec: TopicSpec) -> int:
    """New words or speaker: every call is tagged again; returns how many it tags now."""
    spec = _checked(spec)
    topic.name, topic.query, topic.speaker = spec.name, spec.query, spec.speaker
    topic.updated_at = utcnow()
    session.add(topic)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"a topic named {spec.name!r} exists already") from None
    session.execute(delete(CallTopic).where(col(CallTopic.topic_id) == topic.id))
    return backfill(session, topic)


def delete_topic(session: Session, *, topic: Topic) -> None:
    session.execute(delete(CallTopic).where(col(CallTopic.topic_id) == topic.id))
    session.delete(topic)
    session.flush()


def backfill(session: Session, topic: Topic, call_ids: list[int] | None = None) -> int:
    """Tag every matching call (or those named) with the topic; returns how many."""
    found = search.first_matches(
        session, search.parse(topic.query), speaker=topic.speaker, call_ids=call_ids
    )
    rows = [
        CallTopic(call_id=call_id, topic_id=topic.id or 0, segment=segment, start=start)
        for call_id, (segment, start) in found.items()
    ]
    session.add_all(rows)
    session.flush()
    return len(rows)


def tag_call(session: Session, *, call_id: int) -> list[str]:
    """Tag one call with every topic it matches now (its transcript is stored or it was just
    scored again); returns the topics' names."""
    session.execute(delete(CallTopic).where(col(CallTopic.call_id) == call_id))
    names = []
    for topic in list_topics(session):
        if backfill(session, topic, call_ids=[call_id]):
            names.append(topic.name)
    return names


@dataclass(frozen=True)
class TopicCount:
    topic: Topic
    calls: int  # the calls one may see that it tagged


def counts(session: Session, *, principal: Principal) -> list[TopicCount]:
    visible = visible_calls(principal).with_only_columns(col(Call.id)).order_by(None)
    per_topic = dict(
        session.exec(
            select(CallTopic.topic_id, func.count())
            .where(col(CallTopic.call_id).in_(visible))
            .group_by(col(CallTopic.topic_id))
        ).all()
    )
    return [TopicCount(t, int(per_topic.get(t.id or 0, 0))) for t in list_topics(session)]


@dataclass(frozen=True)
class Trend:
    weeks: list[date]  # each week's Monday, in the organisation's zone, oldest first
    calls: list[int]  # calls per week (the denominator)
    share: dict[str, list[float | None]]  # topic name -> share of that week's calls, 0..1


def trend(
    session: Session,
    *,
    principal: Principal,
    zone: tzinfo,
    weeks: int = 8,
    team_id: int | None = None,
    today: date | None = None,
) -> Trend:
    """The share of calls per topic in each of the last `weeks` weeks (calls started that week,
    those one may see, of one team if given); None for a week without calls."""
    if not 1 <= weeks <= 104:
        raise BadRequest("`weeks`: 1 to 104")
    today = today or datetime.now(zone).date()
    first = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=zone)
    query = visible_calls(principal).where(Call.started_at >= as_utc(start))
    if team_id is not None:
        visible_team(session, principal, team_id)
        query = query.where(
            col(Call.agent_id).in_(select(Agent.id).where(Agent.team_id == team_id))
        )
    calls = {c.id: c.started_at for c in session.exec(query)}
    week_of = {
        call_id: (as_utc(at).astimezone(zone).date() - first).days // 7
        for call_id, at in calls.items()
    }
    totals = [0] * weeks
    for index in week_of.values():
        if 0 <= index < weeks:
            totals[index] += 1
    tagged: dict[str, list[int]] = defaultdict(lambda: [0] * weeks)
    names = {t.id: t.name for t in list_topics(session)}
    if calls:
        for topic_id, call_id in session.exec(
            select(CallTopic.topic_id, CallTopic.call_id).where(
                # A subquery: a list would bind one parameter per call (PostgreSQL allows
                # 65 535 in one statement).
                col(CallTopic.call_id).in_(query.with_only_columns(col(Call.id)).order_by(None))
            )
        ):
            index = week_of[call_id]
            if 0 <= index < weeks:
                tagged[names[topic_id]][index] += 1
    share = {
        name: [tagged[name][i] / totals[i] if totals[i] else None for i in range(weeks)]
        for name in names.values()
    }
    return Trend(
        weeks=[first + timedelta(weeks=i) for i in range(weeks)], calls=totals, share=share
    )
