"""session token tag: a dashboard login is bound to the token that made it (a keyed hash of it, never the token)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 15:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dashboard_sessions') as batch:
        batch.add_column(sa.Column('token_tag', sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('dashboard_sessions') as batch:
        batch.drop_column('token_tag')
