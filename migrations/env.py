from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from app import models  # noqa: F401  (registers every table)
from app.db import make_engine

target_metadata = SQLModel.metadata
# Full-text search lives outside the models (app/calls/search.py): SQLite's FTS5 table and its
# shadow tables, PostgreSQL's expression index. Autogenerate must not see them as strays.
SEARCH_OBJECTS = ("segment_fts", "ix_transcript_segment_fts")


def _ours(name, type_, parent_names) -> bool:  # type: ignore[no-untyped-def]
    return not (name or "").startswith(SEARCH_OBJECTS)


def run_migrations() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    connection = context.config.attributes.get("connection")
    if connection is None:
        engine = make_engine(url)
        with engine.connect() as conn:
            _run(conn)
        engine.dispose()
    else:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_ours,
    )
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()


run_migrations()
