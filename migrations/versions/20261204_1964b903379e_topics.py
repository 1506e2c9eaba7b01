"""topics

Revision ID: 1964b903379e
Revises: 7c1e5a9f3b20
Create Date: 2026-12-04 01:57:16.236295
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '1964b903379e'
down_revision: str | None = '7c1e5a9f3b20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('topic',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('query', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('speaker', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topic')),
    sa.UniqueConstraint('name', name=op.f('uq_topic_name'))
    )
    op.create_table('call_topic',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('segment', sa.Integer(), nullable=False),
    sa.Column('start', sa.Float(), nullable=False),
    sa.Column('tagged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_call_topic_call_id_call')),
    sa.ForeignKeyConstraint(['topic_id'], ['topic.id'], name=op.f('fk_call_topic_topic_id_topic')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_topic')),
    sa.UniqueConstraint('call_id', 'topic_id', name=op.f('uq_call_topic_call_id'))
    )
    with op.batch_alter_table('call_topic', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_topic_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_topic_topic_id'), ['topic_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('call_topic', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_topic_topic_id'))
        batch_op.drop_index(batch_op.f('ix_call_topic_call_id'))

    op.drop_table('call_topic')
    op.drop_table('topic')
