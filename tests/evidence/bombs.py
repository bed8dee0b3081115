"""Hostile files built in the tests: small uploads that expand, nest or recurse far beyond their size.

Every generator builds its file in well under a second (compressed streams repeat one fully flushed
deflate block instead of compressing gigabytes) and stays under the 10 MiB upload limit.
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache

from mutagen.ogg import OggPage
from PIL import Image

from tests.evidence import samples

MiB = 1024 * 1024


def _repeated_deflate(head: bytes, block: bytes, count: int) -> bytes:
    """Return a zlib stream of `head` followed by `block` `count` times, built from one compressed block."""
    compressor = zlib.compressobj(9)
    first = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    checksum = zlib.adler32(head)
    for _ in range(count):
        checksum = zlib.adler32(block, checksum)
    return first + again * count + b"\x03\x00" + checksum.to_bytes(4, "big")


def _pdf_with_xref_stream(objects: dict[int, bytes], packed: dict[int, tuple[int, int]], root: int) -> bytes:
    """Return a PDF of numbered objects (bodies given) and objects packed in object streams (number ->
    (stream, index)), indexed by a cross-reference stream."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number, body in sorted(objects.items()):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = max([*objects, *packed]) + 1
    offsets[xref] = len(out)
    rows = [b"\x00" + bytes(4) + b"\xff\xff"]
    for number in range(1, xref + 1):
        if number in packed:
            stream, index = packed[number]
            rows.append(b"\x02" + stream.to_bytes(4, "big") + index.to_bytes(2, "big"))
        else:
            rows.append(b"\x01" + offsets[number].to_bytes(4, "big") + b"\x00\x00")
    table = b"".join(rows)
    out += (b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root %d 0 R /Length %d >>\nstream\n"
            % (xref, xref + 1, root, len(table)) + table + b"\nendstream\nendobj\n")
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref]
    return bytes(out)


@cache
def pdf_object_stream_bomb(expanded_mib: int = 2048) -> bytes:
    """Return a PDF of about 2 MB whose one object stream (/ObjStm) inflates to `expanded_mib` MiB.

    The bomb is in the cross-reference machinery, not in page content: a reader must inflate the
    whole object stream to find object 5, which the catalog references.
    """
    head = b"5 0 "
    stream = _repeated_deflate(head + b"null", b" " * MiB, expanded_mib)
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R /Extra 5 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        4: b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
           % (len(head), len(stream)) + stream + b"\nendstream",
    }
    return _pdf_with_xref_stream(objects, {5: (4, 0)}, root=1)


@cache
def pdf_nested_objects(depth: int = 100_000) -> bytes:
    """Return a PDF whose page tree nests `depth` /Pages nodes, each the only kid of the one before."""
    first = 2
    objects = {1: b"<< /Type /Catalog /Pages %d 0 R >>" % first}
    last = first + depth - 1
    for number in range(first, last + 1):
        parent = b" /Parent %d 0 R" % (number - 1) if number > first else b""
        objects[number] = b"<< /Type /Pages /Kids [%d 0 R] /Count 1%s >>" % (number + 1, parent)
    objects[last + 1] = b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 200 200] >>" % last
    return _pdf_with_xref_stream(objects, {}, root=1)


def pdf_nested_arrays(depth: int = 100_000) -> bytes:
    """Return a PDF whose catalog holds one array nested `depth` levels deep: [[[[ ... ]]]]."""
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R /Deep " + b"[" * depth + b"]" * depth + b" >>",
        2: b"<< /Type /Pages /Kids [] /Count 0 >>",
    }
    return _pdf_with_xref_stream(objects, {}, root=1)


