"""key rotation: the receipt lookup key's version with each report; staff key renewal requests

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: batch mode would rebuild `reports` on SQLite, and dropping it cascades.
    # Every existing lookup was made with the only key there was: version 1.
    op.add_column('reports', sa.Column('receipt_key_version', sa.Integer(), server_default='1', nullable=False))
    op.create_index('ix_reports_receipt_key_version', 'reports', ['receipt_key_version'])
    op.add_column('staff_members', sa.Column('key_renewal_requested_at', sa.DateTime(), nullable=True))
    op.add_column('staff_members', sa.Column('key_renewal_requested_by', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.drop_column('key_renewal_requested_by')
        batch_op.drop_column('key_renewal_requested_at')
    op.drop_index('ix_reports_receipt_key_version', table_name='reports')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('receipt_key_version')
