"""platform responses: what platforms did about the online details of consenting reports (coarse)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 11:00:00

Only reports whose reporter agreed to statistics get rows, and only platform and outcome codes and
months: the reference, the days and the rest stay sealed in the report's online details.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'platform_responses',
        sa.Column('report_id', sa.String(length=32), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=16), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('reported_month', sa.DateTime(), nullable=False),
        sa.Column('outcome_month', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'],
                                name=op.f('fk_platform_responses_report_id_reports'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('report_id', 'position', name=op.f('pk_platform_responses')),
    )
    op.create_index('ix_platform_responses_month', 'platform_responses',
                    ['reported_month', 'platform', 'outcome'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_platform_responses_month', table_name='platform_responses')
    op.drop_table('platform_responses')
