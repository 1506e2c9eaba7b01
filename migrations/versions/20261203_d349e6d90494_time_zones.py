"""time zones: a user's own zone for pages (null: the organisation's), and the zone whose months
an incentive period counts (existing periods were counted in UTC) and the span frozen at lock

Revision ID: d349e6d90494
Revises: fc703601630b
Create Date: 2026-12-03 10:26:06.056990
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'd349e6d90494'
down_revision: str | None = 'fc703601630b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('incentive_period', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=False, server_default='UTC'))
        batch_op.add_column(sa.Column('starts_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('ends_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('time_zone')

    with op.batch_alter_table('incentive_period', schema=None) as batch_op:
        batch_op.drop_column('ends_at')
        batch_op.drop_column('starts_at')
        batch_op.drop_column('time_zone')
