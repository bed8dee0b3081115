"""An upload from request stream to encrypted store: limits, refusals, names, custody (C01, F01-F05)."""

from __future__ import annotations

import hashlib
import io
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import ExifTags, Image

from reporter import vault
from reporter.crypto import CiphertextInvalid, aead
from reporter.evidence import inspection
from reporter.evidence.inspection import UploadLimits, UploadRejected, display_name, prepare_attachment
from reporter.evidence.store import FolderStore
from tests.evidence import samples
from tests.evidence.samples import CANARY, CANARY_BYTES

MiB = 1024 * 1024


@dataclass
class Upload:
    """What werkzeug's FileStorage offers: a stream and the name the browser sent."""

    stream: IO[bytes]
    filename: str | None = "evidence"


def upload(data: bytes, filename: str | None = "evidence") -> Upload:
    return Upload(io.BytesIO(data), filename)


class EndlessStream(io.RawIOBase):
    """A request body that never ends, counting what was read from it."""

    def __init__(self) -> None:
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert size is not None and size >= 0, "an upload must never be read without a bound"
        self.consumed += size
        return b"a" * size


class UnreadableStream(io.RawIOBase):
    def read(self, size: int = -1) -> bytes:
        raise AssertionError("this upload must not be read")


@pytest.fixture
def key() -> bytes:
    return aead.new_key()


@pytest.fixture
def store(tmp_path) -> FolderStore:
    return FolderStore.in_instance(tmp_path)


def stored_bytes(store: FolderStore) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(Path(store.root).iterdir()))


