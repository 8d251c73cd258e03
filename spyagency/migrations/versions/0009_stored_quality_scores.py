"""stored quality scores: each output's score is computed once, under a key, and read by decide

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quality_values') as batch:
        batch.add_column(sa.Column('score', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('scored_with', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('quality_values') as batch:
        batch.drop_column('scored_with')
        batch.drop_column('score')
