"""Database engine, the unit of work, and the request's session dependency.

One unit of work per request or job: the request's session commits when the route returns and
rolls back when it raises; a worker or CLI command opens `unit_of_work()`. Everything below
(services, the audit helper) only adds and flushes. Only the job ledger commits on its own,
because a claim must be visible to other workers before the work starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import lru_cache
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Engine, event
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session, create_engine

from app.errors import Unprocessable

log = logging.getLogger(__name__)

# Execution option that marks a connection whose transactions will write (see _sqlite_begin).
_WRITES = "callqa_writes"
_AFTER_COMMIT = "callqa_after_commit"
_ON_ROLLBACK = "callqa_on_rollback"
_KEEP_ON_ERROR = "callqa_keep_on_error"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ReadOnlyViolation(RuntimeError):
    """A read-only unit of work (a GET) tried to write."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINTs; SQLAlchemy emits
    # BEGIN itself instead (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the API read while the worker writes; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # A transaction that will write takes the write lock up front (IMMEDIATE): one that read
    # first and wrote later would fail with SQLITE_BUSY instead of waiting (busy_timeout) when
    # a worker wrote in between. Reads begin DEFERRED and, in WAL, never wait for a writer.
    immediate = conn.get_execution_options().get(_WRITES, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _refuse_nul(
    _conn: object, _cursor: object, _statement: str, parameters: Any, *_: object
) -> None:
    # PostgreSQL cannot store a NUL character in text (psycopg refuses it) and SQLite would
    # keep it and cut it short in C string APIs: refused the same on both, before any SQL.
    rows = parameters if isinstance(parameters, list | tuple) else [parameters]
    for row in rows:
        values = (
            row.values()
            if isinstance(row, dict)
            else row
            if isinstance(row, list | tuple)
            else [row]
        )
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise Unprocessable("text in the request contains a NUL character (\\0)")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, "before_cursor_execute", _refuse_nul)
    return engine


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def _refuse_statements(state: ORMExecuteState) -> None:
    # session.exec(update(...)) / delete(...) / insert(...) never pass through a flush.
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlyViolation(f"a read-only request tried to run {state.statement}")


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        changed = sorted(
            {type(o).__name__ for o in (*session.new, *session.dirty, *session.deleted)}
        )
        raise ReadOnlyViolation(f"a read-only request tried to write {', '.join(changed)}")


def open_session(engine: Engine, *, writes: bool) -> Session:
    """A session whose transactions write (SQLite: BEGIN IMMEDIATE) or only read."""
    # expire_on_commit=False: what a route or job returns stays readable after the commit.
    return Session(engine.execution_options(**{_WRITES: writes}), expire_on_commit=False)


@contextmanager
def read_only(session: Session) -> Iterator[Session]:
    """Refuse, at flush, any change made through `session` meanwhile."""
    event.listen(session, "before_flush", _refuse_writes)
    event.listen(session, "do_orm_execute", _refuse_statements)
    try:
        yield session
    finally:
        event.remove(session, "before_flush", _refuse_writes)
        event.remove(session, "do_orm_execute", _refuse_statements)


def after_commit(session: Session, action: Callable[[], object]) -> None:
    """Run `action` once the unit of work has committed (enqueue a job for a row it created);
    dropped if it rolls back."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


def on_rollback(session: Session, action: Callable[[], object]) -> None:
    """Run `action` if the unit of work ends without committing (remove a file placed for a row
    that was never stored)."""
    session.info.setdefault(_ON_ROLLBACK, []).append(action)


def keep_on_error(session: Session) -> None:
    """Commit what is pending even though the request fails: the audit row of a refusal, written
    after the rollback of everything else."""
    session.info[_KEEP_ON_ERROR] = True


def rollback_work(session: Session) -> None:
    """Undo a failed step that a page answers itself (with the form and the error) rather than
    raising; a refusal's audit row, already written after its own rollback, stays."""
    if not session.info.get(_KEEP_ON_ERROR, False):
        rollback(session)


def rollback(session: Session) -> None:
    """Undo what the unit of work did so far (its on-rollback actions run, its after-commit ones
    are dropped) and go on in a fresh transaction."""
    session.rollback()
    _run(session, _ON_ROLLBACK)


def finish(session: Session, error: BaseException | None) -> None:
    """End a unit of work: commit (read-only: just end it) and run the after-commit actions;
    on `error`, roll back instead, unless `keep_on_error` asked to keep what is pending."""
    keep = session.info.pop(_KEEP_ON_ERROR, False)
    if error is not None and not keep:
        rollback(session)
        return
    try:
        # A read-only unit commits too: nothing is written, and unlike a rollback a commit
        # leaves what was read loaded (expire_on_commit=False) for the caller.
        session.commit()
    except BaseException:
        rollback(session)
        raise
    _run(session, _AFTER_COMMIT)


def _run(session: Session, key: str) -> None:
    actions = session.info.pop(key, [])
    session.info.pop(_AFTER_COMMIT, None)
    session.info.pop(_ON_ROLLBACK, None)
    for action in actions:
        try:
            action()
        except Exception:
            # What is committed stays committed; a job that could not be sent is sent later by
            # the reconciler (its ledger row is queued), so the request still succeeded.
            log.exception("%s action failed", key.removeprefix("callqa_").replace("_", "-"))


@contextmanager
def unit_of_work(engine: Engine, *, writes: bool = True) -> Iterator[Session]:
    """One transaction for a request, a job step or a CLI command: committed on success,
    rolled back on error, then the after-commit (or on-rollback) actions run."""
    with (
        open_session(engine, writes=writes) as session,
        nullcontext() if writes else read_only(session),
    ):
        try:
            yield session
        except BaseException as exc:
            finish(session, exc)
            raise
        finish(session, None)


F = TypeVar("F", bound=Callable[..., Any])


def writes_audit(
    endpoint: F | None = None, *, when: Callable[[Request], bool] | None = None
) -> Any:
    """Mark a GET route that records an audit row (a play, an export, a transcript view), so its
    unit of work opens as a write; every other GET is read-only. `when`: only the requests it
    accepts write (a list that audits its CSV export, not its JSON pages)."""

    def mark(fn: F) -> F:
        fn.__dict__[_WRITES] = when or True
        return fn

    return mark(endpoint) if endpoint is not None else mark


def request_writes(request: Request) -> bool:
    """Whether the request's unit of work writes: any method but GET/HEAD/OPTIONS, and the GET
    routes marked with `writes_audit` (for the requests its `when` accepts)."""
    if request.method not in _SAFE_METHODS:
        return True
    mark = getattr(request.scope.get("endpoint"), _WRITES, False)
    return bool(mark(request)) if callable(mark) else bool(mark)


def get_session(request: Request) -> Iterator[Session]:
    with unit_of_work(request.app.state.engine, writes=request_writes(request)) as session:
        yield session


Reader = Callable[[], AbstractContextManager[Session]]


def get_reader(request: Request) -> Reader:
    """Short read-only units of work beside the request's own: each takes a connection only
    for its `with` block, so a request never holds two connections at once."""
    engine = request.app.state.engine
    return lambda: unit_of_work(engine, writes=False)


# scope="function": the unit of work ends when the route returns (after the response is
# rendered, before it is sent), so a streamed recording never holds a transaction open.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
# Reads that must not hold the request's write transaction: who is asking (resolved before the
# route runs) and a look-up made before slow work such as decoding an upload.
ReaderDep = Annotated[Reader, Depends(get_reader)]
