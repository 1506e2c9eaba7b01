"""call audio sha256 index

Revision ID: 5d3fd33c309e
Revises: d29f1aa575a6
Create Date: 2026-12-04 01:31:37.169360
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '5d3fd33c309e'
down_revision: str | None = 'd29f1aa575a6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_audio_sha256'), ['audio_sha256'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_audio_sha256'))