def test_a_photo_is_scrubbed_hashed_named_and_sealed(key, store):
    original = samples.jpeg_with_metadata()
    prepared = prepare_attachment(upload(original, f"IMG_{CANARY}.jpg"), data_key=key)
    assert prepared.kind == "jpeg"
    assert prepared.original_sha256 == hashlib.sha256(original).hexdigest()
    assert prepared.original is None and prepared.original_id is None
    assert prepared.size_bucket == 64 * 1024
    assert not Image.open(io.BytesIO(prepared.content)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert vault.open_attachment_name(key, prepared.id, prepared.name_ct) == f"IMG_{CANARY}.jpg"

    inspection.store_attachment(prepared, store=store, data_key=key)

    assert store.ids() == {prepared.id}
    assert b"".join(vault.open_attachment_file(store, prepared.id, key)) == prepared.content


def test_the_raw_store_and_the_sealed_name_hold_none_of_the_plaintext(key, store):
    """C01: a canary in the content and in the file name is nowhere in what is stored."""
    text = (f"Witness statement {CANARY}. " * 400).encode()
    prepared = prepare_attachment(upload(text, f"{CANARY}.txt"), data_key=key)
    inspection.store_attachment(prepared, store=store, data_key=key)
    raw = stored_bytes(store)
    assert CANARY_BYTES not in raw and CANARY_BYTES not in prepared.name_ct
    assert all(text[i : i + 16] not in raw for i in range(0, len(text) - 16, 97))
    assert CANARY not in repr(prepared)


def test_the_untouched_original_is_kept_sealed_only_when_the_reporter_asks(key, store):
    original = samples.jpeg_with_metadata()
    prepared = prepare_attachment(upload(original), data_key=key, keep_original=True)
    assert prepared.original == original and prepared.original_id not in (None, prepared.id)
    inspection.store_attachment(prepared, store=store, data_key=key)
    assert store.ids() == {prepared.id, prepared.original_id}
    kept = b"".join(vault.open_attachment_file(store, prepared.original_id, key))
    assert hashlib.sha256(kept).hexdigest() == prepared.original_sha256
    assert CANARY_BYTES not in stored_bytes(store)  # the original's EXIF is there, but encrypted


def test_a_stored_file_cannot_be_read_as_another_attachment(key, store):
    first = prepare_attachment(upload(b"first statement"), data_key=key)
    second = prepare_attachment(upload(b"second statement"), data_key=key)
    for prepared in (first, second):
        inspection.store_attachment(prepared, store=store, data_key=key)
    store.path_of(second.id).write_bytes(store.path_of(first.id).read_bytes())
    with pytest.raises(CiphertextInvalid):
        b"".join(vault.open_attachment_file(store, second.id, key))
    with pytest.raises(CiphertextInvalid):
        vault.open_attachment_name(key, second.id, first.name_ct)


def test_a_file_of_exactly_the_limit_is_accepted():
    data = b"a" * (10 * MiB)
    prepared = prepare_attachment(upload(data), data_key=aead.new_key())
    assert prepared.kind == "text" and len(prepared.content) == 10 * MiB
    assert prepared.size_bucket == 10 * MiB


def test_one_byte_over_the_limit_is_refused_after_reading_one_byte_more():
    stream = EndlessStream()
    with pytest.raises(UploadRejected) as refused:
        prepare_attachment(Upload(stream), data_key=aead.new_key())
    assert refused.value.reason == "too_large"
    assert stream.consumed == 10 * MiB + 1
    with pytest.raises(UploadRejected):
        prepare_attachment(upload(b"a" * (10 * MiB + 1)), data_key=aead.new_key())


def test_the_limit_is_configurable():
    config = {"REPORTER_ATTACHMENT_MAX_FILES": 2, "REPORTER_ATTACHMENT_MAX_BYTES": 100}
    limits = UploadLimits.from_config(config)
    assert prepare_attachment(upload(b"a" * 100), data_key=aead.new_key(), limits=limits).kind == "text"
    with pytest.raises(UploadRejected, match="larger than"):
        prepare_attachment(upload(b"a" * 101), data_key=aead.new_key(), limits=limits)


def test_the_default_configuration_carries_the_limits(app):
    limits = UploadLimits.from_config(app.config)
    assert (limits.max_files, limits.max_bytes) == (5, 10 * MiB)


def test_an_empty_file_is_refused():
    with pytest.raises(UploadRejected) as refused:
        prepare_attachment(upload(b""), data_key=aead.new_key())
    assert refused.value.reason == "empty"


def test_more_than_five_files_are_refused_before_any_is_read():
    uploads = [Upload(UnreadableStream()) for _ in range(6)]
    with pytest.raises(UploadRejected) as refused:
        inspection.prepare_attachments(uploads, data_key=aead.new_key())
    assert refused.value.reason == "too_many_files"


def test_five_files_are_prepared():
    uploads = [upload(f"note {n}".encode()) for n in range(5)]
    prepared = inspection.prepare_attachments(uploads, data_key=aead.new_key(), keep_originals=True)
    assert len({p.id for p in prepared}) == 5 and all(p.original is not None for p in prepared)


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"<?php echo shell_exec($_GET['cmd']); ?>", "photo.jpg"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "photo.jpg"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "map.png"),
        (samples.zip_bomb(), "report.docx"),
        (b"MZ\x90\x00" + bytes(200), "statement.pdf"),
    ],
    ids=["php-as-jpg", "html-as-jpg", "svg-with-script", "zip-bomb", "executable-as-pdf"],
)
def test_disguised_files_are_refused_with_the_list_of_accepted_kinds(data, filename):
    started = time.perf_counter()
    with pytest.raises(UploadRejected) as refused:
        prepare_attachment(upload(data, filename), data_key=aead.new_key())
    assert refused.value.reason == "type"
    assert "images (JPEG, PNG, WebP, GIF)" in str(refused.value) and "MP4 video" in str(refused.value)
    assert time.perf_counter() - started < 1.0  # refused by its first bytes; nothing was unpacked


def test_text_with_markup_beyond_its_first_bytes_is_refused():
    data = b"An ordinary statement. " * 400 + b"<script>alert(1)</script>"
    with pytest.raises(UploadRejected) as refused:
        prepare_attachment(upload(data, "statement.txt"), data_key=aead.new_key())
    assert refused.value.reason == "markup"


