"""entered by staff: the staff member who entered a report for someone who called or came in person

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 13:00:00

NULL for every existing report (all sent by their reporters). A staff id, plaintext: it grants nothing
(access to a case comes from its seals only) and the audit chain records the same fact.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reports') as batch:
        batch.add_column(sa.Column('entered_by', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('reports') as batch:
        batch.drop_column('entered_by')
