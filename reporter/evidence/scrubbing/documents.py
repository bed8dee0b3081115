"""PDF documents: metadata, scripts and hidden payloads removed, the file written anew by qpdf.

Why pikepdf (qpdf) rather than pypdf:

- qpdf writes a new file from the objects the document still references. Earlier revisions kept by
  incremental saves (an older title or author, text removed since), objects nothing points to any
  more and bytes hidden after the end of the file are not carried over.
- pikepdf lists every object in the file (`Pdf.objects`) and replaces a stream's raw bytes through its
  public API, which is what a scrubber needs; pypdf offers the same only through private attributes
  and has renamed the relevant parts of its API between major versions.
- Streams are copied without being decoded (measured: a 512 MiB Flate bomb inside a page passes
  through at its compressed size), so a compressed bomb does not expand here.
- Object streams (`/ObjStm`) and cross-reference streams must be inflated to read the objects in
  them: that is where a bomb can expand (measured: a 2 MB file whose object stream inflates to 2 GiB
  took 2,128 MiB and 7 s in process). qpdf's own limits are set for the whole process, like Pillow's
  pixel limit: no stream inflates past MAX_INFLATED_BYTES, no array or dictionary holds more than
  MAX_CONTAINER_ITEMS, nesting stops at qpdf's default of 499 levels and a page tree at 100. qpdf
  often only warns and goes on when a limit is hit (the objects of that stream become null), so a
  file is refused (`unsafe`) when qpdf counts a limit error or warns of one, or of memory. All
  of this runs in the sandbox (`reporter.evidence.sandbox`) besides.
- qpdf is native code reading hostile input, which weighs against it; it has been fuzzed continuously
  for years, and the input is capped at the upload size limit. Pillow, which cannot be avoided for
  images, puts native decoders in the same position.

What is removed: the document information dictionary (author, title, creator tool, dates); XMP
metadata on any object; private application data (`/PieceInfo`, `/LastModified`); page thumbnails,
which can show a page before it was redacted; author names and dates on comments; JavaScript
(`/JavaScript` name tree, `/JS`, JavaScript actions), automatic actions (`/OpenAction`, `/AA`), actions
that launch programs, submit forms or open other files, XFA forms; embedded files, which would be an
unscrubbed file of any type; and the metadata segments (EXIF, XMP, IPTC, comments) of photos embedded
as JPEG, removed without re-encoding them. The document ID is recomputed from the content. Embedded
JPEG 2000 images are left as they are, and the result says metadata may remain.
What is not removed: anything visible on the pages, hidden text under redaction boxes drawn on top of
it, and web links a reader may choose to follow.
"""

from __future__ import annotations

import io
import logging

import pikepdf
import pikepdf.settings

from reporter.evidence.scrubbing import Scrubbed, Unreadable

log = logging.getLogger(__name__)

#: The largest a single Flate stream may inflate to. Real object streams hold a few hundred objects
#: (writers split them), well under a megabyte each; 64 MiB leaves room for odd writers.
MAX_INFLATED_BYTES = 64 * 1024 * 1024
#: The most items one array or dictionary may hold (a page tree's kids, a widths array: thousands).
MAX_CONTAINER_ITEMS = 1_000_000
pikepdf.settings.set_qpdf_limits(flate_max_memory=MAX_INFLATED_BYTES,
                                 parser_max_container_size=MAX_CONTAINER_ITEMS)
#: What qpdf's warnings say when it went on past a limit (its own, or memory the sandbox refused).
_LIMIT_WARNINGS = ("limit exceeded", "bad_alloc")

#: Keys removed from every dictionary, with what the reporter is told.
_REMOVED_KEYS = {
    "/Metadata": "XMP metadata",
    "/PieceInfo": "private application data",
    "/LastModified": "private application data",
    "/Thumb": "page thumbnails",
    "/OpenAction": "scripts and automatic actions",
    "/AA": "scripts and automatic actions",
    "/JS": "scripts and automatic actions",
    "/XFA": "scripts and automatic actions",
    "/EF": "embedded files",
    "/RF": "embedded files",
    "/AF": "embedded files",
}
#: Actions that run code, launch programs, send data or open other files; emptied where they stand.
_DANGEROUS_ACTIONS = {
    "/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/GoToR", "/GoToE", "/RichMediaExecute",
    "/Rendition", "/Movie", "/Sound",
}
_NAME_TREES = {"/JavaScript": "scripts and automatic actions", "/EmbeddedFiles": "embedded files"}
#: JPEG segments that only carry metadata: APP1-APP13 and APP15 (EXIF, XMP, ICC, IPTC, ...) and COM.
#: APP0 (JFIF) and APP14 (Adobe colour transform) stay: decoders need them.
_JPEG_METADATA_MARKERS = {*range(0xE1, 0xEE), 0xEF, 0xFE}


