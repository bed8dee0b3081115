"""Sample files built in the tests themselves, each carrying CANARY in every piece of metadata it has."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib

import pikepdf
from mutagen import apev2
from mutagen._vorbis import VCommentDict
from mutagen.id3 import COMM, ID3, TDRC, TIT2, TPE1
from mutagen.ogg import OggPage
from PIL import ExifTags, Image, ImageCms
from PIL.PngImagePlugin import PngInfo

CANARY = "Canary-7f3a9e"
CANARY_BYTES = CANARY.encode()
XMP = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>{CANARY}</dc:creator></x:xmpmeta>'.encode()


def exif_with_gps(orientation: int | None = None) -> Image.Exif:
    """Return EXIF naming a device, a time and a GPS position, as a phone camera writes it."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CANARY
    exif[ExifTags.Base.Model] = "Phone 12"
    exif[ExifTags.Base.DateTime] = "2024:03:01 14:22:00"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (41.0, 43.0, 12.5),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (44.0, 47.0, 31.0),
    }
    return exif


def _iptc_segment() -> bytes:
    dataset = b"\x1c\x02\x50" + struct.pack(">H", len(CANARY_BYTES)) + CANARY_BYTES  # 2:80 By-line
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(dataset)) + dataset
    body = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(body) + 2) + body


