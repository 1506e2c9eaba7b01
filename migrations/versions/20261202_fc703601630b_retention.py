"""retention: policies per team and call type; when a call lost its recording or its data

Revision ID: fc703601630b
Revises: d1546ea8971d
Create Date: 2026-12-02 13:55:18.293552
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'fc703601630b'
down_revision: str | None = 'd1546ea8971d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('retention_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('call_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('audio_days', sa.Integer(), nullable=True),
    sa.Column('data_days', sa.Integer(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_retention_policy_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_policy'))
    )
    with op.batch_alter_table('retention_policy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retention_policy_team_id'), ['team_id'], unique=False)

    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audio_deleted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('data_deleted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_column('data_deleted_at')
        batch_op.drop_column('audio_deleted_at')

    with op.batch_alter_table('retention_policy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retention_policy_team_id'))

    op.drop_table('retention_policy')
