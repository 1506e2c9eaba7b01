"""coaching sessions

Revision ID: ee1daaea9ac6
Revises: ad01906e2daa
Create Date: 2026-12-04 18:07:06.828132
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'ee1daaea9ac6'
down_revision: str | None = 'ad01906e2daa'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('coaching_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('coach_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('focus', sa.JSON(), nullable=False),
    sa.Column('follow_up', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('open', 'acknowledged', 'done', name='coachingstatus', native_enum=False, length=20), nullable=False),
    sa.Column('acknowledged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('agent_comment', sa.Text(), nullable=True),
    sa.Column('done_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_coaching_session_agent_id_agent')),
    sa.ForeignKeyConstraint(['coach_id'], ['user.id'], name=op.f('fk_coaching_session_coach_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coaching_session'))
    )
    with op.batch_alter_table('coaching_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coaching_session_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coaching_session_coach_id'), ['coach_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coaching_session_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_coaching_session_follow_up'), ['follow_up'], unique=False)
        batch_op.create_index(batch_op.f('ix_coaching_session_status'), ['status'], unique=False)

    op.create_table('coaching_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('coaching_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_coaching_call_call_id_call')),
    sa.ForeignKeyConstraint(['coaching_id'], ['coaching_session.id'], name=op.f('fk_coaching_call_coaching_id_coaching_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coaching_call')),
    sa.UniqueConstraint('coaching_id', 'call_id', name=op.f('uq_coaching_call_coaching_id'))
    )
    with op.batch_alter_table('coaching_call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coaching_call_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coaching_call_coaching_id'), ['coaching_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('coaching_call', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coaching_call_coaching_id'))
        batch_op.drop_index(batch_op.f('ix_coaching_call_call_id'))

    op.drop_table('coaching_call')
    with op.batch_alter_table('coaching_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coaching_session_status'))
        batch_op.drop_index(batch_op.f('ix_coaching_session_follow_up'))
        batch_op.drop_index(batch_op.f('ix_coaching_session_created_at'))
        batch_op.drop_index(batch_op.f('ix_coaching_session_coach_id'))
        batch_op.drop_index(batch_op.f('ix_coaching_session_agent_id'))

    op.drop_table('coaching_session')
