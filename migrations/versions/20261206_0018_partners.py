"""partners: partner organisations, referrals to them, and the reporter's referral consent

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 13:00:00

Reports submitted before this revision have no consent MAC: they count as not consenting to a
referral until the reporter says so at follow-up.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'partners',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('public_name', sa.String(length=120), nullable=False),
        sa.Column('suite', sa.String(length=64), nullable=False),
        sa.Column('public_key', sa.LargeBinary(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('registered_by', sa.String(length=32), nullable=False),
        sa.Column('registered_at', sa.DateTime(), nullable=False),
        sa.Column('confirmed_by', sa.String(length=32), nullable=True),
        sa.Column('confirmed_at', sa.DateTime(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('record_mac', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_partners')),
    )
    op.create_table(
        'partner_referrals',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('report_id', sa.String(length=32), nullable=False),
        sa.Column('partner_id', sa.String(length=32), nullable=False),
        sa.Column('created_hour', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=32), nullable=False),
        sa.Column('record_mac', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['partner_id'], ['partners.id'],
                                name=op.f('fk_partner_referrals_partner_id_partners')),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'],
                                name=op.f('fk_partner_referrals_report_id_reports'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_referrals')),
    )
    op.create_index(op.f('ix_partner_referrals_report_id'), 'partner_referrals', ['report_id'], unique=False)
    # Plain ADD COLUMNs: batch mode would rebuild `reports` on SQLite (see 0016).
    op.add_column('reports', sa.Column('referral_consent', sa.Boolean(), server_default=sa.false(),
                                       nullable=False))
    op.add_column('reports', sa.Column('consent_counter', sa.Integer(), server_default='0', nullable=False))
    op.add_column('reports', sa.Column('consent_mac', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch:
        batch.drop_column('consent_mac')
        batch.drop_column('consent_counter')
        batch.drop_column('referral_consent')
    op.drop_index(op.f('ix_partner_referrals_report_id'), table_name='partner_referrals')
    op.drop_table('partner_referrals')
    op.drop_table('partners')
