"""Metadata removal, one module per family of file kinds; `reporter.evidence.scrub` picks the module.

Every scrubber reads hostile input. It either returns a cleaned copy and says what it removed and
whether metadata it cannot remove stays, or raises Unreadable: it never passes a file through
unchecked because parsing failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scrubbed:
    """A cleaned copy: its bytes, what kinds of metadata were removed, and whether some had to stay."""

    data: bytes = field(repr=False)
    removed: list[str] = field(default_factory=list)
    #: True when the file may still carry metadata that no well-kept library here can remove; the
    #: reporter is told so before the upload is final.
    metadata_kept: bool = False


class Unreadable(ValueError):
    """The file cannot be read as the kind its first bytes claim; `reason` is a code for the reporter."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
