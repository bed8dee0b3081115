"""escalation: the reason a case is escalating from online to offline harm (plaintext, like risk)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: batch mode would rebuild the table on SQLite, and dropping `reports` would
    # cascade to every row that references it.
    op.add_column('reports', sa.Column('escalating', sa.String(length=16), nullable=True))
    op.create_index(op.f('ix_reports_escalating'), 'reports', ['escalating'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_reports_escalating'), table_name='reports')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('escalating')
