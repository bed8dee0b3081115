"""Reports, seals, unlocked sessions and the audit chain

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 16:03:41.116782
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=True),
    sa.Column('actor_role', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=True),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_object_id'), ['object_id'], unique=False)

    head = op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    # The chain starts from a genesis head that every append locks (FOR UPDATE on PostgreSQL).
    op.bulk_insert(head, [{'id': 1, 'seq': 0, 'hash': '0' * 64}])
    op.create_table('reports',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('receipt_lookup', sa.String(length=64), nullable=False),
    sa.Column('created_hour', sa.DateTime(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('incident_kind', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('risk', sa.String(length=16), nullable=False),
    sa.Column('deadline_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('retention_until', sa.DateTime(), nullable=True),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('description_ct', sa.LargeBinary(), nullable=False),
    sa.Column('perpetrator_ct', sa.LargeBinary(), nullable=False),
    sa.Column('contact_ct', sa.LargeBinary(), nullable=False),
    sa.Column('occurred_on_ct', sa.LargeBinary(), nullable=False),
    sa.Column('submitted_at_ct', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('receipt_lookup', name=op.f('uq_reports_receipt_lookup'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_country'), ['country'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_created_hour'), ['created_hour'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_deadline_at'), ['deadline_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_retention_until'), ['retention_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_status'), ['status'], unique=False)

    op.create_table('unlocked_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.String(length=32), nullable=False),
    sa.Column('wrapped_secret', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unlocked_sessions'))
    )
    with op.batch_alter_table('unlocked_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unlocked_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_unlocked_sessions_subject_id'), ['subject_id'], unique=False)

    op.create_table('seals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('report_id', sa.String(length=32), nullable=False),
    sa.Column('recipient_kind', sa.String(length=16), nullable=False),
    sa.Column('recipient_id', sa.String(length=64), nullable=False),
    sa.Column('suite', sa.String(length=64), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('salt', sa.LargeBinary(), nullable=False),
    sa.Column('sealed_key', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_seals_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seals')),
    sa.UniqueConstraint('report_id', 'recipient_kind', 'recipient_id', name=op.f('uq_seals_report_id'))
    )
    with op.batch_alter_table('seals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seals_recipient_id'), ['recipient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_seals_report_id'), ['report_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('seals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seals_report_id'))
        batch_op.drop_index(batch_op.f('ix_seals_recipient_id'))

    op.drop_table('seals')
    with op.batch_alter_table('unlocked_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unlocked_sessions_subject_id'))
        batch_op.drop_index(batch_op.f('ix_unlocked_sessions_expires_at'))

    op.drop_table('unlocked_sessions')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_status'))
        batch_op.drop_index(batch_op.f('ix_reports_retention_until'))
        batch_op.drop_index(batch_op.f('ix_reports_deadline_at'))
        batch_op.drop_index(batch_op.f('ix_reports_created_hour'))
        batch_op.drop_index(batch_op.f('ix_reports_country'))
        batch_op.drop_index(batch_op.f('ix_reports_category'))

    op.drop_table('reports')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_object_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
