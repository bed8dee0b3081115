"""directory version: a token the database replaces on every change of a staff record or routing rule

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 09:50:00

Each process keeps the routing state it has verified until this token changes
(reporter.cases.verified_routing). Triggers replace it, so no writer can forget to: the application,
the console, a migration, or someone editing rows by hand. The token is random rather than a counter,
so a transaction that changed the directory and then rolled back leaves behind a token that will never
name any committed state.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

#: The staff columns a record MAC covers, and the MAC: a change to any other column (the last TOTP
#: step, a password hash) changes nothing routing uses.
STAFF_COLUMNS = ("id, email, role, display_name, region, state, public_key, key_suite, vetting, vetted_by, "
                 "offboarding_requested_by, record_mac")
RULE_COLUMNS = "id, country, category, language, record_mac"
#: (table, the columns whose update counts)
SQLITE_BUMP = "UPDATE directory_version SET token = lower(hex(randomblob(16))) WHERE id = 1;"
WATCHED = (("staff_members", STAFF_COLUMNS), ("routing_rules", RULE_COLUMNS),
           ("routing_rule_members", "rule_id, staff_id"))


def _triggers(table: str, columns: str) -> list[tuple[str, str]]:
    return [(f"{table}_{kind}_directory", event) for kind, event in
            (("ins", "INSERT"), ("del", "DELETE"), ("upd", f"UPDATE OF {columns}"))]


def upgrade() -> None:
    op.create_table(
        'directory_version',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_version')),
    )
    op.execute(sa.text("INSERT INTO directory_version (id, token) VALUES (1, :token)").bindparams(
        token=secrets.token_hex(16)))
    postgresql = op.get_bind().dialect.name == 'postgresql'
    if postgresql:
        op.execute("""
            CREATE FUNCTION reporter_directory_changed() RETURNS trigger AS $$
            BEGIN
                UPDATE directory_version SET token = md5(random()::text || clock_timestamp()::text)
                    WHERE id = 1;
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql
        """)
    for table, columns in WATCHED:
        for name, event in _triggers(table, columns):
            if postgresql:
                op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                           "FOR EACH STATEMENT EXECUTE FUNCTION reporter_directory_changed()")
            else:
                op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN "  # noqa: S608 - constants
                           f"{SQLITE_BUMP} END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for table, columns in WATCHED:
        for name, _event in _triggers(table, columns):
            op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS reporter_directory_changed()")
    op.drop_table('directory_version')
