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
#: Control characters (an ANSI escape sequence in a path would restyle or rewrite the terminal) and
#: the backslash are written as escapes.
_ESCAPES = str.maketrans({**{c: rf"\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]}, ord("\\"): r"\\"})
log = logging.getLogger("reporter.access")


def loggable_path(path: str) -> str:
    """Return a request path fit for a log: no query string, no secret token, no control character."""
    return _TOKEN_PATH.sub(r"\1<token>", path.split("?", 1)[0]).translate(_ESCAPES)


class PrivateRequestHandler(WSGIRequestHandler):
    """Development-server request handler that logs no address, user agent or query string.

    The client's address still reaches the application (REMOTE_ADDR), which needs it to tell clients
    apart for rate limits (as a keyed hash, never stored); it is only kept out of the log.
    """

    def log(self, type: str, message: str, *args: object) -> None:  # noqa: A002 - signature of the base class
        """Log a server message without the client's address in front of it."""
        getattr(log, type if type in {"info", "warning", "error"} else "info")(message.rstrip(), *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log method, path without query, and status only."""
        method = getattr(self, "command", "-")
        log.info("%s %s %s", method, loggable_path(getattr(self, "path", "-")), code)

    def log_error(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
        """Log the status of a failed request only: its message may quote the raw request line."""
        code = next((arg for arg in args if isinstance(arg, int)), "-")
        log.warning("request error %s", code)
