"""Reporters' network addresses are never stored or logged.

Rate limits key clients by a keyed, daily-rotating hash of the address (reporter.extensions), so
even a rate-limit store kept in Redis holds no address. The development
server's access log is replaced by one that prints neither addresses nor query strings nor tokens
in paths. (Gunicorn writes no access log unless told to; the deployment notes say to keep it so.)
"""

from __future__ import annotations

import logging
import re

from werkzeug.serving import WSGIRequestHandler

_TOKEN_PATH = re.compile(r"^(/staff/enroll/)[^/?]+")
log = logging.getLogger("reporter.access")


def loggable_path(path: str) -> str:
    """Return a request path fit for a log: no query string, no secret token."""
    return _TOKEN_PATH.sub(r"\1<token>", path.split("?", 1)[0])


class PrivateRequestHandler(WSGIRequestHandler):
    """Development-server request handler that logs no address, user agent or query string."""

    def address_string(self) -> str:
        """Return a placeholder instead of the client's address."""
        return "-"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log method, path without query, and status only."""
        method = getattr(self, "command", "-")
        log.info("%s %s %s", method, loggable_path(getattr(self, "path", "-")), code)

    def log_error(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
        """Log the status of a failed request only: its message may quote the raw request line."""
        code = next((arg for arg in args if isinstance(arg, int)), "-")
        log.warning("request error %s", code)
