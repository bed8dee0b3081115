"""Schema migrations with Alembic, run from the CLI (`reporter init`) and from tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from reporter.crypto.records import RecordKeys
from reporter.resources import migrations_folder

FILE_TEMPLATE = "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s"


def alembic_config(url: str) -> Config:
    """Return an Alembic configuration for the database at `url`."""
    cfg = Config()
    cfg.set_main_option("script_location", migrations_folder())
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.set_main_option("file_template", FILE_TEMPLATE)
    return cfg


def upgrade(engine: Engine, *, record_keys: RecordKeys | None = None) -> None:
    """Bring the database behind `engine` to the newest schema.

    `record_keys` (the instance directory key) signs existing staff records, rules and case entries
    on the upgrade that introduced their MACs; a database with none needs no key.
    """
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        cfg.attributes["record_keys"] = record_keys
        command.upgrade(cfg, "head")
