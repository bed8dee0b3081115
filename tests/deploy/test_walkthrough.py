"""deploy/README.md followed as far as this machine allows: every file it installs exists, every
`reporter` command it runs exists, and its steps 5 and 6 (the example settings, `reporter init`,
`backup keygen`) then one tick of the worker run for real on a fresh instance."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.deploy.site import DEPLOY

WALKTHROUGH = (DEPLOY / "README.md").read_text()
SHELL = "\n".join(re.findall(r"```sh\n(.*?)```", WALKTHROUGH, flags=re.DOTALL))


def _systemd_environment(path: Path) -> dict[str, str]:
    """Read an EnvironmentFile as systemd does for these simple lines: NAME=rest of the line."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith(("#", ";")):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _reporter(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reporter.cli", *args], env=environment, text=True,
                          capture_output=True, timeout=300, check=False)


def test_every_file_the_walkthrough_installs_is_shipped():
    installed = re.findall(r"/opt/reporter/src/deploy/([\w./-]+)", SHELL)
    assert len(installed) >= 8
    for name in installed:
        assert (DEPLOY / name).is_file(), name


def test_the_walkthrough_and_the_units_agree_on_paths():
    units = "".join(path.read_text() for path in (DEPLOY / "systemd").glob("*.service"))
    for path in ("/etc/reporter/reporter.env", "/etc/reporter/onion.env", "/var/lib/reporter",
                 "/opt/reporter/venv/bin/"):
        assert path in units and path in WALKTHROUGH, path
    assert "adduser --system --group" in SHELL and "User=reporter" in units


def test_the_walkthroughs_steps_run_on_a_fresh_instance(tmp_path: Path, backend: str, database_url: str):
    environment = {**os.environ, **_systemd_environment(DEPLOY / "reporter.env.example")}
    # What this machine has instead of the server's: a folder here, the test database, no mail server,
    # the audit heads in a file (there may be no syslog).
    fresh = tmp_path / "fresh"
    environment.update({"REPORTER_INSTANCE_PATH": str(fresh), "REPORTER_SMTP_URL": "",
                        "REPORTER_AUDIT_HEAD_LOG": str(tmp_path / "audit-heads.log")})
    if backend == "postgresql":
        environment["REPORTER_DATABASE_URL"] = database_url
    else:
        environment.pop("REPORTER_DATABASE_URL")
    for step in (["init"], ["backup", "keygen"], ["worker", "--once"]):
        ran = _reporter(environment, *step)
        assert ran.returncode == 0, (step, ran.stdout[-800:], ran.stderr[-1500:])
    offline = sorted(path.name for path in fresh.glob("*.MOVE-OFFLINE"))
    assert offline == ["backup-private.key.MOVE-OFFLINE", "escrow-private.key.MOVE-OFFLINE"]
    # Every other command it names exists (asked for its help, on the instance just made).
    named = {tuple(word for word in command.split() if not word.startswith(("-", '"', "/")))[:2]
             for command in re.findall(r"^reporter_admin (.+)$", SHELL, flags=re.MULTILINE)}
    assert ("users", "invite") in named and ("backup", "create") in named
    for words in named:
        helped = _reporter(environment, *words, "--help")
        assert helped.returncode == 0, (words, helped.stderr[-500:])
