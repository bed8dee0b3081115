"""The shipped systemd units pass `systemd-analyze verify`, with the program path pointed at this venv."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.site import DEPLOY, replace, require_program

UNITS = ("reporter-web.service", "reporter-onion.service", "reporter-worker.service")
VENV = Path(sys.executable).parent.parent


def _verify(folder: Path, units: dict[str, str]) -> subprocess.CompletedProcess[str]:
    analyze = require_program("systemd-analyze")
    for name, text in units.items():
        (folder / name).write_text(replace(text, "/opt/reporter/venv/", f"{VENV}/"))
    result = subprocess.run([analyze, "verify", "--man=no", *(str(folder / name) for name in units)],
                            capture_output=True, text=True, timeout=120, check=False)
    if "Failed to" in result.stderr and "bus" in result.stderr.lower():
        pytest.skip(f"systemd-analyze cannot run here: {result.stderr.strip()[:200]}")
    return result


def test_the_units_verify_without_a_warning(tmp_path: Path):
    units = {name: (DEPLOY / "systemd" / name).read_text() for name in UNITS}
    result = _verify(tmp_path, units)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    web = units["reporter-web.service"]
    for hardening in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/reporter",
                      "PrivateTmp=yes", "ProtectHome=yes", "CapabilityBoundingSet=\n",
                      "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes"):
        assert hardening in web, hardening


def test_verify_reports_a_misspelt_setting(tmp_path: Path):
    """The check above can fail: systemd-analyze names a setting it does not know."""
    text = (DEPLOY / "systemd" / "reporter-worker.service").read_text().replace("ProtectHome", "ProtectHoem")
    result = _verify(tmp_path, {"reporter-worker.service": text})
    assert "ProtectHoem" in result.stderr
