"""decision records keep their facts and verdict compressed (their words and names repeat)

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

#: JSON column -> its compressed successor
COLUMNS = {'inputs': 'facts', 'verdict': 'decision'}


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _convert(old: dict[str, sa.types.TypeEngine], new: dict[str, sa.types.TypeEngine],
             change: object) -> None:
    """Add the ``new`` columns, fill them from the ``old`` ones row by row, drop the old ones."""
    with op.batch_alter_table('decision_records') as batch:
        for name, kind in new.items():
            batch.add_column(sa.Column(name, kind, nullable=True))
    bind = op.get_bind()
    table = sa.table('decision_records', sa.column('id', sa.Integer()),
                     *(sa.column(name, kind) for name, kind in {**old, **new}.items()))
    for row in bind.execute(sa.select(table.c.id, *(table.c[name] for name in old))).all():
        values = {target: change(value) for target, value in zip(new, row[1:], strict=True)}
        bind.execute(table.update().where(table.c.id == row[0]).values(**values))
    with op.batch_alter_table('decision_records') as batch:
        for name, kind in new.items():
            batch.alter_column(name, existing_type=kind, nullable=False)
        for name in old:
            batch.drop_column(name)


def upgrade() -> None:
    _convert({name: sa.Text() for name in COLUMNS}, {name: sa.LargeBinary() for name in COLUMNS.values()},
             lambda value: zlib.compress(_text(value).encode(), 6))


def downgrade() -> None:
    _convert({name: sa.LargeBinary() for name in COLUMNS.values()}, {name: sa.JSON() for name in COLUMNS},
             lambda value: json.loads(zlib.decompress(value)))
