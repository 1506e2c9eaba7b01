"""job unsent: a message the queue could not take when its row committed, sent by the
reconciler's next pass

Revision ID: ea31a57ff485
Revises: f42a0ff3d720
Create Date: 2026-12-03 11:40:09.881607
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'ea31a57ff485'
down_revision: str | None = 'f42a0ff3d720'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unsent', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_column('unsent')
