"""transcript search: SQLite FTS5 over the segments' text, kept by triggers; PostgreSQL a GIN
index on the same text's tsvector in the callqa_search configuration (app/calls/search.py
queries both)

Revision ID: 7c1e5a9f3b20
Revises: 5d3fd33c309e
Create Date: 2026-12-04 01:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c1e5a9f3b20"
down_revision: str | None = "5d3fd33c309e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# unicode61 folds case and, with remove_diacritics 2, accents; it splits Hebrew and Persian
# words on spaces and punctuation like Latin ones (no stemming in any language).
SQLITE = [
    """CREATE VIRTUAL TABLE segment_fts USING fts5(
        text, content='transcript_segment', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER segment_fts_insert AFTER INSERT ON transcript_segment BEGIN
        INSERT INTO segment_fts(rowid, text) VALUES (new.id, new.text);
    END""",
    """CREATE TRIGGER segment_fts_delete AFTER DELETE ON transcript_segment BEGIN
        INSERT INTO segment_fts(segment_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END""",
    """CREATE TRIGGER segment_fts_update AFTER UPDATE OF text ON transcript_segment BEGIN
        INSERT INTO segment_fts(segment_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO segment_fts(rowid, text) VALUES (new.id, new.text);
    END""",
    # Text stored before this change is indexed as it is.
    "INSERT INTO segment_fts(segment_fts) VALUES ('rebuild')",
]
# PostgreSQL: the configuration `callqa_search` is 'simple' (lower-cased words, no stemming,
# the same for every language a center speaks) with accents removed by the unaccent extension
# where the database lets us create it (a trusted extension since PostgreSQL 13); without it,
# words are matched with their accents.
CONFIG = "callqa_search"


def _postgresql() -> None:
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
        unaccent = True
    except sa.exc.DBAPIError:
        unaccent = False
    op.execute(f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = simple)")
    if unaccent:
        op.execute(
            f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} "
            "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple"
        )
    op.execute(
        "CREATE INDEX ix_transcript_segment_fts ON transcript_segment "
        f"USING gin (to_tsvector('{CONFIG}', text))"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE:
            op.execute(statement)
    else:
        _postgresql()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("segment_fts_insert", "segment_fts_delete", "segment_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS segment_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_transcript_segment_fts")
        op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")
