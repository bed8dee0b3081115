"""Recordings lose their tags; where container metadata must stay, the result says so plainly."""

from __future__ import annotations

import io

import pytest
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggvorbis import OggVorbis

from reporter.evidence.inspection import UploadRejected, scrub
from tests.evidence import samples
from tests.evidence.samples import CANARY_BYTES, LOCATION


def test_mp3_loses_id3v2_id3v1_and_ape_tags_and_keeps_its_audio():
    original = samples.mp3_with_tags()
    assert original.count(CANARY_BYTES) >= 4
    result = scrub("mp3", original)
    assert CANARY_BYTES not in result.data
    assert result.data == samples.mp3_plain()  # exactly the audio frames, nothing else
    assert MP3(io.BytesIO(result.data)).tags is None
    assert result.metadata_kept is False and result.removed


def test_an_mp3_without_tags_passes_unchanged():
    result = scrub("mp3", samples.mp3_plain())
    assert result.data == samples.mp3_plain() and result.removed == [] and result.metadata_kept is False


def test_ogg_vorbis_loses_its_comments():
    result = scrub("ogg", samples.ogg_vorbis_with_tags())
    assert CANARY_BYTES not in result.data
    recording = OggVorbis(io.BytesIO(result.data))
    assert not list(recording.tags) and recording.info.length == 1.0
    assert result.metadata_kept is False


def test_ogg_with_a_second_stream_is_reported_as_keeping_metadata():
    result = scrub("ogg", samples.ogg_vorbis_with_tags(second_stream=True))
    assert result.metadata_kept is True


@pytest.mark.parametrize("brand", [b"isom", b"M4A "], ids=["mp4", "m4a"])
def test_mp4_and_m4a_lose_their_tags_but_say_the_container_metadata_stays(brand):
    kind = "m4a" if brand == b"M4A " else "mp4"
    result = scrub(kind, samples.mp4_with_tags(brand))
    assert CANARY_BYTES not in result.data
    assert not MP4(io.BytesIO(result.data)).tags
    assert LOCATION in result.data, "mutagen cannot remove the location atom; the flag must say so"
    assert result.metadata_kept is True


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("mp3", b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(16) + b"<html>not audio</html>"),
        ("ogg", b"OggS\x00\x02" + bytes(40)),
        ("ogg", samples.ogg_vorbis_with_tags()[:60]),
        ("mp4", b"\x00\x00\x00\x14ftypisom\x00\x00\x00\x00isom" + b"<script>alert(1)</script>"),
        ("m4a", samples.mp4_with_tags(b"M4A ")[:60]),
    ],
    ids=["id3-then-html", "ogg-empty-page", "ogg-truncated", "mp4-without-moov", "m4a-truncated"],
)
def test_a_recording_that_cannot_be_parsed_is_refused(kind, data):
    with pytest.raises(UploadRejected) as refused:
        scrub(kind, data)
    assert refused.value.reason == "damaged"
