"""Migrations: `alembic upgrade head` yields exactly the schema the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from reporter.database import make_engine
from reporter.models import Base


def test_upgrade_head_matches_the_models(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            columns = {column["name"] for column in inspect(connection).get_columns("staff_members")}
            assert {"password_hash", "private_key_pw_ct", "private_key_rc_ct", "totp_secret_ct"} <= columns
    finally:
        engine.dispose()
