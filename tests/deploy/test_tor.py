"""The shipped onion service snippet is a configuration Debian's tor accepts, as Debian's unit runs it."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

from tests.deploy.site import DEPLOY, replace, require_program

DEBIAN_DEFAULTS = Path("/usr/share/tor/tor-service-defaults-torrc")


def _torrc(tmp_path: Path, snippet: str) -> Path:
    """Write the snippet with its service folder and a data folder here (tor wants both 0700)."""
    service, data = tmp_path / "reporter", tmp_path / "data"
    for folder in (service, data):
        folder.mkdir(mode=0o700)
    text = replace(snippet, "HiddenServiceDir /var/lib/tor/reporter/", f"HiddenServiceDir {service}/")
    torrc = tmp_path / "torrc"
    torrc.write_text(text + f"\nDataDirectory {data}\n")
    return torrc


def _verify(tmp_path: Path, snippet: str) -> subprocess.CompletedProcess[str]:
    tor = require_program("tor")
    defaults = str(DEBIAN_DEFAULTS) if DEBIAN_DEFAULTS.is_file() else "/dev/null"
    user = pwd.getpwuid(os.geteuid()).pw_name  # Debian's defaults name debian-tor; the test runs as itself
    return subprocess.run([tor, "--defaults-torrc", defaults, "-f", str(_torrc(tmp_path, snippet)),
                           "--verify-config", "--User", user], capture_output=True, text=True, timeout=60,
                          check=False)


def test_tor_accepts_the_onion_service_snippet(tmp_path: Path):
    snippet = (DEPLOY / "tor" / "torrc-reporter").read_text()
    checked = _verify(tmp_path, snippet)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Configuration was valid" in checked.stdout
    assert "HiddenServicePort 80 127.0.0.1:8080" in snippet  # the nginx onion server (reporter.conf)
    assert "listen 127.0.0.1:8080;" in (DEPLOY / "nginx" / "reporter.conf").read_text()


def test_tor_refuses_a_broken_snippet(tmp_path: Path):
    """The check above can fail: a misspelt option is refused."""
    snippet = (DEPLOY / "tor" / "torrc-reporter").read_text()
    snippet = snippet.replace("HiddenServiceVersion", "HiddenServiceVersoin")
    assert _verify(tmp_path, snippet).returncode != 0
