"""decision records keep their facts compressed (each repeats most of its run's previous record)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:10:00
"""
import json
import zlib

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def upgrade() -> None:
    with op.batch_alter_table('decision_records') as batch:
        batch.add_column(sa.Column('facts', sa.LargeBinary(), nullable=True))
    bind = op.get_bind()
    records = sa.table('decision_records', sa.column('id', sa.Integer()), sa.column('inputs', sa.Text()),
                       sa.column('facts', sa.LargeBinary()))
    for row_id, inputs in bind.execute(sa.select(records.c.id, records.c.inputs)).all():
        bind.execute(records.update().where(records.c.id == row_id)
                     .values(facts=zlib.compress(_text(inputs).encode(), 6)))
    with op.batch_alter_table('decision_records') as batch:
        batch.alter_column('facts', existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column('inputs')


def downgrade() -> None:
    with op.batch_alter_table('decision_records') as batch:
        batch.add_column(sa.Column('inputs', sa.JSON(), nullable=True))
    bind = op.get_bind()
    records = sa.table('decision_records', sa.column('id', sa.Integer()), sa.column('inputs', sa.JSON()),
                       sa.column('facts', sa.LargeBinary()))
    for row_id, facts in bind.execute(sa.select(records.c.id, records.c.facts)).all():
        bind.execute(records.update().where(records.c.id == row_id)
                     .values(inputs=json.loads(zlib.decompress(facts))))
    with op.batch_alter_table('decision_records') as batch:
        batch.alter_column('inputs', existing_type=sa.JSON(), nullable=False)
        batch.drop_column('facts')
