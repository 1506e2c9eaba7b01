"""time zones: a user's own zone for pages (null: the organisation's), and the zone whose months
an incentive period counts (existing periods were counted in UTC)

Revision ID: d349e6d90494
Revises: fc703601630b
Create Date: 2026-12-03 10:26:06.056990
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'd349e6d90494'
down_revision: str | None = 'fc703601630b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('incentive_period', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=False, server_default='UTC'))

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('time_zone')

    with op.batch_alter_table('incentive_period', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
