"""review assignments

Revision ID: ad01906e2daa
Revises: 25e552f1f0cd
Create Date: 2026-12-04 18:07:24.782265
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'ad01906e2daa'
down_revision: str | None = '25e552f1f0cd'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('review_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=False),
    sa.Column('assigned_by', sa.Integer(), nullable=True),
    sa.Column('auto', sa.Boolean(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sa.Enum('open', 'done', name='assignmentstatus', native_enum=False, length=20), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('done_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['assigned_by'], ['user.id'], name=op.f('fk_review_assignment_assigned_by_user')),
    sa.ForeignKeyConstraint(['assignee_id'], ['user.id'], name=op.f('fk_review_assignment_assignee_id_user')),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_review_assignment_call_id_call')),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'], name=op.f('fk_review_assignment_review_id_review')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_assignment')),
    sa.UniqueConstraint('call_id', name=op.f('uq_review_assignment_call_id'))
    )
    with op.batch_alter_table('review_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_assignment_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_assignment_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_assignment_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('review_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_assignment_status'))
        batch_op.drop_index(batch_op.f('ix_review_assignment_due_at'))
        batch_op.drop_index(batch_op.f('ix_review_assignment_assignee_id'))

    op.drop_table('review_assignment')
