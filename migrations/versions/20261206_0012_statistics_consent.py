"""statistics consent: the reporter's consent and the coarse plaintext figures of consenting reports

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: batch mode would rebuild the table on SQLite, and dropping `reports` would
    # cascade to every row that references it. Existing reports never consented: false, no figures.
    op.add_column('reports', sa.Column('stats_consent', sa.Boolean(), server_default=sa.false(),
                                       nullable=False))
    op.add_column('reports', sa.Column('stats_platforms', sa.String(length=200), nullable=True))
    op.add_column('reports', sa.Column('stats_first_risk', sa.String(length=16), nullable=True))
    op.add_column('reports', sa.Column('stats_ack_hours', sa.Integer(), nullable=True))
    op.add_column('reports', sa.Column('stats_assess_hours', sa.Integer(), nullable=True))
    op.create_index('ix_reports_statistics', 'reports',
                    ['created_hour', 'country', 'category', 'incident_kind', 'status', 'stats_consent',
                     'possible_flood', 'stats_first_risk', 'stats_platforms', 'stats_ack_hours',
                     'stats_assess_hours'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_reports_statistics', table_name='reports')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('stats_assess_hours')
        batch_op.drop_column('stats_ack_hours')
        batch_op.drop_column('stats_first_risk')
        batch_op.drop_column('stats_platforms')
        batch_op.drop_column('stats_consent')
