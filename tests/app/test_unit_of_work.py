"""The unit of work, end to end with the real session dependency (no test overrides): a request
commits when its route returns and leaves nothing when it fails; GETs write nothing (audit rows
of audited reads aside); on SQLite only writers take the write lock."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import Request
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, event, text
from sqlmodel import select

from app.auth import create_token
from app.db import (
    ReadOnlyViolation,
    SessionDep,
    after_commit,
    engine_for,
    on_rollback,
    unit_of_work,
)
from app.errors import BadRequest
from app.main import create_app
from app.teams.models import Team
from app.teams.service import create_team
from app.users.models import Role
from app.users.service import create_user
from tests.conftest import BACKENDS, make_settings, new_database
from tests.routes import all_routes


@pytest.fixture(params=BACKENDS)
def real(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[TestClient, Engine, dict[str, str]]]:
    url, drop = new_database(request.param, tmp_path)
    settings = make_settings(tmp_path / "data", url)
    app = create_app(settings)
    engine = engine_for(url)
    with unit_of_work(engine) as session:
        admin = create_user(
            session,
            email="boss@example.com",
            password="secret-pass-1",
            role=Role.admin,
            agent_external_id=None,
        )
    headers = {"Authorization": f"Bearer {create_token(admin, settings)}"}
    events: list[str] = []

    @app.post("/api/v1/test/teams")
    def make_team(request: Request, session: SessionDep, fail: bool = False) -> dict[str, int]:
        team = create_team(session, name=request.query_params.get("name", "t"))
        on_rollback(session, lambda: events.append("rolled back"))
        after_commit(session, lambda: events.append(_visible(engine, team.name)))
        if fail:
            raise BadRequest("failed after writing")
        return {"id": team.id or 0}

    @app.get("/api/v1/test/sneaky")
    def sneaky(session: SessionDep) -> dict[str, int]:
        create_team(session, name="written by a GET")
        return {}

    @app.get("/api/v1/test/sneaky-statement")
    def sneaky_statement(session: SessionDep) -> dict[str, int]:
        session.exec(delete(Team))  # type: ignore[call-overload]
        return {}

    @app.post("/api/v1/test/queue-down")
    def queue_down(session: SessionDep) -> dict[str, int]:
        team = create_team(session, name="kept")

        def send() -> None:
            raise ConnectionError("the queue is down")

        after_commit(session, send)
        after_commit(session, lambda: events.append("second action ran"))
        return {"id": team.id or 0}

    app.state.test_events = events
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, engine, headers
    drop()  # type: ignore[operator]


def _visible(engine: Engine, name: str) -> str:
    """Seen from another connection: what the commit made durable."""
    with unit_of_work(engine, writes=False) as other:
        found = other.exec(select(Team).where(Team.name == name)).first()
    return "committed and visible" if found else "not visible"


def _teams(engine: Engine) -> list[str]:
    with unit_of_work(engine, writes=False) as session:
        return [t.name for t in session.exec(select(Team))]


def test_a_route_commits_on_return_and_then_runs_its_after_commit_actions(real) -> None:
    client, engine, headers = real
    response = client.post("/api/v1/test/teams?name=north", headers=headers)
    assert response.status_code == 200
    assert _teams(engine) == ["north"]
    assert client.app.state.test_events == ["committed and visible"]


def test_an_error_mid_request_leaves_nothing_written(real) -> None:
    client, engine, headers = real
    response = client.post("/api/v1/test/teams?name=south&fail=true", headers=headers)
    assert response.status_code == 400
    assert response.json()["detail"] == "failed after writing"
    assert _teams(engine) == []
    assert client.app.state.test_events == ["rolled back"]  # no after-commit action ran


def test_a_get_that_tries_to_write_is_refused_and_writes_nothing(real) -> None:
    client, engine, headers = real
    response = client.get("/api/v1/test/sneaky", headers=headers)
    assert response.status_code == 500
    assert _teams(engine) == []
    with pytest.raises(ReadOnlyViolation, match="Team"), unit_of_work(engine, writes=False) as s:
        create_team(s, name="x")


def test_a_get_that_runs_a_write_statement_is_refused(real) -> None:
    client, engine, headers = real
    client.post("/api/v1/test/teams?name=west", headers=headers)
    assert client.get("/api/v1/test/sneaky-statement", headers=headers).status_code == 500
    assert _teams(engine) == ["west"]


def test_a_failing_after_commit_action_does_not_fail_the_committed_request(real) -> None:
    client, engine, headers = real
    response = client.post("/api/v1/test/queue-down", headers=headers)
    assert response.status_code == 200
    assert _teams(engine) == ["kept"]
    assert client.app.state.test_events == ["second action ran"]


def test_a_request_holds_one_connection_at_a_time(real) -> None:
    """Who is asking is looked up in a short read of its own, given back before the route
    takes its connection: a burst of requests cannot drain the pool with half-served ones."""
    client, engine, headers = real
    out, most = 0, 0

    def checkout(*_: object) -> None:
        nonlocal out, most
        out += 1
        most = max(most, out)

    def checkin(*_: object) -> None:
        nonlocal out
        out -= 1

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        assert client.get("/api/v1/scorecards", headers=headers).status_code == 200
        assert client.post("/api/v1/test/teams?name=one", headers=headers).status_code == 200
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)
    assert most == 1


def _get_paths(client: TestClient) -> list[str]:
    paths = []
    for route in all_routes(client.app):
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        if "{" in route.path or route.path.startswith(("/api/v1/test/", "/docs", "/redoc")):
            continue
        paths.append(route.path)
    return sorted(paths)


def test_get_routes_write_nothing_but_the_audit_rows_of_audited_reads(real) -> None:
    client, engine, headers = real
    writes: list[str] = []

    def watch(conn, cursor, statement: str, *args: object) -> None:  # type: ignore[no-untyped-def]
        if re.match(r"\s*(INSERT|UPDATE|DELETE)", statement, re.I):
            writes.append(statement.split("(")[0][:60])

    event.listen(engine, "before_cursor_execute", watch)
    try:
        paths = _get_paths(client)
        assert "/api/v1/scorecards" in paths and "/api/v1/incentives/rules" in paths
        for path in paths:
            query = "?period=2026-11" if "incentives" in path else ""
            response = client.get(path + query, headers=headers)
            assert response.status_code < 500, (path, response.text[:300])
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert [w for w in writes if "audit_event" not in w] == []


# SQLite only: BEGIN IMMEDIATE is SQLite's; PostgreSQL has no database-wide write lock.
@pytest.mark.parametrize("real", ["sqlite"], indirect=True)
def test_on_sqlite_reads_begin_deferred_and_writes_take_the_lock_up_front(real) -> None:
    client, engine, headers = real
    begins: list[str] = []

    def watch(conn, cursor, statement: str, *args: object) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("BEGIN"):
            begins.append(statement)

    event.listen(engine, "before_cursor_execute", watch)
    try:
        assert client.get("/api/v1/scorecards", headers=headers).status_code == 200
        # A list whose CSV export is audited: its JSON page reads, its CSV writes the audit row.
        assert client.get("/api/v1/calls", headers=headers).status_code == 200
        read = list(begins)
        begins.clear()
        assert client.get("/api/v1/calls?format=csv", headers=headers).status_code == 200
        export = list(begins)
        begins.clear()
        assert client.post("/api/v1/test/teams?name=east", headers=headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert read and set(read) == {"BEGIN"}
    assert "BEGIN IMMEDIATE" in export
    assert "BEGIN IMMEDIATE" in begins  # the route's own unit of work
    with unit_of_work(engine, writes=False) as s:
        assert s.exec(text("SELECT 1")).one() == (1,)  # type: ignore[call-overload]
