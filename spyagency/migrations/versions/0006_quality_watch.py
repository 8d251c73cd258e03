"""quality watch: the DQM numbers of each run's PCL output, read once, and the watch's word on them

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 07:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'quality_values',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run', sa.Integer(), nullable=False),
        sa.Column('workflow', sa.String(length=100), nullable=False),
        sa.Column('values', sa.JSON(), nullable=False),
        sa.Column('observed_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('run', 'workflow', name='uq_quality_values_run_workflow'),
    )
    op.create_index('ix_quality_values_workflow_run', 'quality_values', ['workflow', 'run'])


def downgrade() -> None:
    op.drop_index('ix_quality_values_workflow_run', table_name='quality_values')
    op.drop_table('quality_values')