def strip_jpeg_metadata(raw: bytes) -> bytes | None:
    """Return a JPEG without its metadata segments, pixels untouched; None if it cannot be parsed."""
    if raw[:2] != b"\xff\xd8":
        return None
    kept = [raw[:2]]
    position = 2
    while position + 4 <= len(raw):
        if raw[position] != 0xFF:
            return None
        marker = raw[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker == 0xDA:  # start of scan: entropy-coded data follows, copied as it is
            kept.append(raw[position:])
            return b"".join(kept)
        length = int.from_bytes(raw[position + 2 : position + 4], "big")
        end = position + 2 + length
        if length < 2 or end > len(raw) or 0xD0 <= marker <= 0xD9 or marker == 0x01:
            return None
        if marker not in _JPEG_METADATA_MARKERS:
            kept.append(raw[position:end])
        position = end
    return None


def _dictionaries(obj: pikepdf.Object) -> list[pikepdf.Object]:
    """Return obj and every dictionary nested directly in it (indirect ones are visited on their own)."""
    found: list[pikepdf.Object] = []
    pending = [obj]
    while pending:
        current = pending.pop()
        if isinstance(current, pikepdf.Dictionary | pikepdf.Stream):
            found.append(current)
            children = [current[key] for key in list(current.keys())]
        elif isinstance(current, pikepdf.Array):
            children = list(current)
        else:
            continue
        pending.extend(
            child for child in children
            if isinstance(child, pikepdf.Dictionary | pikepdf.Array) and not child.is_indirect
        )
    return found


def _clean_dictionary(item: pikepdf.Object, removed: set[str]) -> None:
    if str(item.get("/S", "")) in _DANGEROUS_ACTIONS:
        for key in list(item.keys()):
            del item[key]
        removed.add("scripts and automatic actions")
        return
    for key, description in _REMOVED_KEYS.items():
        if key in item:
            del item[key]
            removed.add(description)
    if str(item.get("/Type", "")) == "/Filespec" and "/Desc" in item:
        del item["/Desc"]  # the sender's description of a file whose content is gone
    if "/Rect" in item and str(item.get("/Subtype", "")) not in {"/Widget", "/Link"}:
        # A comment's /T is its author's name; on form fields (widgets) /T is the field name and stays.
        for key in ("/T", "/M", "/CreationDate"):
            if key in item:
                del item[key]
                removed.add("comment authors and dates")
    names = item.get("/Names")
    if isinstance(names, pikepdf.Dictionary):
        for key, description in _NAME_TREES.items():
            if key in names:
                del names[key]
                removed.add(description)


def _clean_image(stream: pikepdf.Object, removed: set[str]) -> bool:
    """Strip metadata segments from an embedded JPEG; return False when metadata may remain."""
    filters = stream.get("/Filter")
    if isinstance(filters, pikepdf.Array):
        filters = filters[0] if len(filters) == 1 else None
    if str(filters) == "/JPXDecode":
        return False
    if str(filters) != "/DCTDecode":
        return True  # other image encodings carry no metadata segments
    raw = stream.read_raw_bytes()
    cleaned = strip_jpeg_metadata(raw)
    if cleaned is None:
        return False
    if cleaned != raw:
        # The bytes stay DCT-encoded: the same filter, and its parameters if there were any.
        parms = stream.get("/DecodeParms")
        if isinstance(parms, pikepdf.Array):
            parms = parms[0] if len(parms) == 1 else None
        stream.write(cleaned, filter=pikepdf.Name.DCTDecode,
                     decode_parms=parms if isinstance(parms, pikepdf.Dictionary) else None)
        removed.add("photo metadata in embedded images")
    return True


def scrub_pdf(data: bytes) -> Scrubbed:
    """Return the PDF without metadata, scripts or embedded files; raise Unreadable if it cannot be read."""
    removed: set[str] = set()
    complete = True
    limits_hit = pikepdf.settings.qpdf_limit_errors()
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if "/Info" in pdf.trailer:
                del pdf.trailer["/Info"]
                removed.add("document information")
            if "/ID" in pdf.trailer:
                del pdf.trailer["/ID"]  # qpdf would keep its first half; a new one is derived from content
            for obj in pdf.objects:
                for item in _dictionaries(obj):
                    _clean_dictionary(item, removed)
                if isinstance(obj, pikepdf.Stream) and str(obj.get("/Subtype", "")) == "/Image":
                    complete = _clean_image(obj, removed) and complete
            out = io.BytesIO()
            pdf.save(
                out, stream_decode_level=pikepdf.StreamDecodeLevel.none, deterministic_id=True,
                encryption=False, preserve_pdfa=False, fix_metadata_version=False,
            )
            warnings = pdf.get_warnings()
    except pikepdf.PasswordError as exc:
        raise Unreadable("encrypted", "the PDF is protected by a password") from exc
    except Exception as exc:
        # Hostile input can make any parser fail in any way; whatever the error, the file is refused.
        log.info("PDF refused: %s", type(exc).__name__)
        raise Unreadable("damaged", f"the PDF could not be read ({type(exc).__name__})") from exc
    if pikepdf.settings.qpdf_limit_errors() != limits_hit or any(
            sign in warning for warning in warnings for sign in _LIMIT_WARNINGS):
        log.info("PDF refused: a qpdf limit was hit")
        raise Unreadable("unsafe", "the PDF expands or nests beyond the limits")
    return Scrubbed(out.getvalue(), sorted(removed), metadata_kept=not complete)
