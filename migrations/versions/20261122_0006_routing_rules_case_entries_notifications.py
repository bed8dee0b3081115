"""Routing rules, case entries (notes, messages, assessments), the notification outbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 19:11:12.937727

Also: the public display name of staff, the sealed exclusion (conflict of interest) and the
escalation time on reports, and the index the case queue reads seals by.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_entries',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('report_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('author_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('body_ct', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['staff_members.id'], name=op.f('fk_case_entries_author_id_staff_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_case_entries_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_entries'))
    )
    with op.batch_alter_table('case_entries', schema=None) as batch_op:
        batch_op.create_index('ix_case_entries_report_created', ['report_id', 'created_at'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('staff_id', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_members.id'], name=op.f('fk_notifications_staff_id_staff_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_sent_at'), ['sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_staff_id'), ['staff_id'], unique=False)

    op.create_table('routing_rules',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['staff_members.id'], name=op.f('fk_routing_rules_created_by_staff_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_rules')),
    sa.UniqueConstraint('country', 'category', 'language', name=op.f('uq_routing_rules_country'))
    )
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_rules_country'), ['country'], unique=False)

    op.create_table('routing_rule_members',
    sa.Column('rule_id', sa.String(length=32), nullable=False),
    sa.Column('staff_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['routing_rules.id'], name=op.f('fk_routing_rule_members_rule_id_routing_rules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_members.id'], name=op.f('fk_routing_rule_members_staff_id_staff_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('rule_id', 'staff_id', name=op.f('pk_routing_rule_members'))
    )
    with op.batch_alter_table('routing_rule_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_rule_members_staff_id'), ['staff_id'], unique=False)

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('excluded_ct', sa.LargeBinary(), nullable=True))

    with op.batch_alter_table('seals', schema=None) as batch_op:
        batch_op.create_index('ix_seals_recipient_report', ['recipient_kind', 'recipient_id', 'report_id'], unique=False)

    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('display_name', sa.String(length=80), nullable=True))

    op.create_index('ix_reports_queue_order', 'reports',
                    [sa.text('(deadline_at IS NULL)'), 'deadline_at', sa.text('created_hour DESC'), 'id'])



def downgrade() -> None:
    # IF EXISTS: on SQLite, a later revision's downgrade that recreates the table drops this expression
    # index (it cannot be reflected and copied).
    op.execute('DROP INDEX IF EXISTS ix_reports_queue_order')
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.drop_column('display_name')

    with op.batch_alter_table('seals', schema=None) as batch_op:
        batch_op.drop_index('ix_seals_recipient_report')

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('excluded_ct')
        batch_op.drop_column('escalated_at')

    with op.batch_alter_table('routing_rule_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_rule_members_staff_id'))

    op.drop_table('routing_rule_members')
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_rules_country'))

    op.drop_table('routing_rules')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_staff_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_sent_at'))
        batch_op.drop_index(batch_op.f('ix_notifications_next_attempt_at'))

    op.drop_table('notifications')
    with op.batch_alter_table('case_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_case_entries_report_created')

    op.drop_table('case_entries')
