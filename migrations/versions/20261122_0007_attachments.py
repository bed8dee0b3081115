"""Attachments (scrubbed files and kept originals, content in the encrypted store), online incident details

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 19:40:51.701500

The original's SHA-256 and the file name are sealed columns; the size is a padded bucket. The
report's structured online details are one more sealed field, NULL on older reports.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attachments',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('report_id', sa.String(length=32), nullable=False),
    sa.Column('entry_id', sa.String(length=32), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('size_bucket', sa.Integer(), nullable=False),
    sa.Column('original_sha256_ct', sa.LargeBinary(), nullable=False),
    sa.Column('name_ct', sa.LargeBinary(), nullable=False),
    sa.Column('removed', sa.Text(), nullable=False),
    sa.Column('metadata_kept', sa.Boolean(), nullable=False),
    sa.Column('original_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['case_entries.id'], name=op.f('fk_attachments_entry_id_case_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_attachments_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('original_id', name=op.f('uq_attachments_original_id'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_report_id'), ['report_id'], unique=False)

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('online_details_ct', sa.LargeBinary(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('online_details_ct')

    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_report_id'))

    op.drop_table('attachments')
