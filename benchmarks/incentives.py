"""Incentive period speed: 500 agents and 50 000 scored calls, on SQLite and on PostgreSQL.

    python benchmarks/incentives.py [--agents 500] [--calls 50000]

For each database: a fresh migrated database is filled in bulk (agents in teams, calls spread
over the month, a score per call, a review on 5 % of them, deals on a third of the sales
calls), then it times computing the month (`app.incentives.service.compute`: every agent's
figures and incentive line) and reading it back as payroll would, and counts the SQL
statements each issued. The baseline, timed in the same process, is one GROUP BY over the same
calls (the least any implementation must read); the ratio shows what the figures cost on top.
PostgreSQL is the one at 127.0.0.1:5432 (CALLQA_TEST_PG), as in the tests.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from sqlalchemy import event, func, insert, select, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from app import models  # noqa: E402,F401
from app.calls.models import Call  # noqa: E402
from app.db import make_engine  # noqa: E402
from app.incentives import service  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.reviews.models import Review  # noqa: E402
from app.scorecards.models import CallScore, ScorecardVersion  # noqa: E402
from app.teams.models import Team  # noqa: E402
from app.users.models import Agent, User  # noqa: E402
from tests.conftest import PG_DSN, _pg_url  # noqa: E402

PERIOD = "2026-11"
DIMS = (
    "reliability",
    "responsiveness",
    "empathy",
    "competence",
    "personal_touch",
    "script_compliance",
)


def fill(engine, agents: int, calls: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Team),
            [{"name": f"Team {t}", "created_at": now} for t in range(agents // 25 + 1)],
        )
        team_ids = [r[0] for r in conn.execute(select(Team.id))]
        conn.execute(
            insert(Agent),
            [
                {
                    "external_id": f"agent-{a:04d}",
                    "name": f"Agent {a}",
                    "team_id": team_ids[a // 25],
                    "created_at": now,
                }
                for a in range(agents)
            ],
        )
        agent_ids = [r[0] for r in conn.execute(select(Agent.id))]
        conn.execute(
            insert(User),
            [
                {
                    "email": "bench@x",
                    "password_hash": "x",
                    "role": "supervisor",
                    "is_active": True,
                    "created_at": now,
                }
            ],
        )
        reviewer = conn.execute(select(User.id)).scalar_one()
        conn.execute(
            insert(ScorecardVersion),
            [{"name": "default", "version": 1, "definition": "name: default", "created_at": now}],
        )
        version = conn.execute(select(ScorecardVersion.id)).scalar_one()
        start = datetime(2026, 11, 1, tzinfo=UTC)
        rows = []
        for i in range(calls):
            sales = rng.random() < 0.4
            rows.append(
                {
                    "external_id": f"c{i}",
                    "agent_id": agent_ids[i % agents],
                    "started_at": start + timedelta(seconds=rng.randrange(29 * 86400)),
                    "direction": "inbound" if rng.random() < 0.7 else "outbound",
                    "call_type": "sales" if sales else "service",
                    "layout": "stereo-agent-left",
                    "deal_closed": sales and rng.random() < 0.33,
                    "deal_value": Decimal(rng.randrange(50, 900)) if sales else None,
                    "status": "scored",
                    "duration_seconds": rng.uniform(15, 900),
                    "channels": 2,
                    "sample_rate": 8000,
                    "audio_format": "flac",
                    "audio_codec": "flac",
                    "audio_size": 1,
                    "audio_sha256": "0" * 64,
                    "audio_path": f"{i}.flac",
                    "review_draw": rng.random(),
                    "created_at": now,
                    "updated_at": now,
                }
            )
        for chunk in range(0, calls, 5000):
            conn.execute(insert(Call), rows[chunk : chunk + 5000])
        call_ids = [r[0] for r in conn.execute(select(Call.id).order_by(Call.id))]
        scores = []
        for cid in call_ids:
            overall = rng.uniform(30, 100)
            scores.append(
                {
                    "call_id": cid,
                    "scorecard_version_id": version,
                    "overall": overall,
                    "auto_fail": rng.random() < 0.01,
                    "agent_talk_share": rng.uniform(0.3, 0.7),
                    "hold_seconds": rng.choice([0.0, 0.0, 30.0]),
                    "transferred": rng.random() < 0.03,
                    "detail": {},
                    "created_at": now,
                    **{d: rng.uniform(20, 100) for d in DIMS},
                }
            )
        for chunk in range(0, len(scores), 5000):
            conn.execute(insert(CallScore), scores[chunk : chunk + 5000])
        score_of = dict(conn.execute(select(CallScore.call_id, CallScore.id)).all())
        reviewed = rng.sample(call_ids, len(call_ids) // 20)
        conn.execute(
            insert(Review),
            [
                {
                    "call_id": cid,
                    "call_score_id": score_of[cid],
                    "reviewer_id": reviewer,
                    "kind": "review",
                    "overrides": [],
                    "verdicts": {},
                    "auto_fail": False,
                    "overall": rng.uniform(40, 100),
                    "created_at": now,
                    **{d: rng.uniform(20, 100) for d in DIMS},
                }
                for cid in reviewed
            ],
        )


class Counter:
    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.n = 0
        event.listen(engine, "before_cursor_execute", self)

    def __call__(self, *args: object) -> None:
        self.n += 1


def measure(name: str, url: str, agents: int, calls: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    t0 = time.perf_counter()
    fill(engine, agents, calls)
    with engine.begin() as conn:
        # Fresh statistics, as autovacuum keeps them in a running database; without them
        # PostgreSQL plans the freshly bulk-loaded tables as if they were empty.
        conn.execute(text("ANALYZE"))
    fill_s = time.perf_counter() - t0
    counter = Counter(engine)
    start, end = service.bounds(PERIOD)

    def baseline() -> float:
        t = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(
                select(Call.agent_id, func.count(), func.sum(Call.duration_seconds))
                .where(Call.started_at >= start, Call.started_at < end)
                .group_by(Call.agent_id)
            ).all()
        return time.perf_counter() - t

    base = min(baseline() for _ in range(3))
    results = {}
    for label, action in (
        ("compute", lambda s: service.compute(s, PERIOD)),
        ("read (payroll)", lambda s: service.read_lines(s, PERIOD, principal=None)),
    ):
        counter.n = 0
        t = time.perf_counter()
        with Session(engine) as session:
            action(session)
            session.commit()
        results[label] = (time.perf_counter() - t, counter.n)
    with Session(engine) as session:
        lines = session.execute(text("SELECT count(*) FROM incentive_line")).scalar_one()
    print(f"{name:<11} {agents} agents, {calls} calls (filled in {fill_s:.1f} s), {lines} lines")
    print(f"  baseline GROUP BY over the month: {base * 1000:8.1f} ms")
    for label, (seconds, queries) in results.items():
        print(
            f"  {label:<16} {seconds * 1000:8.1f} ms  {queries:3d} SQL statements  "
            f"{seconds / base:6.1f}x baseline"
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--calls", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite", f"sqlite:///{tmp}/bench.db", args.agents, args.calls)
    name = f"callqa_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        measure("PostgreSQL", _pg_url(name), args.agents, args.calls)
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
