"""Directory record MACs, four-eyes offboarding, the entry chain of cases, enforced audit checkpoints

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 02:40:00

Staff records and routing rules gain a MAC under the instance directory key, and this migration signs
every existing one with it (the key is handed in by `reporter init`): what the database holds at
upgrade time is trusted as of that moment. Case entries get their position in the case, and each case
an entry MAC over them; existing entries keep format 1 (author and time authenticated by the chain,
not by their ciphertext). Unlocked sessions gain a role and a MAC; the existing ones are ended, so
everyone logs in again. The audit chain refuses an insert that is not at head + 1 (which also refuses
SQLite's INSERT OR REPLACE), and the next event signs a checkpoint under the new interval.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offboarding_requested_by', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('offboarding_requested_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('record_mac', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('record_mac', sa.LargeBinary(), nullable=True))
    op.execute("DELETE FROM unlocked_sessions")
    with op.batch_alter_table('unlocked_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('record_mac', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entries_mac', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('case_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('format', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('every_events', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('every_seconds', sa.Integer(), nullable=True))
    _number_entries()
    # A unique index, not a constraint: SQLite would rebuild the table for a constraint, and dropping a
    # table that others reference by foreign key is not something to do to a live installation.
    op.create_index('ix_case_entries_report_seq', 'case_entries', ['report_id', 'seq'], unique=True)
    _sign_existing_records()
    op.execute("UPDATE audit_head SET checkpoint_at = NULL")
    _audit_insert_at_head()


def _number_entries() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, report_id FROM case_entries ORDER BY report_id, created_at, id"))
    position: dict[str, int] = {}
    for entry_id, report_id in rows.all():
        position[report_id] = position.get(report_id, 0) + 1
        bind.execute(sa.text("UPDATE case_entries SET seq = :seq WHERE id = :id"),
                     {"seq": position[report_id], "id": entry_id})


def _sign_existing_records() -> None:
    from reporter import directory
    from reporter.cases import entry_chain

    bind = op.get_bind()
    staff = bind.execute(sa.text(f"SELECT {', '.join(directory.STAFF_FIELDS)} FROM staff_members")).all()
    rules = bind.execute(sa.text("SELECT id, country, category, language FROM routing_rules")).all()
    reports = bind.execute(sa.text("SELECT id FROM reports")).all()
    if not (staff or rules or reports):
        return
    keys: Any = context.config.attributes.get("record_keys")
    if keys is None:
        raise RuntimeError("this upgrade signs the staff directory: run it with `reporter init`, which holds "
                           "the instance directory key")
    for row in staff:
        bind.execute(sa.text("UPDATE staff_members SET record_mac = :mac WHERE id = :id"),
                     {"mac": keys.mac(directory.staff_message(tuple(row))), "id": row[0]})
    for rule_id, country, category, language in rules:
        members = [m for (m,) in bind.execute(sa.text(
            "SELECT staff_id FROM routing_rule_members WHERE rule_id = :id"), {"id": rule_id})]
        bind.execute(sa.text("UPDATE routing_rules SET record_mac = :mac WHERE id = :id"),
                     {"mac": keys.mac(directory.rule_message((rule_id, country, category, language, members))),
                      "id": rule_id})
    for (report_id,) in reports:
        entries = [SimpleNamespace(**row._mapping) for row in bind.execute(sa.text(
            "SELECT id, seq, kind, author_id, created_at, format, body_ct FROM case_entries "
            "WHERE report_id = :id ORDER BY seq"), {"id": report_id})]
        for entry in entries:  # SQLite hands times back as text here
            if isinstance(entry.created_at, str):
                entry.created_at = datetime.fromisoformat(entry.created_at)
        bind.execute(sa.text("UPDATE reports SET entries_mac = :mac WHERE id = :id"),
                     {"mac": entry_chain.mac(keys, report_id, entries), "id": report_id})


def _audit_insert_at_head() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE FUNCTION reporter_audit_insert_at_head() RETURNS trigger AS $$
            BEGIN
                IF NEW.seq IS DISTINCT FROM (SELECT seq + 1 FROM audit_head WHERE id = 1) THEN
                    RAISE EXCEPTION 'audit events are only appended at the head (seq %)', NEW.seq;
                END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql
        """)
        op.execute("""
            CREATE TRIGGER audit_events_insert_at_head BEFORE INSERT ON audit_events
            FOR EACH ROW EXECUTE FUNCTION reporter_audit_insert_at_head()
        """)
    else:
        op.execute("""
            CREATE TRIGGER audit_events_insert_at_head BEFORE INSERT ON audit_events
            WHEN NEW.seq IS NOT (SELECT seq + 1 FROM audit_head WHERE id = 1)
            BEGIN SELECT RAISE(ABORT, 'audit events are only appended at the head'); END
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_events_insert_at_head ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS reporter_audit_insert_at_head()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_insert_at_head")
    op.drop_index('ix_case_entries_report_seq', table_name='case_entries')
    with op.batch_alter_table('case_entries', schema=None) as batch_op:
        batch_op.drop_column('format')
        batch_op.drop_column('seq')
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.drop_column('every_seconds')
        batch_op.drop_column('every_events')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('entries_mac')
    with op.batch_alter_table('unlocked_sessions', schema=None) as batch_op:
        batch_op.drop_column('record_mac')
        batch_op.drop_column('role')
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.drop_column('record_mac')
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.drop_column('record_mac')
        batch_op.drop_column('offboarding_requested_at')
        batch_op.drop_column('offboarding_requested_by')
