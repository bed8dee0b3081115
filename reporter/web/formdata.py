"""Form bodies are decoded so that damaged text reaches validation as damage, not as other text.

Werkzeug decodes a urlencoded body strictly: one raw byte that is not UTF-8 empties the whole form
(the reporter would see "form expired" and lose everything typed), and percent-encoded bytes that are
not UTF-8 are re-quoted into literal text such as ``%FF`` that would be stored as if the reporter had
written it. Here both become U+FFFD, as werkzeug's multipart parser already does, so
reporter.validation names the damaged field and the form comes back with everything else kept.
The number of fields is capped as for multipart bodies (MAX_FORM_PARTS).

Uploaded files never touch the disk in plaintext. Werkzeug spools a file part larger than 500 KiB
into a temporary file; here every file part goes to memory instead (`CappedUpload`), and only what
`reporter.evidence` has scrubbed and encrypted is ever written. Memory stays bounded: a part keeps at
most one byte more than the per-file limit (enough to tell that it is too large, so the form comes
back with a clear message and what was typed), and a whole request may be large only on the routes
that take files (`UPLOAD_ENDPOINTS`); everywhere else it is capped at MAX_FORM_MEMORY_SIZE.
"""

from __future__ import annotations

import io
from typing import IO, Any
from urllib.parse import parse_qsl

from flask import Request, current_app
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

URLENCODED = "application/x-www-form-urlencoded"
#: The only endpoints whose requests may carry files, and so be larger than a plain form.
UPLOAD_ENDPOINTS = frozenset({"intake.report", "intake.followup_message"})


class CappedUpload(io.BytesIO):
    """An uploaded file kept in memory; bytes past `cap` are counted but not kept."""

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap
        self.received = 0

    def write(self, data: Any) -> int:
        """Keep the bytes up to the cap; report every byte as written so parsing goes on."""
        size = len(data)
        room = self.cap - self.received
        self.received += size
        if room > 0:
            super().write(bytes(data[:room]))
        return size


class ReplacingFormDataParser(FormDataParser):
    """Parse urlencoded bodies as UTF-8, with U+FFFD for every byte that is not."""

    def parse(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str] | None = None,
    ) -> Any:
        """Parse the body; other content types go to werkzeug unchanged."""
        if mimetype != URLENCODED:
            return super().parse(stream, mimetype, content_length, options)
        limit = self.max_form_memory_size
        if limit is not None and content_length is not None and content_length > limit:
            raise RequestEntityTooLarge()
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise RequestEntityTooLarge()
        text = body.decode("utf-8", "replace")
        try:
            fields = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace",
                               max_num_fields=self.max_form_parts)
        except ValueError:  # more fields than MAX_FORM_PARTS, as werkzeug refuses for multipart bodies
            raise RequestEntityTooLarge() from None
        return stream, self.cls(fields), self.cls()


class ReporterRequest(Request):
    """The application's request class: forms decoded by ReplacingFormDataParser, files kept in memory."""

    form_data_parser_class = ReplacingFormDataParser

    @property
    def max_content_length(self) -> int | None:
        """Allow a body as large as the attachment limits only where files are taken."""
        if self._max_content_length is not None or not current_app:
            return super().max_content_length
        config = current_app.config
        if self.endpoint in UPLOAD_ENDPOINTS:
            return int(config["MAX_CONTENT_LENGTH"])
        return int(config["MAX_FORM_MEMORY_SIZE"])

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def _get_file_stream(
        self, total_content_length: int | None, content_type: str | None, filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        """Keep an uploaded file in memory, never in a temporary file, up to one byte past the limit."""
        return CappedUpload(int(current_app.config["REPORTER_ATTACHMENT_MAX_BYTES"]) + 1)
