"""account links: blind indexes of the accounts and links each report names

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 10:20:00

Reports stored before this revision have no rows: their accounts are sealed, and indexing them needs
each case opened (see SECURITY.md, "Linking cases").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'account_links',
        sa.Column('report_id', sa.String(length=32), nullable=False),
        sa.Column('platform', sa.String(length=16), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('blind_index', sa.String(length=64), nullable=False),
        sa.Column('key_version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('record_mac', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_account_links_report_id_reports'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('report_id', 'platform', 'kind', 'blind_index', name=op.f('pk_account_links')),
    )
    op.create_index('ix_account_links_blind_index', 'account_links', ['blind_index', 'report_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_account_links_blind_index', table_name='account_links')
    op.drop_table('account_links')