def png_at_pixels(pixels: int) -> bytes:
    """Return a 1-bit PNG of exactly `pixels` pixels (a few hundred KB), 10,000 pixels wide."""
    assert pixels % 10_000 == 0
    return samples.png_bomb(10_000, pixels // 10_000)


def png_many_frames(frames: int = 100_000, canvas: int = 1000) -> bytes:
    """Return an animated PNG (APNG) with a canvas x canvas first frame and `frames` - 1 more of one pixel."""
    chunk = samples._png_chunk
    header = struct.pack(">IIBBBBB", canvas, canvas, 1, 0, 0, 0, 0)
    full = zlib.compress(bytes(1 + (canvas + 7) // 8) * canvas, 9)
    tiny = zlib.compress(b"\x00\x00", 9)
    parts = [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", header), chunk(b"acTL", struct.pack(">II", frames, 0)),
             chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, canvas, canvas, 0, 0, 1, 100, 0, 0)),
             chunk(b"IDAT", full)]
    for n in range(1, frames):
        parts.append(chunk(b"fcTL", struct.pack(">IIIIIHHBB", 2 * n - 1, 1, 1, 0, 0, 1, 100, 0, 0)))
        parts.append(chunk(b"fdAT", struct.pack(">I", 2 * n) + tiny))
    parts.append(chunk(b"IEND", b""))
    return b"".join(parts)


def jpeg_recursive_mpo(entries: int = 4000) -> bytes:
    """Return a small JPEG whose multi-picture index (MPF) lists `entries` images, each the file itself."""
    out = io.BytesIO()
    Image.new("RGB", (1024, 768), "gray").save(out, "JPEG")
    jpeg = out.getvalue()
    size = len(jpeg) + 16 * entries + 64
    rows = b"".join(struct.pack(">IIIHH", 0x20030000 if n == 0 else 0, size, 0, 0, 0) for n in range(entries))
    ifd = struct.pack(">H", 3)
    ifd += struct.pack(">HHI4s", 0xB000, 7, 4, b"0100")
    ifd += struct.pack(">HHII", 0xB001, 4, 1, entries)
    ifd += struct.pack(">HHII", 0xB002, 7, len(rows), 8 + 2 + 3 * 12 + 4)
    ifd += b"\x00\x00\x00\x00"
    body = b"MPF\x00" + b"MM\x00\x2a\x00\x00\x00\x08" + ifd + rows
    segment = b"\xff\xe2" + struct.pack(">H", len(body) + 2) + body
    return jpeg[:2] + segment + jpeg[2:]


def gif_many_frames(frames: int = 300_000, canvas: int = 1000) -> bytes:
    """Return a GIF with a canvas x canvas screen and `frames` frames of one pixel each."""
    screen = b"GIF89a" + struct.pack("<HHBBB", canvas, canvas, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = (b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # graphic control: 1/100 s
             + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
             + b"\x02\x02\x44\x01\x00")  # LZW minimum code size 2, one sub-block: clear, 0, end
    return screen + frame * frames + b"\x3b"


def webp_many_frames(frames: int = 200_000, canvas: int = 4000) -> bytes:
    """Return an animated WebP with a canvas x canvas canvas and `frames` tiny frames."""
    out = io.BytesIO()
    Image.new("RGB", (1, 1)).save(out, "WEBP", lossless=True)
    vp8l = out.getvalue()[12:]  # the VP8L chunk of a 1x1 image
    anmf = b"ANMF" + struct.pack("<I", 16 + len(vp8l)) + bytes(6) + bytes(3) + bytes(3) + b"\x01\x00\x00\x00"
    frame = anmf + vp8l + (b"\x00" if len(vp8l) % 2 else b"")
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x02\x00\x00\x00" + (canvas - 1).to_bytes(3, "little") * 2
    anim = b"ANIM" + struct.pack("<I", 6) + bytes(4) + b"\x00\x00"
    body = b"WEBP" + vp8x + anim + frame * frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


def text_nested(depth: int = 500_000) -> bytes:
    """Return "text" of HTML elements nested `depth` deep: <div><div>... (markup, so never plain text)."""
    return b"Statement\n" + b"<div>" * depth + b"</div>" * depth


def _id3_frame(name: bytes, payload: bytes) -> bytes:
    return name + struct.pack(">I", len(payload)) + b"\x00\x00" + payload


def mp3_nested_chapters(depth: int = 100_000) -> bytes:
    """Return an MP3 whose ID3v2.4 tag holds a chapter (CHAP) nested in a chapter, `depth` deep."""
    inner = _id3_frame(b"TIT2", b"\x03x")
    heads, size = [], len(inner)
    for level in reversed(range(depth)):  # from the innermost chapter out, each header wraps the rest
        element = b"c%d\x00" % level + bytes(16)
        size += len(element)
        heads.append(b"CHAP" + struct.pack(">I", size) + b"\x00\x00" + element)
        size += 10
    frame = b"".join(reversed(heads)) + inner
    synchsafe = bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x04\x00\x00" + synchsafe + frame + samples.mp3_plain()


def mp4_nested_boxes(depth: int = 100_000, brand: bytes = b"isom") -> bytes:
    """Return an MP4 whose movie box holds `moov` boxes nested `depth` deep."""
    ftyp = samples._box(b"ftyp", brand + b"\x00\x00\x00\x00" + brand + b"mp42")
    size = 8 * depth
    boxes = b"".join(struct.pack(">I", size - 8 * level) + b"moov" for level in range(depth))
    return ftyp + boxes + samples._box(b"mdat", bytes(64))


def ogg_many_comments(count: int = 1_300_000) -> bytes:
    """Return an OGG Vorbis file whose comment header holds `count` tiny comments across many pages."""
    ident = b"\x01vorbis" + struct.pack("<IBIiiiBB", 0, 1, 44100, 0, 128000, 0, 0xB8, 1)
    comments = b"".join(struct.pack("<I", 3) + b"a=b" for _ in range(count))
    comment = b"\x03vorbis" + struct.pack("<I", 0) + struct.pack("<I", count) + comments + b"\x01"
    setup = b"\x05vorbis" + bytes(40)
    first = samples._ogg_page([ident], 0, 0, first=True)
    pages = OggPage.from_packets([comment, setup], sequence=1)
    for page in pages:
        page.serial = 0x5EED
    pages[-1].last = True
    return first + b"".join(page.write() for page in pages)


#: One hostile file per accepted kind (and the PDF ones the issue names), by name: (kind, generator).
BY_KIND = {
    "pdf-object-stream": ("pdf", pdf_object_stream_bomb),
    "pdf-nested-objects": ("pdf", pdf_nested_objects),
    "pdf-nested-arrays": ("pdf", pdf_nested_arrays),
    "jpeg-recursive-mpo": ("jpeg", jpeg_recursive_mpo),
    "png-many-frames": ("png", png_many_frames),
    "gif-many-frames": ("gif", gif_many_frames),
    "webp-many-frames": ("webp", webp_many_frames),
    "text-nested": ("text", text_nested),
    "mp3-nested-chapters": ("mp3", mp3_nested_chapters),
    "ogg-many-comments": ("ogg", ogg_many_comments),
    "m4a-nested-boxes": ("m4a", lambda: mp4_nested_boxes(brand=b"M4A ")),
    "mp4-nested-boxes": ("mp4", mp4_nested_boxes),
}

