"""Recognising a file by its content: accepted kinds, and what only pretends to be one (F02)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reporter.evidence.kinds import KINDS, SNIFF_BYTES, accepted_kinds, sniff, text_problem
from tests.evidence import samples


@pytest.mark.parametrize(
    ("build", "kind"),
    [
        (samples.jpeg_with_metadata, "jpeg"),
        (samples.png_with_metadata, "png"),
        (samples.webp_with_metadata, "webp"),
        (samples.animated_gif, "gif"),
        (samples.pdf_plain, "pdf"),
        (samples.mp3_with_tags, "mp3"),
        (samples.mp3_plain, "mp3"),
        (samples.ogg_vorbis_with_tags, "ogg"),
        (lambda: samples.mp4_with_tags(b"M4A "), "m4a"),
        (samples.mp4_with_tags, "mp4"),
        (lambda: "Свидетельство: 12 марта, около 14:00.\r\nWitness\tstatement\n".encode(), "text"),
        (lambda: b"From: Ana <ana@example.org>\nif a < b and c > d: done\n", "text"),
        (lambda: b"\xef\xbb\xbfnotes with a byte order mark\n", "text"),
    ],
    ids=["jpeg", "png", "webp", "gif", "pdf", "mp3-id3", "mp3-frames", "ogg", "m4a", "mp4", "text",
         "text-with-angle-brackets", "text-bom"],
)
def test_accepted_kinds_are_recognised_by_content(build, kind):
    assert sniff(build()[:SNIFF_BYTES]) == kind


@pytest.mark.parametrize(
    "content",
    [
        b"<?php system($_GET['c']); ?>",
        b"<html><body><script>alert(document.cookie)</script></body></html>",
        b"  \n<!DOCTYPE html><p>hi</p>",
        b"\xef\xbb\xbf<html>",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>',
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        b"<?xml version='1.0'?><note>hello</note>",
        b"Dear officer,\nplease see <a href=javascript:alert(1)>this</a>",
        b"text then <IMG SRC=x onerror=alert(1)>",
        b"harmless <!-- a comment hides --> markup",
        b"< script >alert(1)</script>",
    ],
    ids=["php", "html", "doctype", "html-bom", "svg-script", "svg-xml", "xml", "link", "img", "comment",
         "spaced-script"],
)
def test_markup_and_scripts_are_refused_whatever_the_name(content):
    assert sniff(content) is None


@pytest.mark.parametrize(
    "content",
    [
        b"MZ\x90\x00\x03\x00\x00\x00",  # Windows executable
        b"\x7fELF\x02\x01\x01",
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00",  # zip, docx, odt, apk
        b"\x1f\x8b\x08\x00",  # gzip
        b"Rar!\x1a\x07\x00",
        b"II*\x00\x08\x00\x00\x00",  # TIFF
        b"BM\x36\x00\x00\x00",  # BMP
        b"\x00\x00\x00\x18ftypqt  \x00\x00\x02\x00qt  \x00\x00\x00\x00",  # QuickTime
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",  # HEIC image
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"RIFF\x24\x00\x00\x00WEBPJUNK",
        b"OggS\x00\x02" + bytes(20) + b"\x01\x1e" + b"\x80theora" + bytes(30),  # OGG video
        b"ID3\x04\x00\x00\x00\x00\x00",  # too short to be a tag header
        b"ID3\x04\x00\x00\x80\x00\x00\x00",  # size byte not sync-safe
        b"\xff\xfb\x90\x64" + bytes(100),  # one MP3 frame header with no second one after it
        b"\xff\xfe\x00\x00",
        bytes(64),
        b"text with a NUL\x00inside",
        b"text with an escape \x1b[31m",
        b"\xc3\x28 invalid UTF-8",
        "C1 control \u0085 here".encode(),
        b"",
    ],
    ids=["exe", "elf", "zip", "gzip", "rar", "tiff", "bmp", "quicktime", "heic", "wav",
         "webp-without-vp8", "ogg-theora", "id3-short", "id3-not-syncsafe", "mp3-one-frame",
         "utf16-bom", "zeros", "nul", "escape", "invalid-utf8", "c1-control", "empty"],
)
def test_other_kinds_are_not_accepted(content):
    assert sniff(content) is None


def test_a_head_cut_inside_a_multibyte_character_is_still_text():
    head = ("a" + "й" * SNIFF_BYTES).encode()[:SNIFF_BYTES]
    assert head.endswith(b"\xd0")
    assert sniff(head) == "text"


def test_markup_beyond_the_sniffed_head_is_caught_by_the_full_check():
    data = b"plain words " * 500 + b"<script>alert(1)</script>"
    assert sniff(data[:SNIFF_BYTES]) == "text"
    assert text_problem(data) == "markup"


def test_the_accepted_list_names_every_kind():
    listed = accepted_kinds()
    assert all(kind.label in listed for kind in KINDS.values())
    assert listed.startswith("images (JPEG, PNG, WebP, GIF); PDF documents")


SIGNATURES = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP", b"GIF89a", b"%PDF-1.",
              b"OggS\x00\x02", b"\x00\x00\x00\x18ftyp", b"ID3\x04", b"\xff\xfb\x90\x64", b"<", b""]


@given(prefix=st.sampled_from(SIGNATURES), rest=st.binary(max_size=64))
def test_sniffing_any_bytes_answers_without_error(prefix, rest):
    assert sniff(prefix + rest) in {*KINDS, None}


@pytest.mark.parametrize("build", [samples.ogg_vorbis_with_tags, samples.mp3_with_tags, samples.mp4_with_tags,
                                   samples.png_with_metadata])
def test_every_prefix_of_a_real_file_is_sniffed_without_error(build):
    data = build()[:200]
    for length in range(len(data)):
        assert sniff(data[:length]) in {*KINDS, None}
