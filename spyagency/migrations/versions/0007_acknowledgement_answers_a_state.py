"""acknowledgements record the workflow state they answered

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('acknowledgements') as batch:
        batch.add_column(sa.Column('answered_state', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('acknowledgements') as batch:
        batch.drop_column('answered_state')
