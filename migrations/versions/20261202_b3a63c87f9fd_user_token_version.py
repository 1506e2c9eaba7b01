"""user token version: raised on deactivation, password and role changes to end sessions

Revision ID: b3a63c87f9fd
Revises: 80afa3ac6d7c
Create Date: 2026-12-02 13:19:40.582834
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'b3a63c87f9fd'
down_revision: str | None = '80afa3ac6d7c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('token_version')

