"""linking indexes: the coordinator's most linked accounts read indexes, not the reports' rows

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 13:30:00

A region's live reports come from (country, purged_at, id) and their link rows of a quarter from
(report_id, created_at, blind_index): the grouping by account reads neither table's rows.
"""

from __future__ import annotations

from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_reports_country_live', 'reports', ['country', 'purged_at', 'id'], unique=False)
    op.create_index('ix_account_links_report_created', 'account_links',
                    ['report_id', 'created_at', 'blind_index'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_account_links_report_created', table_name='account_links')
    op.drop_index('ix_reports_country_live', table_name='reports')
