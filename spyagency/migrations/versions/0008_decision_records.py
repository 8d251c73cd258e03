"""decision records: each distinct decision of a run with the facts it was made from

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 16:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'decision_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run', sa.Integer(), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=False),
        sa.Column('policy', sa.String(length=200), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('inputs', sa.JSON(), nullable=False),
        sa.Column('verdict', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_decision_records_run_time', 'decision_records', ['run', 'decided_at'])
    op.create_index('ix_decision_records_time', 'decision_records', ['decided_at'])


def downgrade() -> None:
    op.drop_index('ix_decision_records_time', table_name='decision_records')
    op.drop_index('ix_decision_records_run_time', table_name='decision_records')
    op.drop_table('decision_records')