def test_a_polyglot_jpeg_html_is_stored_as_a_plain_jpeg():
    html = b"<html><script>alert(document.cookie)</script></html>"
    out = io.BytesIO()
    samples.noise((16, 16)).save(out, "JPEG", comment=html)
    prepared = prepare_attachment(upload(out.getvalue() + html, "x.html"), data_key=aead.new_key())
    assert prepared.kind == "jpeg" and b"<script" not in prepared.content


def test_a_pdf_with_javascript_is_accepted_without_it():
    prepared = prepare_attachment(upload(samples.pdf_with_metadata_and_scripts()), data_key=aead.new_key())
    assert prepared.kind == "pdf" and "scripts and automatic actions" in prepared.removed
    assert b"/JavaScript" not in prepared.content and b"/JS" not in prepared.content


def test_a_video_is_accepted_with_a_plain_warning_that_metadata_stays():
    prepared = prepare_attachment(upload(samples.mp4_with_tags()), data_key=aead.new_key())
    assert prepared.kind == "mp4" and prepared.metadata_kept is True


def test_a_decompression_bomb_image_is_refused():
    with pytest.raises(UploadRejected) as refused:
        prepare_attachment(upload(samples.png_bomb()), data_key=aead.new_key())
    assert refused.value.reason == "too_many_pixels"


def test_a_truncated_jpeg_is_refused():
    out = io.BytesIO()
    samples.noise((128, 128)).save(out, "JPEG")
    with pytest.raises(UploadRejected) as refused:
        prepare_attachment(upload(out.getvalue()[:2000]), data_key=aead.new_key())
    assert refused.value.reason == "damaged"


def test_nothing_a_reporter_sent_reaches_the_logs_even_at_debug_level(caplog):
    photo = samples.jpeg_with_metadata()
    caplog.set_level(logging.DEBUG)
    prepare_attachment(upload(photo, f"{CANARY}.jpg"), data_key=aead.new_key())
    with pytest.raises(UploadRejected):
        prepare_attachment(upload(b"<html>" + CANARY_BYTES, f"{CANARY}.html"), data_key=aead.new_key())
    assert CANARY not in caplog.text


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("../../app.py", "app.py"),
        ("..\\..\\x", "x"),
        ("C:\\Users\\Ana Beridze\\Desktop\\photo.jpg", "photo.jpg"),
        ("a\x00.png", "a.png"),
        ("CON", "CON"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),
        ("\u2067evil\u2069\u200b.pdf", "evil.pdf"),
        ("line\nbreak\r\there.txt", "linebreakhere.txt"),
        ("  spaced   out  .txt ", "spaced out .txt"),
        ("Фото допроса.jpg", "Фото допроса.jpg"),
        ("", "attachment"),
        (None, "attachment"),
        ("...", "attachment"),
        ("../", "attachment"),
    ],
)
def test_display_names_are_safe_to_show(given, shown):
    assert display_name(given) == shown


def test_a_300_character_name_is_cut_keeping_its_extension():
    shown = display_name("x" * 300 + ".jpeg")
    assert len(shown) <= 100 and shown.endswith("….jpeg") and shown.startswith("xxx")
    assert len(display_name("y" * 300)) <= 100


def test_the_sealed_name_is_the_display_safe_one(key):
    prepared = prepare_attachment(upload(b"statement", "../../\u202eevil\x00.txt"), data_key=key)
    assert vault.open_attachment_name(key, prepared.id, prepared.name_ct) == "evil.txt"


@given(st.text(max_size=400))
def test_no_display_name_carries_controls_bidi_overrides_or_path_separators(name):
    shown = display_name(name)
    assert 0 < len(shown) <= 100
    assert not {"/", "\\", "\x00", "\n", "\u202e", "\u2066", "\u2067"} & set(shown)
    assert not shown.startswith(".")
