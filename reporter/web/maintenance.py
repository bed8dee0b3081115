"""Refuse to serve while a key rotation is unfinished.

`reporter keys rotate` changes instance keys in several steps (reporter.lifecycle.rotation). A server
started in the middle (after a run was killed) would sign audit checkpoints with a key the chain no
longer accepts, or look up receipts under a key version about to change. So an application created
while ``instance/keys/rotation.next`` exists answers every request with 503 and a plain message, until
the rotation is finished (`reporter keys rotate` again) and the application restarted. The command
line is not affected: it is how the rotation is finished.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from flask_babel import gettext

log = logging.getLogger(__name__)
#: The marker of an unfinished rotation (reporter.lifecycle.rotation.PLAN_FILE).
PLAN_FILE = "rotation.next"


def install(app: Flask) -> None:
    """Answer 503 to every request if the app starts during an unfinished key rotation."""
    if not (Path(app.config["REPORTER_KEYS_PATH"]) / PLAN_FILE).exists():
        return
    log.error("a key rotation is unfinished: run `reporter keys rotate` to finish it, then restart")

    def refuse() -> tuple[str, int, dict[str, str]]:
        text = gettext("Maintenance: this service is being updated. Please try again later.")
        return text + "\n", 503, {"Content-Type": "text/plain; charset=utf-8", "Retry-After": "300"}

    app.before_request(refuse)
