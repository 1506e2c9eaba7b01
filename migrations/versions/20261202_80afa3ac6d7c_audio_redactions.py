"""audio redactions: the spans silenced in a stored recording for card data

Revision ID: 80afa3ac6d7c
Revises: 672e35a13296
Create Date: 2026-12-02 13:07:41.298947
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '80afa3ac6d7c'
down_revision: str | None = '672e35a13296'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('transcript', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audio_redactions', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('transcript', schema=None) as batch_op:
        batch_op.drop_column('audio_redactions')

