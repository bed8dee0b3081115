"""Composite (column, seq) indexes for the auditor's filtered pages

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 18:00:00

The auditor's workspace filters by actor, action or object and pages newest first on seq. An index
on (column, seq) answers both the equality and the keyset order, so a filtered page stays fast at a
million events; the single-column indexes on the same columns become redundant. Plain index
operations, not batch mode: on SQLite a batch would copy the table and drop its append-only triggers.
"""

from __future__ import annotations

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

COLUMNS = ('actor_id', 'action', 'object_id')


def upgrade() -> None:
    for column in COLUMNS:
        op.create_index(f'ix_audit_events_{column}_seq', 'audit_events', [column, 'seq'], unique=False)
        op.drop_index(f'ix_audit_events_{column}', table_name='audit_events')


def downgrade() -> None:
    for column in COLUMNS:
        op.create_index(f'ix_audit_events_{column}', 'audit_events', [column], unique=False)
        op.drop_index(f'ix_audit_events_{column}_seq', table_name='audit_events')
