"""Images (JPEG, PNG, WebP, GIF): decoded, then encoded again from their pixels alone.

Re-encoding rather than deleting known tags: whatever a camera or an editor stored beside the pixels
(EXIF with GPS position, device and time; maker notes and embedded thumbnails; XMP; IPTC; comments;
PNG text chunks; secondary images; anything hidden after the end of the image, as in a JPEG/HTML
polyglot) is simply never written again, including kinds of metadata nobody listed. What rendering
needs is carried over and nothing more: the EXIF orientation is applied to the pixels, colours are
converted to sRGB so the ICC profile (which may name a device or a person's calibration) can go,
transparency and animation timing stay. A JPEG that needs neither rotation nor colour conversion keeps
its quantisation tables, so it loses no further quality.

Decompression bombs: Pillow reads the dimensions from the header before it decodes a single pixel. An
image above MAX_IMAGE_PIXELS (or animation frames adding up to more) is refused at that point, so a
50,000 x 50,000 PNG of a few hundred kilobytes never gets its 2.5 GB allocated. Pillow's own check is
set to the same limit (process-wide: every image this application decodes comes from a reporter) and
its warning is raised as an error, a second net under the first (warning filters are process-wide
state; the first check does not depend on them).

Pillow logs the value of every EXIF tag it parses at DEBUG level: GPS positions and device names would
reach the logs of an installation debugging something else. Its loggers are therefore held at INFO.

What this does not do: remove what is visible in the picture itself (faces, street signs, reflections),
or hide patterns in the pixels such as a camera sensor's noise fingerprint.
"""

from __future__ import annotations

import io
import logging
import warnings
from typing import Any

from PIL import ExifTags, Image, ImageCms, ImageFile

from reporter.evidence.scrubbing import Scrubbed, Unreadable

log = logging.getLogger(__name__)
logging.getLogger("PIL").setLevel(logging.INFO)

MAX_IMAGE_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

_PILLOW_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF"}
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
#: What Pillow found beside the pixels, in words a reporter understands.
_DESCRIBED = {
    "exif": "EXIF (location, camera, time, thumbnail)",
    "xmp": "XMP",
    "XML:com.adobe.xmp": "XMP",
    "photoshop": "IPTC",
    "comment": "comments",
    "icc_profile": "colour profile (colours converted to sRGB)",
    "mp": "secondary images",
}


def _check_pixels(img: Image.Image, max_pixels: int) -> int:
    frames = int(getattr(img, "n_frames", 1))
    if img.width * img.height * frames > max_pixels:
        raise Unreadable("too_many_pixels", f"{img.width}x{img.height}x{frames} is above {max_pixels} pixels")
    return frames


def _to_srgb(frame: Image.Image, icc_profile: bytes) -> Image.Image:
    """Return the frame converted from its ICC profile to sRGB, or unchanged if that cannot be done."""
    if frame.mode not in {"RGB", "RGBA", "CMYK", "L"}:
        return frame
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        target = ImageCms.createProfile("sRGB")
        mode = "RGBA" if frame.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(frame, source, target, outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        log.info("colour profile could not be applied; dropped without conversion")
        return frame
    return converted if converted is not None else frame


def _orientation(img: Image.Image) -> Image.Transpose | None:
    """Return the turn the EXIF orientation asks for; a damaged EXIF block (dropped anyway) asks none."""
    try:
        return _ORIENTATION.get(img.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:  # Pillow raises many kinds of error for a malformed EXIF block
        return None


def _clean_frames(img: Image.Image, frames: int) -> tuple[list[Image.Image], list[int]]:
    """Return every frame as pixels only (oriented, sRGB, transparency kept) and their durations."""
    orientation = _orientation(img)
    icc_profile = img.info.get("icc_profile")
    cleaned: list[Image.Image] = []
    durations: list[int] = []
    for index in range(frames):
        img.seek(index)
        img.load()
        durations.append(int(img.info.get("duration", 0)))
        transparency = img.info.get("transparency")
        frame = img if frames == 1 else img.copy()
        if orientation is not None:
            frame = frame.transpose(orientation)
        if icc_profile:
            frame = _to_srgb(frame, icc_profile)
        frame.info = {} if transparency is None else {"transparency": transparency}
        cleaned.append(frame)
    return cleaned, durations


def _found(img: Image.Image) -> list[str]:
    found = {text for key, text in _DESCRIBED.items() if img.info.get(key)}
    if getattr(img, "text", None):
        found.add("text chunks")
    return sorted(found)


def _encode(
    kind: str, frames: list[Image.Image], durations: list[int], *, loop: Any, lossless: bool
) -> bytes:
    out = io.BytesIO()
    first, rest = frames[0], frames[1:]
    options: dict[str, Any] = {}
    if kind == "jpeg":
        untouched = isinstance(first, ImageFile.ImageFile) and first.format in {"JPEG", "MPO"}
        options = {"quality": "keep", "subsampling": "keep"} if untouched else {"quality": 95}
    elif kind == "webp":
        options = {"lossless": lossless, "quality": 90}
    if rest:
        options.update(save_all=True, append_images=rest, duration=durations)
        if loop is not None:
            options["loop"] = loop
    first.save(out, format=_PILLOW_FORMAT[kind], **options)
    return out.getvalue()


def scrub_image(kind: str, data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> Scrubbed:
    """Return the image encoded again from its pixels alone; raise Unreadable for bombs and damage."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[kind]]) as img:
                frames = _check_pixels(img, max_pixels)
                found = _found(img)
                loop = img.info.get("loop")
                cleaned, durations = _clean_frames(img, frames)
                lossless = kind == "webp" and data[12:16] == b"VP8L"
                encoded = _encode(kind, cleaned, durations, loop=loop, lossless=lossless)
        except Unreadable:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise Unreadable("too_many_pixels", str(exc)) from exc
        except Exception as exc:
            # Hostile input can make any parser fail in any way; whatever the error, the file is refused.
            log.info("image refused: %s", type(exc).__name__)
            raise Unreadable("damaged", f"the image could not be decoded ({type(exc).__name__})") from exc
    return Scrubbed(encoded, found)
