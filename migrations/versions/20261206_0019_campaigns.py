"""campaigns: cases linked by hand under a sealed name

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 13:00:00

The name of a campaign is stored only encrypted under the campaign's own key, which is sealed to the
people who may read it and to the escrow key; which cases belong to a campaign is plaintext with a MAC
under the directory key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'campaigns',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('region', sa.String(length=2), nullable=False),
        sa.Column('name_ct', sa.LargeBinary(), nullable=False),
        sa.Column('created_by', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('record_mac', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    )
    op.create_index(op.f('ix_campaigns_region'), 'campaigns', ['region'], unique=False)
    op.create_table(
        'campaign_cases',
        sa.Column('campaign_id', sa.String(length=32), nullable=False),
        sa.Column('report_id', sa.String(length=32), nullable=False),
        sa.Column('added_by', sa.String(length=32), nullable=False),
        sa.Column('added_at', sa.DateTime(), nullable=False),
        sa.Column('record_mac', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_campaign_cases_campaign_id_campaigns'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'],
                                name=op.f('fk_campaign_cases_report_id_reports'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('campaign_id', 'report_id', name=op.f('pk_campaign_cases')),
    )
    op.create_index('ix_campaign_cases_report', 'campaign_cases', ['report_id', 'campaign_id'], unique=False)
    op.create_table(
        'campaign_seals',
        sa.Column('campaign_id', sa.String(length=32), nullable=False),
        sa.Column('recipient_kind', sa.String(length=16), nullable=False),
        sa.Column('recipient_id', sa.String(length=64), nullable=False),
        sa.Column('suite', sa.String(length=64), nullable=False),
        sa.Column('key_version', sa.Integer(), nullable=False),
        sa.Column('sealed_key', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_campaign_seals_campaign_id_campaigns'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('campaign_id', 'recipient_kind', 'recipient_id', name=op.f('pk_campaign_seals')),
    )
    op.create_index('ix_campaign_seals_recipient', 'campaign_seals', ['recipient_kind', 'recipient_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_campaign_seals_recipient', table_name='campaign_seals')
    op.drop_table('campaign_seals')
    op.drop_index('ix_campaign_cases_report', table_name='campaign_cases')
    op.drop_table('campaign_cases')
    op.drop_index(op.f('ix_campaigns_region'), table_name='campaigns')
    op.drop_table('campaigns')
