"""Upload bombs are contained: each hostile file is refused within the sandbox's limits, the serving
process does not grow, and through the form the reporter gets a clear 4xx with nothing stored."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import func, select

from reporter.evidence.inspection import UploadLimits, UploadRejected, inspect_upload
from reporter.evidence.kinds import SNIFF_BYTES, sniff
from reporter.evidence.sandbox import SandboxLimits
from reporter.evidence.scrubbing.images import MAX_IMAGE_PIXELS
from reporter.extensions import db
from reporter.models import Attachment, AuditEvent, CaseEntry, Report
from tests.evidence import bombs
from tests.evidence.test_web_attachments import files, stored_files
from tests.staffing import ensure_coordinator
from tests.web.test_bad_input import form_values

MiB = 1024 * 1024
#: The serving process may not grow by more than this while it refuses a bomb.
MAX_GROWTH_MIB = 64
#: The default memory limit, with less CPU time than in production so a CPU bomb costs the suite
#: two seconds instead of ten (bench/evidence.py --bombs measures them under the defaults).
LIMITS = UploadLimits(sandbox=SandboxLimits(cpu_seconds=2, wall_seconds=6, submission_seconds=12))

#: What each hostile file is refused as: `unsafe` when the sandbox or a parser's limit stopped it.
REFUSED_AS: dict[str, str | tuple[str, ...]] = {
    "pdf-object-stream": "unsafe",  # qpdf's inflate limit, 64 MiB of the 2 GiB
    "pdf-nested-objects": "damaged",  # qpdf: "/Pages structure too deeply nested"
    "pdf-nested-arrays": "damaged",  # qpdf: nesting above 499 levels
    "jpeg-recursive-mpo": "too_many_pixels",  # 4,000 frames counted against the pixel cap
    "png-many-frames": "too_many_pixels",
    # Counting its frames costs CPU: on a slow machine the suite's 2 s CPU limit may stop it first.
    "gif-many-frames": ("too_many_pixels", "unsafe"),
    "webp-many-frames": "too_many_pixels",
    "text-nested": "type",  # markup in the first bytes: refused before it reaches the sandbox
    "mp3-nested-chapters": "unsafe",  # RecursionError in the child
    "ogg-many-comments": "unsafe",  # quadratic in mutagen: minutes of CPU in process; the CPU limit
    "m4a-nested-boxes": "unsafe",  # RecursionError in the child
    "mp4-nested-boxes": "unsafe",
}


class Upload:
    def __init__(self, data: bytes, filename: str = "file") -> None:
        self.stream = io.BytesIO(data)
        self.filename = filename


def rss_mib() -> float:
    """Return this process's resident memory (VmRSS) in MiB: the serving worker, under test."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_every_accepted_kind_has_a_hostile_file():
    from reporter.evidence.kinds import KINDS

    assert {kind for kind, _ in bombs.BY_KIND.values()} == set(KINDS)
    assert set(REFUSED_AS) == set(bombs.BY_KIND)


@pytest.mark.parametrize("name", sorted(bombs.BY_KIND))
def test_each_hostile_file_is_refused_and_the_serving_process_does_not_grow(name):
    kind, make = bombs.BY_KIND[name]
    data = make()
    assert len(data) <= 10 * MiB
    assert sniff(data[:SNIFF_BYTES]) == (None if REFUSED_AS[name] == "type" else kind)
    inspect_upload(Upload(b"warm"), limits=LIMITS)  # the sandbox of this process is running
    before = rss_mib()
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(Upload(data), limits=LIMITS)
    grown = rss_mib() - before
    expected = REFUSED_AS[name]
    reasons = expected if isinstance(expected, tuple) else (expected,)
    assert refused.value.reason in reasons, str(refused.value)
    assert grown < MAX_GROWTH_MIB, f"grew by {grown:.1f} MiB"


def test_an_image_at_the_pixel_cap_is_accepted_and_one_row_more_is_refused_before_decoding():
    before = rss_mib()
    at_cap = inspect_upload(Upload(bombs.png_at_pixels(MAX_IMAGE_PIXELS)), limits=LIMITS)
    assert at_cap.kind == "png" and at_cap.scrubbed.data.startswith(b"\x89PNG")
    assert rss_mib() - before < MAX_GROWTH_MIB  # 50 MB of pixels were decoded in the child, not here
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(Upload(bombs.png_at_pixels(MAX_IMAGE_PIXELS + 10_000)), limits=LIMITS)
    assert refused.value.reason == "too_many_pixels"
    assert MAX_IMAGE_PIXELS == 50_000_000  # SECURITY.md "Files and their metadata" says so


def _counts(app: Any) -> dict[str, int]:
    """Return how many reports, attachments, audit events and case entries are stored."""
    ensure_coordinator(app)  # made once, through the real enrolment (which writes audit events)
    with app.app_context():
        return {model.__name__: int(db.session.scalar(select(func.count()).select_from(model)) or 0)
                for model in (Report, Attachment, AuditEvent, CaseEntry)}


@pytest.mark.parametrize("name", ["pdf-object-stream", "mp4-nested-boxes"])
def test_a_bomb_sent_with_a_report_is_refused_in_the_reporters_language_and_nothing_is_stored(
        app, reporter, instance_path, name):
    kind, make = bombs.BY_KIND[name]
    content = make()
    reporter.client.get("/report?lang=ru")
    before, counts = rss_mib(), _counts(app)
    response = reporter.submit(attachments=files((content, f"evidence.{kind}")),
                               description="Это я написала сама")
    grown = rss_mib() - before
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Не удалось безопасно обработать evidence." in page and "ничего не сохранено" in page
    assert form_values(response)["description"] == "Это я написала сама"
    assert _counts(app) == counts and stored_files(instance_path) == []
    assert grown < MAX_GROWTH_MIB, f"grew by {grown:.1f} MiB"


def test_a_bomb_among_good_files_refuses_the_submission_and_names_only_the_bomb(app, reporter, instance_path):
    from tests.evidence import samples

    counts = _counts(app)
    response = reporter.submit(attachments=files((samples.jpeg_with_metadata(), "photo.jpg"),
                                                 (bombs.pdf_object_stream_bomb(), "bomb.pdf")))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "bomb.pdf could not be processed safely; nothing was stored." in page
    assert "photo.jpg" not in page
    assert _counts(app) == counts and stored_files(instance_path) == []


def test_a_bomb_sent_with_a_follow_up_message_is_refused_and_the_message_is_not_stored(
        app, reporter, make_report):
    receipt = make_report()
    assert reporter.follow_up(receipt).status_code == 302
    counts = _counts(app)
    response = reporter.client.post("/followup/case/message", data={
        "csrf_token": reporter.token("/followup/case"), "body": "The file they sent me",
        "attachments": files((bombs.mp3_nested_chapters(), "voice.mp3"))})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "voice.mp3 could not be processed safely; nothing was stored." in page
    assert "The file they sent me" in page
    assert _counts(app) == counts
