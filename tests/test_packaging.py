"""A non-editable install (the README's first command) carries every module, template and data file."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _configured_packages() -> set[str]:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return set(tomllib.load(handle)["tool"]["setuptools"]["packages"])


def test_every_python_package_is_listed_for_the_wheel():
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "reporter").rglob("__init__.py")
    }
    missing = found - _configured_packages()
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_template_and_migration_folders_are_shipped_as_packages():
    packages = _configured_packages()
    assert {"reporter.templates", "reporter.migrations"} <= packages
    template_dirs = {p.parent for p in (ROOT / "templates").rglob("*.html")}
    assert all(d == ROOT / "templates" or d.parent == ROOT / "templates" for d in template_dirs), (
        "templates nested deeper than one folder need a package-data glob in pyproject.toml"
    )
