"""The database advances the audit chain head whenever an event is inserted

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 17:20:00

One statement less per audit event (the INSERT moves the head itself), and the head can never lag
behind the chain it names.
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE FUNCTION reporter_advance_audit_head() RETURNS trigger AS $$
            BEGIN
                UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql
        """)
        op.execute("""
            CREATE TRIGGER audit_events_advance_head AFTER INSERT ON audit_events
            FOR EACH ROW EXECUTE FUNCTION reporter_advance_audit_head()
        """)
    else:
        op.execute("""
            CREATE TRIGGER audit_events_advance_head AFTER INSERT ON audit_events
            BEGIN UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1; END
        """)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_events_advance_head" + (
        " ON audit_events" if op.get_bind().dialect.name == 'postgresql' else ""))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS reporter_advance_audit_head()")
