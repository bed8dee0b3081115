"""Form bodies are decoded so that damaged text reaches validation as damage, not as other text.

Werkzeug decodes a urlencoded body strictly: one raw byte that is not UTF-8 empties the whole form
(the reporter would see "form expired" and lose everything typed), and percent-encoded bytes that are
not UTF-8 are re-quoted into literal text such as ``%FF`` that would be stored as if the reporter had
written it. Here both become U+FFFD, as werkzeug's multipart parser already does, so
reporter.validation names the damaged field and the form comes back with everything else kept.
The number of fields is capped as for multipart bodies (MAX_FORM_PARTS).
"""

from __future__ import annotations

from typing import IO, Any
from urllib.parse import parse_qsl

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

URLENCODED = "application/x-www-form-urlencoded"


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
        text = stream.read().decode("utf-8", "replace")
        try:
            fields = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace",
                               max_num_fields=self.max_form_parts)
        except ValueError:  # more fields than MAX_FORM_PARTS, as werkzeug refuses for multipart bodies
            raise RequestEntityTooLarge() from None
        return stream, self.cls(fields), self.cls()


class ReporterRequest(Request):
    """The application's request class: forms are decoded by ReplacingFormDataParser."""

    form_data_parser_class = ReplacingFormDataParser
