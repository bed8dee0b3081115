"""The example environment file names every setting, and systemd's format reads back to valid values."""

from __future__ import annotations

import re

from reporter import config
from tests.deploy.site import DEPLOY

EXAMPLE = DEPLOY / "reporter.env.example"


def test_every_setting_is_in_the_example_with_a_comment():
    text = EXAMPLE.read_text()
    named = set(re.findall(r"^#?(REPORTER_[A-Z0-9_]+)=", text, flags=re.MULTILINE))
    assert set(config.DEFAULTS) - {"REPORTER_ARGON2_TEST_FAST"} <= named
    for line in text.splitlines():
        if line.startswith("REPORTER_"):
            assert "CHANGE-ME" not in line or "://" in line, line  # placeholders only, never a secret


def test_the_limits_in_the_example_match_nginxs_body_size():
    """client_max_body_size is the app's largest request (files x bytes + form), in MiB."""
    files, size, form = (config.DEFAULTS[name] for name in (
        "REPORTER_ATTACHMENT_MAX_FILES", "REPORTER_ATTACHMENT_MAX_BYTES", "REPORTER_MAX_FORM_BYTES"))
    largest = (files * size + form) // config.MiB
    common = (DEPLOY / "nginx" / "reporter-common.conf").read_text()
    assert f"client_max_body_size {largest}m;" in common
    assert f"client_body_buffer_size {largest}m;" in common
