"""The kinds of file a reporter may attach, recognised by their content, never by name or declared type.

A browser's declared type and the file name are whatever the sender chose, so neither is read. The
first bytes decide, and every signature is checked strictly enough that a file of another kind does not
pass by accident: MP3 without an ID3 tag needs two consecutive valid frame headers, OGG must announce an
audio codec in its first page, MP4 must name a known brand in its `ftyp` box, WebP must carry a VP8
chunk. Passing the sniff is not the end: `reporter.evidence.scrub` then parses the whole file as that
kind and refuses it if it is not one.

Plain text is accepted when it is valid UTF-8 without NUL or control characters other than tab, line
feed and carriage return, and without anything that looks like markup (an HTML or SVG element that
renders or runs script, a `<!` declaration or comment, a `<?` processing instruction). HTML, SVG and XML
are therefore refused, even when named `.txt` or `.jpg`; so is a PHP script. Angle brackets as people
write them in prose or in e-mail headers (`a < b`, `<ana@example.org>`) are fine.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

SNIFF_BYTES = 4096


@dataclass(frozen=True)
class Kind:
    """An accepted kind of file: how it is named to people, and how it is served."""

    name: str
    label: str
    family: str
    media_type: str
    extension: str


KINDS = {
    kind.name: kind
    for kind in (
        Kind("jpeg", "JPEG", "images", "image/jpeg", ".jpg"),
        Kind("png", "PNG", "images", "image/png", ".png"),
        Kind("webp", "WebP", "images", "image/webp", ".webp"),
        Kind("gif", "GIF", "images", "image/gif", ".gif"),
        Kind("pdf", "PDF", "documents", "application/pdf", ".pdf"),
        Kind("text", "plain text (UTF-8)", "text", "text/plain; charset=utf-8", ".txt"),
        Kind("mp3", "MP3", "audio", "audio/mpeg", ".mp3"),
        Kind("ogg", "OGG", "audio", "audio/ogg", ".ogg"),
        Kind("m4a", "M4A", "audio", "audio/mp4", ".m4a"),
        Kind("mp4", "MP4", "video", "video/mp4", ".mp4"),
    )
}


def accepted_kinds() -> str:
    """Return the accepted kinds in one line a reporter can read, grouped by family."""
    families: dict[str, list[str]] = {}
    for kind in KINDS.values():
        families.setdefault(kind.family, []).append(kind.label)
    return "; ".join(
        f"{family} ({', '.join(labels)})" if len(labels) > 1
        else labels[0] if family == "text" else f"{labels[0]} {family}"
        for family, labels in families.items()
    )


_MP4_AUDIO_BRANDS = {b"M4A ", b"M4B "}
_MP4_VIDEO_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash",
}
_OGG_AUDIO_CODECS = (b"\x01vorbis", b"OpusHead", b"\x7fFLAC", b"Speex   ")
#: MPEG audio layer III bit rates (kbit/s) by bit-rate index, for MPEG-1 and for MPEG-2/2.5.
_MP3_BITRATES = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_TEXT_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Every byte but the C0 controls and DEL that _TEXT_CONTROLS refuses: deleting these from UTF-8 text
#: leaves exactly its C0 controls (ASCII bytes never occur inside a multi-byte sequence), in C, at
#: memory speed. The C1 controls (U+0080..U+009F, bytes C2 80..C2 9F) are searched only when C2 occurs.
_NOT_C0_CONTROL = bytes(b for b in range(256) if not (b <= 0x08 or b in (0x0B, 0x0C) or 0x0E <= b <= 0x1F
                                                      or b == 0x7F))
_MARKUP = re.compile(
    r"<\s*(?:[!?]|/?\s*(?:a|applet|audio|base|body|button|canvas|details|dialog|div|embed|form|frame|"
    r"frameset|head|html|iframe|image|img|input|isindex|link|marquee|math|meta|noscript|object|p|"
    r"picture|plaintext|portal|script|select|source|span|style|svg|table|template|textarea|title|"
    r"video|xml|xmp|xsl)\b)",
    re.IGNORECASE,
)


def _mp3_frame_length(header: bytes) -> int | None:
    """Return the length of the MPEG audio layer III frame starting with `header`, or None if invalid."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version = (header[1] >> 3) & 0b11  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5, 1: reserved
    layer = (header[1] >> 1) & 0b11  # 1: layer III
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 0b11
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    bitrate = _MP3_BITRATES[1 if version == 3 else 2][bitrate_index] * 1000
    sample_rate = _MP3_SAMPLE_RATES[version][rate_index]
    padding = (header[2] >> 1) & 1
    return (144 if version == 3 else 72) * bitrate // sample_rate + padding


def _is_mp3(head: bytes) -> bool:
    if head[:3] == b"ID3":
        return len(head) >= 10 and 2 <= head[3] <= 4 and head[4] != 0xFF and all(b < 0x80 for b in head[6:10])
    first = _mp3_frame_length(head[:4])
    return first is not None and _mp3_frame_length(head[first : first + 4]) is not None


def _mp4_kind(head: bytes) -> str | None:
    if head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[:4], "big")
    if size < 16 or size > len(head) or size % 4:
        return None
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, size, 4)]
    for brand in brands:
        if brand in _MP4_AUDIO_BRANDS:
            return "m4a"
        if brand in _MP4_VIDEO_BRANDS:
            return "mp4"
    return None


def _is_ogg_audio(head: bytes) -> bool:
    if len(head) < 27 or head[:5] != b"OggS\x00" or not head[5] & 0x02:  # version 0, first page of a stream
        return False
    packet_start = 27 + head[26]
    return head[packet_start:].startswith(_OGG_AUDIO_CODECS)


def text_problem(data: bytes, *, complete: bool = True) -> str | None:
    """Return why `data` is not plain text ("not_text" or "markup"), or None; `complete=False` for a head."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(data, final=complete)
    except UnicodeDecodeError:
        return "not_text"
    if data.translate(None, _NOT_C0_CONTROL) or (b"\xc2" in data and _TEXT_CONTROLS.search(text)):
        return "not_text"
    if "<" in text and _MARKUP.search(text):
        return "markup"
    return None


def sniff(head: bytes) -> str | None:
    """Return the kind of file that starts with `head` (its first SNIFF_BYTES), or None if not accepted."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and head[12:16] in (b"VP8 ", b"VP8L", b"VP8X"):
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head.startswith(b"%PDF-1.") or head.startswith(b"%PDF-2."):
        return "pdf"
    if _is_ogg_audio(head):
        return "ogg"
    kind = _mp4_kind(head)
    if kind:
        return kind
    if _is_mp3(head):
        return "mp3"
    if head and text_problem(head, complete=len(head) < SNIFF_BYTES) is None:
        return "text"
    return None