def noise(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Return an image of random pixels (so it does not compress to nothing)."""
    channels = len(mode)
    return Image.frombytes(mode, size, os.urandom(size[0] * size[1] * channels))


def jpeg_with_metadata(size: tuple[int, int] = (64, 48), *, orientation: int | None = None) -> bytes:
    """Return a JPEG with EXIF (GPS, device, time), XMP, IPTC and a comment."""
    out = io.BytesIO()
    noise(size).save(out, "JPEG", quality=90, exif=exif_with_gps(orientation), xmp=XMP,
                     comment=CANARY_BYTES)
    data = out.getvalue()
    return data[:2] + _iptc_segment() + data[2:]


def png_with_metadata(mode: str = "RGBA") -> bytes:
    """Return a PNG with text chunks, XMP, EXIF and an ICC profile."""
    info = PngInfo()
    info.add_text("Author", CANARY)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    noise((40, 30), mode).save(out, "PNG", pnginfo=info, exif=exif_with_gps(), icc_profile=icc)
    return out.getvalue()


def webp_with_metadata() -> bytes:
    """Return a WebP with EXIF and XMP chunks."""
    out = io.BytesIO()
    noise((40, 30)).save(out, "WEBP", exif=exif_with_gps(), xmp=XMP, quality=90)
    return out.getvalue()


def animated_gif() -> bytes:
    """Return a three-frame looping GIF with a comment."""
    frames = [Image.new("RGB", (20, 20), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=[100, 200, 300], loop=0,
                   comment=CANARY_BYTES)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """Return a valid 1-bit PNG of width x height zero pixels: a few hundred KB that decode to gigabytes.

    The compressed stream repeats one fully flushed deflate block, so building it takes a fraction of
    a second instead of compressing hundreds of megabytes.
    """
    rows_per_block = 1000
    block = bytes(1 + (width + 7) // 8) * rows_per_block
    compressor = zlib.compressobj(9)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    blocks = height // rows_per_block
    checksum = 1
    for _ in range(blocks):
        checksum = zlib.adler32(block, checksum)
    idat = first + again * (blocks - 1) + b"\x03\x00" + checksum.to_bytes(4, "big")
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def zip_bomb(megabytes: int = 64) -> bytes:
    """Return a zip archive of one member of zeros, a thousand times smaller than its content."""
    out = io.BytesIO()
    zeros = bytes(1024 * 1024)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("word/document.xml", "w") as member:
            for _ in range(megabytes):
                member.write(zeros)
    return out.getvalue()


def _mp3_frames(count: int = 40) -> bytes:
    header = bytes([0xFF, 0xFB, 0x90, 0x64])  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417 bytes a frame
    return (header + bytes(413)) * count


def mp3_with_tags() -> bytes:
    """Return an MP3 with ID3v2 (title, artist, comment, date), ID3v1 and APEv2 tags."""
    out = io.BytesIO(_mp3_frames())
    tags = ID3()
    tags.add(TIT2(encoding=3, text=CANARY))
    tags.add(TPE1(encoding=3, text=CANARY))
    tags.add(COMM(encoding=3, lang="eng", desc="", text=CANARY))
    tags.add(TDRC(encoding=3, text="2024-03-01"))
    tags.save(out, v1=2)
    ape = apev2.APEv2()
    ape["Comment"] = CANARY
    ape.save(out)
    return out.getvalue()


def mp3_plain() -> bytes:
    """Return an MP3 without any tag, recognised by its frame headers alone."""
    return _mp3_frames()


def _ogg_page(packets: list[bytes], sequence: int, position: int, *, first: bool = False,
              last: bool = False, serial: int = 0x5EED) -> bytes:
    page = OggPage()
    page.serial, page.sequence, page.position = serial, sequence, position
    page.first, page.last, page.packets = first, last, packets
    return page.write()


def ogg_vorbis_with_tags(*, second_stream: bool = False) -> bytes:
    """Return an OGG Vorbis file whose comment header carries a title and a location."""
    ident = b"\x01vorbis" + struct.pack("<IBIiiiBB", 0, 1, 44100, 0, 128000, 0, 0xB8, 1)
    comments = VCommentDict()
    comments["title"] = [CANARY]
    comments["location"] = [CANARY]
    comment = b"\x03vorbis" + comments.write()
    setup = b"\x05vorbis" + bytes(40)
    data = (_ogg_page([ident], 0, 0, first=True) + _ogg_page([comment, setup], 1, 0)
            + _ogg_page([bytes(200)], 2, 44100, last=True))
    if second_stream:
        data += _ogg_page([ident], 0, 0, first=True, serial=7) + _ogg_page([comment, setup], 1, 0, serial=7)
    return data


def _box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full_box(kind: bytes, payload: bytes) -> bytes:
    return _box(kind, b"\x00\x00\x00\x00" + payload)


LOCATION = b"+41.7151+044.8271/"


def mp4_with_tags(major_brand: bytes = b"isom") -> bytes:
    """Return an MP4 (or M4A) with an iTunes-style title and a phone's recording location atom."""
    ftyp = _box(b"ftyp", major_brand + b"\x00\x00\x00\x00" + major_brand + b"mp42")
    mvhd = _full_box(b"mvhd", struct.pack(">IIII", 3700000000, 3700000000, 1000, 5000) + bytes(80))
    handler = _full_box(b"hdlr", b"\x00\x00\x00\x00mdirappl" + bytes(9))
    title = _box(b"\xa9nam", _box(b"data", struct.pack(">II", 1, 0) + CANARY_BYTES))
    meta = _full_box(b"meta", handler + _box(b"ilst", title))
    location = _box(b"\xa9xyz", struct.pack(">HH", len(LOCATION), 0) + LOCATION)
    moov = _box(b"moov", mvhd + _box(b"udta", meta + location))
    return ftyp + moov + _box(b"mdat", bytes(256))


def pdf_with_metadata_and_scripts() -> bytes:
    """Return a PDF carrying metadata, scripts, automatic actions, an embedded file and a photo with EXIF.

    Streams are left uncompressed so that the canary could be found in the raw bytes of the output.
    """
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0]
    pdf.docinfo["/Author"] = CANARY
    pdf.docinfo["/Title"] = CANARY
    pdf.docinfo["/Creator"] = CANARY
    with pdf.open_metadata(set_pikepdf_as_editor=False) as xmp:
        xmp["dc:creator"] = [CANARY]
    script = pikepdf.String(f"app.alert('{CANARY}')")
    pdf.Root.OpenAction = pikepdf.Dictionary(Type=pikepdf.Name.Action, S=pikepdf.Name.JavaScript, JS=script)
    pdf.Root.AA = pikepdf.Dictionary(WC=pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=script))
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([
            pikepdf.String("init"),
            pdf.make_indirect(pikepdf.Dictionary(
                S=pikepdf.Name.JavaScript, JS=pdf.make_stream(f"app.alert('{CANARY}')".encode()),
            )),
        ])),
    )
    page.AA = pikepdf.Dictionary(O=pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=script))
    launch = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 50, 50],
        A=pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("calc.exe")),
    )
    comment = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Text, Rect=[60, 60, 80, 80],
        T=pikepdf.String(CANARY), M=pikepdf.String("D:20240301142200Z"), Contents=pikepdf.String("Seen."),
    )
    page.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(launch), pdf.make_indirect(comment)]))
    page.PieceInfo = pikepdf.Dictionary(App=pikepdf.Dictionary(Private=pikepdf.String(CANARY)))
    page.Thumb = pdf.make_stream(CANARY_BYTES)
    pdf.attachments["notes.txt"] = pikepdf.AttachedFileSpec(pdf, CANARY_BYTES, description=CANARY)
    photo = pikepdf.Stream(pdf, jpeg_with_metadata((32, 24)))
    photo.Type, photo.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    photo.Width, photo.Height, photo.BitsPerComponent = 32, 24, 8
    photo.ColorSpace, photo.Filter = pikepdf.Name.DeviceRGB, pikepdf.Name.DCTDecode
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=pdf.make_indirect(photo)))
    page.Contents = pdf.make_stream(
        b"q 32 0 0 24 10 10 cm /Im0 Do Q BT /F1 12 Tf 20 150 Td (Hello evidence) Tj ET"
    )
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return out.getvalue()


def pdf_plain(*, encryption: pikepdf.Encryption | None = None) -> bytes:
    """Return a one-page PDF with a line of text, optionally encrypted."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.pages[0].Contents = pdf.make_stream(b"BT /F1 12 Tf 20 150 Td (Hello evidence) Tj ET")
    out = io.BytesIO()
    pdf.save(out, encryption=encryption or False)
    return out.getvalue()
