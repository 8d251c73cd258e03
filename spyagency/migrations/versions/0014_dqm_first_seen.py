"""dqm first seen: when a DQM reading of a workflow was first read as it stands, so that a "no payload by
design" is believed only once a later read agrees

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 16:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dqm_checks') as batch:
        batch.add_column(sa.Column('first_seen', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('dqm_checks') as batch:
        batch.drop_column('first_seen')
