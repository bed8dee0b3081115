"""The evidence parts of the reporter's forms: files and online-incident rows, read from the request
and turned into translated, per-file and per-row messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage, MultiDict

from reporter.evidence.inspection import UploadLimits, UploadRejected, UploadsRejected, display_name
from reporter.intake import platform_reports
from reporter.intake.online_details import MAX_ROWS, DetailsInvalid
from reporter.web import platform_labels

#: Rows of online details shown on a fresh form; "add another" shows one more, up to MAX_ROWS.
DEFAULT_ONLINE_ROWS = 3
ONLINE_FIELDS = ("platform", "account", "links", "approximate_time", *platform_reports.FIELDS)

UPLOAD_PROBLEMS = {
    "too_large": _l("%(name)s is larger than %(size)s MiB. Please send a smaller file."),
    "empty": _l("%(name)s is empty (0 bytes)."),
    "type": _l("%(name)s is not a kind of file we accept. We accept: %(accepted)s."),
    "damaged": _l("%(name)s could not be read: it may be damaged or incomplete."),
    "too_many_pixels": _l("%(name)s is an image too large to process. Please send a smaller one."),
    "encrypted": _l("%(name)s is protected by a password. Please send it without the password."),
    "not_text": _l("%(name)s is not plain text (UTF-8). We accept: %(accepted)s."),
    "markup": _l("%(name)s contains web page or image markup (HTML, SVG or XML), which we do not accept. "
                 "Please send a screenshot instead."),
    "unsafe": _l("%(name)s could not be processed safely; nothing was stored. Please send a smaller or "
                 "simpler file, or a screenshot of it."),
}
ACCEPTED = _l("photos and images (JPEG, PNG, WebP, GIF), PDF documents, plain text, audio (MP3, OGG, M4A) "
              "and MP4 video")
ONLINE_PROBLEMS = {
    "choice": _l("Please choose the platform."),
    "url": _l("Please give web addresses that start with http:// or https://, one per line."),
    "too_many": _l("Please give at most 10 links in one row."),
    "too_long": _l("This text is too long."),
    "nul": _l("This text contains a null character. Please remove it and try again."),
    "control": _l("This text contains invisible control characters. Please retype it."),
    "encoding": _l("This text arrived with damaged characters. Please retype it."),
}


def limits() -> UploadLimits:
    """Return the upload limits of the running application."""
    return UploadLimits.from_config(current_app.config)


def uploads(files: MultiDict[str, FileStorage]) -> list[FileStorage]:
    """Return the files sent in `attachments`; an empty file input (no file chosen) is not a file."""
    return [f for f in files.getlist("attachments") if f.filename or f.content_length]


def too_many_files() -> str:
    """Return the message for more files than one submission may carry."""
    return str(_l("Please attach at most %(count)s files at once.", count=limits().max_files))


def upload_errors(refused: UploadRejected) -> tuple[list[str], int]:
    """Return one message per refused file and the status to answer with: 413 when a file is too large,
    422 when one could not be processed safely (it reached a limit of the sandbox), else 400."""
    problems = refused.problems if isinstance(refused, UploadsRejected) else [("", refused)]
    if any(error.reason == "too_many_files" for _, error in problems):
        return [too_many_files()], 400
    size = f"{limits().max_bytes / (1024 * 1024):g}"
    messages = [
        str(UPLOAD_PROBLEMS.get(error.reason, UPLOAD_PROBLEMS["damaged"]) % {
            "name": display_name(name), "size": size, "accepted": ACCEPTED})
        for name, error in problems
    ]
    reasons = {error.reason for _, error in problems}
    status = 413 if "too_large" in reasons else 422 if "unsafe" in reasons else 400
    return messages, status


def online_rows(form: Mapping[str, Any]) -> list[dict[str, str]]:
    """Return the online-detail rows posted as online-<n>-<field>, in order, at most MAX_ROWS."""
    rows = []
    for index in range(MAX_ROWS):
        row = {name: str(form.get(f"online-{index}-{name}", "")) for name in ONLINE_FIELDS}
        rows.append(row)
    while rows and not any(v.strip() for v in rows[-1].values()):
        rows.pop()
    return rows


def rows_to_show(form: Mapping[str, Any], posted: list[dict[str, str]], *, add: bool = False) -> int:
    """Return how many rows the form shows: as many as before (at least the default and every filled
    one), plus one when the reporter asked for another."""
    try:
        shown = int(form.get("online_rows", DEFAULT_ONLINE_ROWS))
    except (TypeError, ValueError):
        shown = DEFAULT_ONLINE_ROWS
    return min(MAX_ROWS, max(DEFAULT_ONLINE_ROWS, shown, len(posted)) + (1 if add else 0))


def online_errors(invalid: DetailsInvalid) -> dict[str, str]:
    """Return messages by field id (online-<n>-<field>) for the problems of the online rows."""
    messages = {f"online-{index}-{name}": str(ONLINE_PROBLEMS.get(code, ONLINE_PROBLEMS["choice"]))
                for (index, name), code in invalid.problems.items() if name not in platform_reports.FIELDS}
    for (index, name), code in invalid.problems.items():
        if name in platform_reports.FIELDS:
            messages[f"online-{index}-{name}"] = platform_labels.problem_messages({name: code})[name]
    return messages

