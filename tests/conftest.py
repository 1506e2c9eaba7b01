"""Shared fixtures: real databases (SQLite and PostgreSQL) migrated with Alembic."""

from __future__ import annotations

import functools
import importlib.util
import inspect
import os
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import psycopg
import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.auth import create_token
from app.config import Settings
from app.db import engine_for, finish, get_reader, get_session, read_only, request_writes
from app.main import create_app
from app.migrate import upgrade
from app.users.models import Role, User
from app.users.service import create_user

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SHARED_AUDIO = ROOT.parent / "shared" / "audio"
MODEL_CACHE = ROOT / ".cache" / "models"
PG_DSN = os.environ.get("CALLQA_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=test")
REDIS_URL = os.environ.get("CALLQA_TEST_REDIS", "redis://127.0.0.1:6379/0")
BACKENDS = ["sqlite", "postgresql"]
# With CI=true nothing may be skipped: what is missing fails the tests that need it. Elsewhere
# (a fresh clone on a laptop) those tests skip, and the run's last lines say what and why.
CI = bool(os.environ.get("CI"))

# The openai-whisper engine's tests need the `openai` extra (`make install-openai`, which CI
# runs); with CI=true a missing extra fails them instead of skipping.
OPENAI_WHISPER = pytest.mark.skipif(
    not (importlib.util.find_spec("whisper") and importlib.util.find_spec("torch")) and not CI,
    reason="openai-whisper engine: make install-openai",
)


def need(missing: str | None) -> None:
    """Skip the test for what is missing, or under CI=true fail it."""
    if missing is None:
        return
    if CI:
        pytest.fail(f"{missing} (CI=true: nothing may be skipped)", pytrace=False)
    pytest.skip(missing)


@functools.cache
def postgresql_missing() -> str | None:
    try:
        psycopg.connect(PG_DSN, connect_timeout=3).close()
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"PostgreSQL is not reachable ({PG_DSN}; CALLQA_TEST_PG): {first}"
    return None


@functools.cache
def redis_missing() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable ({REDIS_URL}; CALLQA_TEST_REDIS): {exc}"
    return None


def shared_audio_missing() -> str | None:
    if SHARED_AUDIO.is_dir():
        return None
    return f"the real recordings are not next to this clone ({SHARED_AUDIO})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that open ../shared/audio say so in their code: mark them, so that without it
    they skip (or, under CI, fail) instead of erroring on a missing file."""
    for item in items:
        function = getattr(item, "function", None)
        try:
            uses = function is not None and "SHARED" in inspect.getsource(function)
        except (OSError, TypeError):
            uses = False
        if uses:
            item.add_marker(pytest.mark.shared_audio)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("shared_audio"):
        need(shared_audio_missing())


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    """The last lines: how many tests skipped for each missing part, and how to have it."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons: dict[str, int] = {}
    for report in skipped:
        reason = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    terminalreporter.section("skipped, and why (with CI=true these fail instead)")
    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        terminalreporter.line(f"{count:5d}  {reason}")


def _pg_url(dbname: str) -> str:
    params = dict(p.split("=", 1) for p in PG_DSN.split())
    return (
        f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host')}:"
        f"{params.get('port', '5432')}/{dbname}"
    )


def new_database(backend: str, tmp_dir: Path) -> tuple[str, object]:
    """A fresh, migrated database; returns its URL and a dropper."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir / 'callqa.db'}"
        upgrade(url)
        return url, lambda: None
    name = f"callqa_test_{uuid.uuid4().hex[:12]}"
    # PostgreSQL down: its tests skip, or under CI fail; the SQLite ones still run.
    need(postgresql_missing())
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    upgrade(url)

    def drop() -> None:
        engine_for.cache_clear()
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    url, drop = new_database(request.param, tmp_path_factory.mktemp("db"))
    yield url
    drop()  # type: ignore[operator]


def make_settings(data_dir: Path, db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        environment="test",
        data_dir=data_dir,
        database_url=db_url,
        secret_key="t" * 48,
        model_dir=MODEL_CACHE,
        whisper_model="tiny.en",
        whisper_threads=2,
        queue_name=f"callqa-test-{uuid.uuid4().hex[:8]}",
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(tmp_path / "data", db_url)


@pytest.fixture
def db_engine(db_url: str) -> Engine:
    return engine_for(db_url)


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = db_engine.connect()
    outer = connection.begin()
    with Session(bind=connection, join_transaction_mode="create_savepoint") as s:
        yield s
    outer.rollback()
    connection.close()


def request_unit_of_work(session: Session):  # type: ignore[no-untyped-def]
    """The request's unit of work on the test's session: what `get_session` does (commit on
    success, roll back on error, GETs refused any write), with the test's outer transaction
    rolled back at the end instead of a commit that lasts."""

    def dependency(request: Request) -> Iterator[Session]:
        # What the test set up before the request is committed (inside the outer transaction),
        # as it would be in a real deployment; a request that fails rolls back only its own.
        session.commit()
        if not request_writes(request):
            try:
                with read_only(session):
                    yield session
                    session.flush()  # a GET's stray add() is refused here, as at its commit
            except BaseException:
                # A failed read ends its unit of work, as unit_of_work does (on PostgreSQL the
                # transaction is aborted until then); the test's own work stays.
                session.rollback()
                raise
            return
        try:
            yield session
        except BaseException as exc:
            finish(session, exc)
            raise
        finish(session, None)

    return dependency


@pytest.fixture
def app(settings: Settings, session: Session):  # type: ignore[no-untyped-def]
    application = create_app(settings)
    application.dependency_overrides[get_session] = request_unit_of_work(session)
    application.dependency_overrides[get_reader] = lambda: lambda: nullcontext(session)
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


class Users:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session, self.settings = session, settings

    def make(self, role: Role, agent: str | None = None) -> tuple[User, dict[str, str]]:
        user = create_user(
            self.session,
            email=f"{uuid.uuid4().hex[:8]}@example.com",
            password="secret-pass-1",
            role=role,
            agent_external_id=agent,
        )
        return user, {"Authorization": f"Bearer {create_token(user, self.settings)}"}


@pytest.fixture
def users(session: Session, settings: Settings) -> Users:
    return Users(session, settings)


pytest_plugins = ["tests.audio_fixtures"]
