"""Staff accounts, enrolment links, routing flag on reports

Revision ID: 0003
Revises: 0002 (re-point to the audit checkpoint revision when both are merged)
Create Date: 2026-11-22 16:18:28.169103
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_members',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('region', sa.String(length=2), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('invited_by', sa.String(length=32), nullable=True),
    sa.Column('invited_at', sa.DateTime(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(), nullable=True),
    sa.Column('vetting', sa.String(length=16), nullable=True),
    sa.Column('vetted_by', sa.String(length=32), nullable=True),
    sa.Column('vetted_at', sa.DateTime(), nullable=True),
    sa.Column('deactivated_at', sa.DateTime(), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('public_key', sa.LargeBinary(), nullable=True),
    sa.Column('key_suite', sa.String(length=64), nullable=True),
    sa.Column('private_key_pw_ct', sa.LargeBinary(), nullable=True),
    sa.Column('key_pw_salt', sa.LargeBinary(), nullable=True),
    sa.Column('key_pw_params', sa.String(length=64), nullable=True),
    sa.Column('private_key_rc_ct', sa.LargeBinary(), nullable=True),
    sa.Column('key_rc_salt', sa.LargeBinary(), nullable=True),
    sa.Column('totp_secret_ct', sa.LargeBinary(), nullable=True),
    sa.Column('last_totp_step', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['invited_by'], ['staff_members.id'], name=op.f('fk_staff_members_invited_by_staff_members')),
    sa.ForeignKeyConstraint(['vetted_by'], ['staff_members.id'], name=op.f('fk_staff_members_vetted_by_staff_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_members')),
    sa.UniqueConstraint('email', name=op.f('uq_staff_members_email'))
    )
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_members_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_members_state'), ['state'], unique=False)

    op.create_table('enrollment_tokens',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('binding', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_members.id'], name=op.f('fk_enrollment_tokens_staff_id_staff_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrollment_tokens'))
    )
    with op.batch_alter_table('enrollment_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrollment_tokens_staff_id'), ['staff_id'], unique=False)

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_routing', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f('ix_reports_needs_routing'), ['needs_routing'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_needs_routing'))
        batch_op.drop_column('needs_routing')

    with op.batch_alter_table('enrollment_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrollment_tokens_staff_id'))

    op.drop_table('enrollment_tokens')
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_members_state'))
        batch_op.drop_index(batch_op.f('ix_staff_members_region'))

    op.drop_table('staff_members')
