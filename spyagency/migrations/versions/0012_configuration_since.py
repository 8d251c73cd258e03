"""configuration since: when Tier0's express configuration of a run was first read, unchanged, after its stop

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 15:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('runs') as batch:
        batch.add_column(sa.Column('configuration_since', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('runs') as batch:
        batch.drop_column('configuration_since')
