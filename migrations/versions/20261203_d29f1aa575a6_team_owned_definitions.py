"""team owned definitions

Revision ID: d29f1aa575a6
Revises: ea31a57ff485
Create Date: 2026-12-03 13:38:13.952462
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'd29f1aa575a6'
down_revision: str | None = 'ea31a57ff485'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('scorecard_choice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('call_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('scorecard', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_scorecard_choice_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scorecard_choice')),
    sa.UniqueConstraint('slot', name=op.f('uq_scorecard_choice_slot'))
    )
    with op.batch_alter_table('scorecard_choice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scorecard_choice_team_id'), ['team_id'], unique=False)

    with op.batch_alter_table('scorecard_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_scorecard_version_team_id'), ['team_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_scorecard_version_team_id_team'), 'team', ['team_id'], ['id'])

    with op.batch_alter_table('shopper_template', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_shopper_template_team_id'), ['team_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_shopper_template_team_id_team'), 'team', ['team_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('shopper_template', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_shopper_template_team_id_team'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_shopper_template_team_id'))
        batch_op.drop_column('team_id')

    with op.batch_alter_table('scorecard_version', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_scorecard_version_team_id_team'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_scorecard_version_team_id'))
        batch_op.drop_column('team_id')

    with op.batch_alter_table('scorecard_choice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scorecard_choice_team_id'))

    op.drop_table('scorecard_choice')
