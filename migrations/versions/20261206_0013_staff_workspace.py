"""staff workspace: when each person last opened each case they hold

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_openings',
        sa.Column('staff_id', sa.String(length=32), nullable=False),
        sa.Column('report_id', sa.String(length=32), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('seen_seq', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_case_openings_report_id_reports'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['staff_id'], ['staff_members.id'],
                                name=op.f('fk_case_openings_staff_id_staff_members'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('staff_id', 'report_id', name=op.f('pk_case_openings')),
    )
    op.create_index(op.f('ix_case_openings_report_id'), 'case_openings', ['report_id'], unique=False)
    op.create_table(
        'reply_templates',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('title', sa.String(length=80), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=32), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by'], ['staff_members.id'],
                                name=op.f('fk_reply_templates_created_by_staff_members'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_templates')),
    )
    op.create_index(op.f('ix_reply_templates_language'), 'reply_templates', ['language'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_reply_templates_language'), table_name='reply_templates')
    op.drop_table('reply_templates')
    op.drop_index(op.f('ix_case_openings_report_id'), table_name='case_openings')
    op.drop_table('case_openings')
