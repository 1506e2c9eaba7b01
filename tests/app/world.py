"""A small contact center for the tests: two teams, their supervisors and agents, and calls
whose transcripts are the spoken words of the synthetic recordings (tests/data/*.json), scored
by the real scorer and stored by the real services, their sentence vectors with them (as the
worker stores them). Whisper is left out here only to keep these tests fast;
tests/app/test_jobs.py covers the whole pipeline."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

import qa
from app.alerts import service as alerts
from app.auth import Principal, create_token
from app.calls.meaning import app_embedder
from app.calls.models import Call, CallStatus, CallType, Direction, Transcript, TranscriptSegment
from app.calls.service import CallMeta, ingest_call
from app.calls.tasks import score_row, store_vectors
from app.config import Settings
from app.scorecards import service as scorecards
from app.teams import service as teams
from app.users.models import Role, User
from app.users.service import create_user
from qa.score import vectors_for
from qa.turns import texts_to_embed
from transcription.types import Layout

# Who changes definitions in tests that call the services directly: everyone's reach, like the
# command line.
ADMIN = Principal(kind="cli", id=0, name="test", role=None, agent_id=None, scopes=frozenset())

DATA = Path(__file__).resolve().parent.parent / "data"
PASSWORD = "secret-pass-1"


def add_scored_call(
    session: Session,
    settings: Settings,
    *,
    agent: str,
    started_at: datetime,
    name: str = "pair_good",
    call_type: CallType = CallType.service,
    direction: Direction = Direction.inbound,
    customer_ref: str | None = None,
    deal_closed: bool | None = None,
) -> Call:
    with (DATA / f"{name}.flac").open("rb") as audio:
        call = ingest_call(
            session,
            settings=settings,
            audio=audio,
            meta=CallMeta(
                agent=agent,
                started_at=started_at,
                direction=direction,
                call_type=call_type,
                layout=Layout.auto,
                customer_ref=customer_ref,
                deal_closed=deal_closed,
            ),
        )
    turns = json.loads((DATA / f"{name}.json").read_text())["turns"]
    transcript = Transcript(
        call_id=call.id or 0,
        engine="reference",
        model="espeak script",
        language="en",
        layout=call.layout,
        speakers_labelled=True,
    )
    session.add(transcript)
    session.flush()
    for i, t in enumerate(turns):
        session.add(
            TranscriptSegment(
                transcript_id=transcript.id or 0,
                position=i,
                speaker=t["speaker"],
                start=t["start"],
                end=t["end"],
                text=t["text"],
                confidence=1.0,
                words=[],
            )
        )
    version = scorecards.current_version(session)
    utterances = [
        qa.Utterance(i, t["speaker"], t["start"], t["end"], t["text"]) for i, t in enumerate(turns)
    ]
    embedder = app_embedder(settings)
    texts = texts_to_embed(utterances)
    vectors = vectors_for(texts, embedder=embedder)
    result = qa.score(
        utterances,
        qa.CallFacts(
            call_type=call.call_type.value,
            direction=call.direction.value,
            duration=call.duration_seconds,
        ),
        scorecards.to_scorecard(version),
        vectors=vectors,
        embedder=embedder,
    )
    store_vectors(
        session, transcript_id=transcript.id or 0, embedder=embedder, texts=texts, vectors=vectors
    )
    row = score_row(call_id=call.id or 0, version_id=version.id or 0, result=result)
    session.add(row)
    call.status = CallStatus.scored
    session.add(call)
    session.flush()
    alerts.check_call(session, call=call, score=row)
    return call


@dataclass
class Person:
    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def email(self) -> str:
        return self.user.email


@dataclass
class World:
    admin: Person
    sup_a: Person
    sup_b: Person
    a1: Person  # agent in team A
    a2: Person  # agent in team A
    b1: Person  # agent in team B
    calls: dict[str, Call] = field(default_factory=dict)


def build(session: Session, settings: Settings, *, prefix: str = "") -> World:
    def person(email: str, role: Role, agent: str | None = None) -> Person:
        user = create_user(
            session, email=f"{prefix}{email}", password=PASSWORD, role=role, agent_external_id=agent
        )
        return Person(user, create_token(user, settings))

    team_a = teams.create_team(session, name=f"{prefix}Team A")
    team_b = teams.create_team(session, name=f"{prefix}Team B")
    w = World(
        admin=person("admin@cc.test", Role.admin),
        sup_a=person("sup.a@cc.test", Role.supervisor),
        sup_b=person("sup.b@cc.test", Role.supervisor),
        a1=person("a1@cc.test", Role.agent, f"{prefix}A1"),
        a2=person("a2@cc.test", Role.agent, f"{prefix}A2"),
        b1=person("b1@cc.test", Role.agent, f"{prefix}B1"),
    )
    teams.add_lead(session, team=team_a, email=w.sup_a.email)
    teams.add_lead(session, team=team_b, email=w.sup_b.email)
    teams.set_agent_team(session, agent_external_id=f"{prefix}A1", team=team_a, name="Ann One")
    teams.set_agent_team(session, agent_external_id=f"{prefix}A2", team=team_a, name="Al Two")
    teams.set_agent_team(session, agent_external_id=f"{prefix}B1", team=team_b, name="Bea One")
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    w.calls["a1_good"] = add_scored_call(
        session, settings, agent=f"{prefix}A1", started_at=start, customer_ref="C-1"
    )
    w.calls["a1_promise"] = add_scored_call(
        session,
        settings,
        agent=f"{prefix}A1",
        started_at=start + timedelta(days=1),
        name="pair_promise",
        customer_ref="C-1",
    )
    w.calls["a2_cold"] = add_scored_call(
        session,
        settings,
        agent=f"{prefix}A2",
        started_at=start + timedelta(hours=3),
        name="pair_cold",
    )
    w.calls["b1_good"] = add_scored_call(
        session, settings, agent=f"{prefix}B1", started_at=start + timedelta(hours=5)
    )
    return w
