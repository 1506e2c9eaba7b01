"""legal holds: what retention, deletion and erasure must keep until released

Revision ID: d1546ea8971d
Revises: b3a63c87f9fd
Create Date: 2026-12-02 13:39:10.024473
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'd1546ea8971d'
down_revision: str | None = 'b3a63c87f9fd'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('legal_hold',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('call', 'agent', 'customer', name='holdkind', native_enum=False, length=20), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('set_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('set_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('released_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('released_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_hold'))
    )
    with op.batch_alter_table('legal_hold', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_hold_value'), ['value'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('legal_hold', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_hold_value'))

    op.drop_table('legal_hold')
