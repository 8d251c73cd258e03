"""grid identity: the certificate each HTTPS source was shown (DN, expiry, file), recorded by the poller

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 12:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source_status') as batch:
        batch.add_column(sa.Column('identity', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('source_status') as batch:
        batch.drop_column('identity')
