"""Images lose all metadata, keep what rendering needs; bombs and damage are refused (F03, F05)."""

from __future__ import annotations

import io
import time

import pytest
from PIL import ExifTags, Image

from reporter.evidence.inspection import UploadRejected, scrub
from reporter.evidence.scrubbing.images import MAX_IMAGE_PIXELS
from tests.evidence import samples
from tests.evidence.samples import CANARY_BYTES


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_jpeg_loses_gps_device_time_xmp_iptc_and_comment():
    original = samples.jpeg_with_metadata()
    before = open_image(original)
    assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo), "the sample must carry GPS to prove anything"
    assert CANARY_BYTES in original

    result = scrub("jpeg", original)

    after = open_image(result.data)
    assert after.format == "JPEG" and after.size == before.size
    assert not after.getexif()
    assert not after.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert not {"exif", "xmp", "comment", "photoshop", "icc_profile"} & set(after.info)
    assert CANARY_BYTES not in result.data
    assert b"Exif\x00\x00" not in result.data and b"http://ns.adobe.com/xap" not in result.data
    assert b"Photoshop 3.0" not in result.data
    assert set(result.removed) >= {"EXIF (location, camera, time, thumbnail)", "XMP", "IPTC", "comments"}
    assert result.metadata_kept is False


def test_jpeg_orientation_is_applied_to_the_pixels_before_the_exif_goes():
    result = scrub("jpeg", samples.jpeg_with_metadata((64, 48), orientation=6))
    assert open_image(result.data).size == (48, 64)


def test_png_loses_text_chunks_xmp_exif_and_keeps_transparency():
    original = samples.png_with_metadata("RGBA")
    result = scrub("png", original)
    after = open_image(result.data)
    assert after.mode == "RGBA" and after.size == (40, 30)
    assert not after.info and not after.getexif() and not getattr(after, "text", {})
    assert CANARY_BYTES not in result.data
    for chunk in (b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"iCCP"):
        assert chunk not in result.data
    assert "text chunks" in result.removed


def test_webp_loses_exif_and_xmp():
    original = samples.webp_with_metadata()
    assert CANARY_BYTES in original
    result = scrub("webp", original)
    after = open_image(result.data)
    assert after.format == "WEBP" and after.size == (40, 30)
    assert not after.getexif() and "xmp" not in after.info
    assert CANARY_BYTES not in result.data and b"EXIF" not in result.data and b"XMP " not in result.data


def test_animated_gif_keeps_its_frames_and_timing_but_not_its_comment():
    result = scrub("gif", samples.animated_gif())
    after = Image.open(io.BytesIO(result.data))
    assert after.n_frames == 3
    durations = []
    for index in range(after.n_frames):
        after.seek(index)
        durations.append(after.info["duration"])
    assert durations == [100, 200, 300]
    assert "comment" not in after.info and CANARY_BYTES not in result.data


@pytest.mark.parametrize("kind", ["jpeg", "png", "gif"])
def test_polyglot_with_html_inside_and_after_the_image_comes_out_as_a_plain_image(kind):
    html = b"<html><body><script>alert(document.domain)</script></body></html>"
    out = io.BytesIO()
    options = {"comment": html} if kind in {"jpeg", "gif"} else {}
    samples.noise((16, 16)).save(out, kind.upper(), **options)
    polyglot = out.getvalue() + html
    result = scrub(kind, polyglot)
    assert b"<script" not in result.data and b"<html" not in result.data
    assert open_image(result.data).size == (16, 16)


def test_a_50000_by_50000_png_is_refused_before_decompression():
    bomb = samples.png_bomb(50_000, 50_000)
    assert len(bomb) < 1024 * 1024  # 2.5 gigapixels in well under a megabyte
    started = time.perf_counter()
    with pytest.raises(UploadRejected) as refused:
        scrub("png", bomb)
    assert refused.value.reason == "too_many_pixels"
    assert time.perf_counter() - started < 1.0  # decoding it would take seconds and gigabytes


def test_an_image_just_above_the_pixel_limit_is_refused_and_one_at_it_accepted():
    limit = 64 * 64
    above, at = io.BytesIO(), io.BytesIO()
    Image.new("L", (65, 64)).save(above, "PNG")
    Image.new("L", (64, 64)).save(at, "PNG")
    with pytest.raises(UploadRejected) as refused:
        scrub("png", above.getvalue(), max_image_pixels=limit)
    assert refused.value.reason == "too_many_pixels"
    assert open_image(scrub("png", at.getvalue(), max_image_pixels=limit).data).size == (64, 64)


def test_animation_frames_count_towards_the_pixel_limit():
    with pytest.raises(UploadRejected) as refused:
        scrub("gif", samples.animated_gif(), max_image_pixels=20 * 20 * 2)
    assert refused.value.reason == "too_many_pixels"


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_a_truncated_jpeg_is_refused_as_damaged(keep):
    out = io.BytesIO()
    samples.noise((256, 256)).save(out, "JPEG", quality=90)
    data = out.getvalue()
    with pytest.raises(UploadRejected) as refused:
        scrub("jpeg", data[: int(len(data) * keep)])
    assert refused.value.reason == "damaged"


@pytest.mark.parametrize("kind", ["jpeg", "png", "webp", "gif"])
def test_a_header_followed_by_garbage_is_refused(kind):
    headers = {"jpeg": b"\xff\xd8\xff\xe0", "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
               "webp": b"RIFF\x00\x01\x00\x00WEBPVP8 ", "gif": b"GIF89a"}
    with pytest.raises(UploadRejected) as refused:
        scrub(kind, headers[kind] + b"<html>" + bytes(200))
    assert refused.value.reason in {"damaged", "too_many_pixels"}


def test_a_damaged_exif_block_does_not_cost_the_reporter_the_picture():
    out = io.BytesIO()
    samples.noise((20, 10)).save(out, "WEBP", exif=b"Exif\x00\x00" + CANARY_BYTES)
    result = scrub("webp", out.getvalue())
    assert open_image(result.data).size == (20, 10) and CANARY_BYTES not in result.data


def test_pillows_own_bomb_warning_counts_as_a_refusal():
    assert Image.MAX_IMAGE_PIXELS == MAX_IMAGE_PIXELS
    with pytest.raises(UploadRejected) as refused:
        scrub("png", samples.png_bomb(9_000, 8_000), max_image_pixels=10 * MAX_IMAGE_PIXELS)
    assert refused.value.reason == "too_many_pixels"
