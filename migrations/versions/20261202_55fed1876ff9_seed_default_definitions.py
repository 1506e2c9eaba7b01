"""seed the built-in scorecard, shopper form and bonus rules as version 1 of `default`

Until now the first request that needed one stored it (a GET that wrote). The texts are read from
the installed packages, as the code that stored them on first use did.

Revision ID: 55fed1876ff9
Revises: 4b32a8bed753
Create Date: 2026-12-02 05:10:00.000000
"""
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
import sqlmodel
from alembic import op

import qa
from scorecards import bonus
from scorecards import shopper as forms

revision: str = '55fed1876ff9'
down_revision: str | None = '4b32a8bed753'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "default"  # what the services look up (DEFAULT_NAME) and what each YAML names itself


def _table(name: str) -> sa.TableClause:
    return sa.table(name, sa.column("id", sa.Integer), sa.column("name", sa.String),
                    sa.column("version", sa.Integer), sa.column("definition", sa.Text),
                    sa.column("created_by", sa.String),
                    sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime()))


# Each seeded table, where its default comes from, and the (table, column) that reference it
# at this revision: a referenced row is kept on downgrade.
SEEDS: list[tuple[str, Path, list[tuple[str, str]]]] = [
    ("scorecard_version", qa.default_path(), [("call_score", "scorecard_version_id")]),
    ("shopper_template", forms.default_path(), [("shopper_assignment", "template_id")]),
    ("bonus_rule_version", bonus.default_path(), [("incentive_period", "rule_version_id"),
                                                  ("incentive_line", "rule_version_id")]),
]


def upgrade() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    for name, path, _ in SEEDS:
        table = _table(name)
        exists = conn.execute(sa.select(sa.func.count()).select_from(table)
                              .where(table.c.name == NAME)).scalar_one()
        if exists:  # stored on first use by an earlier release, or edited since
            continue
        conn.execute(table.insert().values(name=NAME, version=1, created_by=None,
                                           created_at=now,
                                           definition=path.read_text(encoding="utf-8")))


def downgrade() -> None:
    conn = op.get_bind()
    for name, _, references in SEEDS:
        table = _table(name)
        seeded = sa.and_(table.c.name == NAME, table.c.version == 1,
                         table.c.created_by.is_(None))
        for ref_table, ref_column in references:
            ref = sa.table(ref_table, sa.column(ref_column, sa.Integer))
            seeded = sa.and_(seeded, ~sa.exists().where(ref.c[ref_column] == table.c.id))
        # A default already in use stays: the release below would have stored it on first use.
        conn.execute(table.delete().where(seeded))
