"""Retention: the extension and purge dates of a case, the files of purged cases still to remove, and an
index on attachments.entry_id

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: batch mode would rebuild the table on SQLite, and dropping `reports` would
    # cascade to every row that references it.
    op.add_column('reports', sa.Column('retention_extended_at', sa.DateTime(), nullable=True))
    op.add_column('reports', sa.Column('purged_at', sa.DateTime(), nullable=True))
    op.create_table(
        'purged_files',
        sa.Column('store_id', sa.String(length=32), nullable=False),
        sa.Column('purged_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('store_id', name=op.f('pk_purged_files')),
    )
    # Deleting a case's entries looks up the attachments pointing to each one (ON DELETE CASCADE);
    # without an index that is a scan of every attachment row per entry.
    op.create_index(op.f('ix_attachments_entry_id'), 'attachments', ['entry_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_attachments_entry_id'), table_name='attachments')
    op.drop_table('purged_files')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
        batch_op.drop_column('retention_extended_at')
