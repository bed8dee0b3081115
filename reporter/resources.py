"""Where the package's templates, static files and migrations are, installed or in a checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _package_dir(package: str) -> str:
    return str(Path(str(resources.files(package))))


def template_folder() -> str:
    """Return the folder of the Jinja templates (the top-level templates/ in a checkout)."""
    return _package_dir("reporter.templates")


def migrations_folder() -> str:
    """Return the Alembic script folder (the top-level migrations/ in a checkout)."""
    return _package_dir("reporter.migrations")


def static_folder() -> str:
    """Return the folder of the CSS and the optional script."""
    return str(Path(__file__).parent / "static")
