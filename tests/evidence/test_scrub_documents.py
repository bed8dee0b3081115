"""PDFs lose metadata, scripts, automatic actions and embedded files; damaged or locked ones are refused."""

from __future__ import annotations

import io
import zlib

import pikepdf
import pytest
from PIL import Image

from reporter.evidence.inspection import UploadRejected, scrub
from reporter.evidence.scrubbing.documents import strip_jpeg_metadata
from tests.evidence import samples
from tests.evidence.samples import CANARY_BYTES

FORBIDDEN_KEYS = {"/JS", "/AA", "/OpenAction", "/Metadata", "/PieceInfo", "/Thumb", "/EF", "/AF", "/XFA"}
FORBIDDEN_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE"}


def every_dictionary(pdf: pikepdf.Pdf) -> list[pikepdf.Object]:
    found, pending = [], [pdf.trailer, *pdf.objects]
    while pending:
        current = pending.pop()
        if isinstance(current, pikepdf.Dictionary | pikepdf.Stream):
            found.append(current)
            pending.extend(current[key] for key in current.keys() if not _indirect(current[key]))
        elif isinstance(current, pikepdf.Array):
            pending.extend(item for item in current if not _indirect(item))
    return found


def _indirect(item: object) -> bool:
    return isinstance(item, pikepdf.Object) and item.is_indirect


@pytest.fixture(scope="module")
def scrubbed() -> tuple[bytes, list[str], bool]:
    original = samples.pdf_with_metadata_and_scripts()
    assert original.count(CANARY_BYTES) >= 8, "the sample must carry the canary in many places"
    result = scrub("pdf", original)
    return result.data, result.removed, result.metadata_kept


def test_document_information_and_xmp_are_gone(scrubbed):
    data, removed, kept = scrubbed
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert "/Info" not in pdf.trailer
        assert "/Metadata" not in pdf.Root
        assert not pdf.docinfo.keys()
    assert {"document information", "XMP metadata"} <= set(removed)
    assert kept is False


def test_no_script_automatic_action_or_embedded_file_remains_anywhere(scrubbed):
    data, removed, _ = scrubbed
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert not pdf.attachments
        names = pdf.Root.get("/Names", pikepdf.Dictionary())
        assert "/JavaScript" not in names and "/EmbeddedFiles" not in names
        for item in every_dictionary(pdf):
            assert not FORBIDDEN_KEYS & set(item.keys()), item
            assert str(item.get("/S", "")) not in FORBIDDEN_ACTIONS, item
    assert {"scripts and automatic actions", "embedded files", "page thumbnails"} <= set(removed)


def test_the_canary_is_in_no_byte_of_the_file_nor_of_any_decoded_stream(scrubbed):
    data, _, _ = scrubbed
    assert CANARY_BYTES not in data
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream):
                assert CANARY_BYTES not in obj.read_raw_bytes()
                if str(obj.get("/Filter", "")) != "/DCTDecode":  # photos are checked as images below
                    assert CANARY_BYTES not in obj.read_bytes()
            elif isinstance(obj, pikepdf.Dictionary | pikepdf.Array):
                assert CANARY_BYTES not in obj.unparse()


def test_comment_authors_go_but_the_pages_their_text_and_the_photo_stay(scrubbed):
    data, _, _ = scrubbed
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[0]
        assert b"Hello evidence" in page.Contents.read_bytes()
        comment = [annot for annot in page.Annots if annot.Subtype == "/Text"][0]
        assert comment.Contents == "Seen." and "/T" not in comment and "/M" not in comment
        photo_stream = page.Resources.XObject.Im0
        assert photo_stream.Filter == "/DCTDecode"
        photo = Image.open(io.BytesIO(photo_stream.read_raw_bytes()))
        photo.load()
        assert photo.size == (32, 24) and not photo.getexif() and "xmp" not in photo.info


def test_the_document_id_is_recomputed():
    original = samples.pdf_plain()
    with pikepdf.open(io.BytesIO(original)) as pdf:
        original_id = bytes(pdf.trailer.ID[0])
    with pikepdf.open(io.BytesIO(scrub("pdf", original).data)) as pdf:
        assert bytes(pdf.trailer.ID[0]) != original_id


def test_html_hidden_after_the_end_of_a_pdf_is_not_carried_over():
    polyglot = samples.pdf_plain() + b"\n<html><script>alert(1)</script></html>\n"
    result = scrub("pdf", polyglot)
    assert b"<script" not in result.data


def test_a_pdf_locked_with_a_password_is_refused():
    locked = samples.pdf_plain(encryption=pikepdf.Encryption(user="open sesame", owner="owner"))
    with pytest.raises(UploadRejected) as refused:
        scrub("pdf", locked)
    assert refused.value.reason == "encrypted"


def test_a_pdf_with_only_an_owner_password_comes_out_unencrypted():
    restricted = samples.pdf_plain(encryption=pikepdf.Encryption(user="", owner="owner"))
    with pikepdf.open(io.BytesIO(scrub("pdf", restricted).data)) as pdf:
        assert not pdf.is_encrypted


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n" + bytes(500), b"%PDF-1.4\n<html><script>alert(1)</script></html>", b"%PDF-1.7\n"],
    ids=["zeros", "html", "header-only"],
)
def test_a_damaged_pdf_is_refused(data):
    with pytest.raises(UploadRejected) as refused:
        scrub("pdf", data)
    assert refused.value.reason == "damaged"


def test_a_flate_bomb_inside_a_page_is_copied_without_being_expanded():
    pdf = pikepdf.new()
    pdf.add_blank_page()
    compressor = zlib.compressobj(9)
    bomb = b"".join(compressor.compress(bytes(1024 * 1024)) for _ in range(256)) + compressor.flush()
    stream = pikepdf.Stream(pdf, bomb)
    stream.Filter = pikepdf.Name.FlateDecode
    pdf.pages[0].Contents = pdf.make_indirect(stream)
    out = io.BytesIO()
    pdf.save(out, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    result = scrub("pdf", out.getvalue())
    assert len(result.data) < 2 * len(out.getvalue())  # 256 MiB inside, still compressed


def test_jpeg_metadata_segments_are_stripped_without_touching_the_scan():
    photo = samples.jpeg_with_metadata((32, 24))
    stripped = strip_jpeg_metadata(photo)
    assert stripped is not None and CANARY_BYTES not in stripped
    scan_start = photo.index(b"\xff\xda")
    assert stripped.endswith(photo[scan_start:])
    assert Image.open(io.BytesIO(stripped)).tobytes() == Image.open(io.BytesIO(photo)).tobytes()


@pytest.mark.parametrize("data", [b"", b"\xff\xd8", b"\xff\xd8\xff\xe1\x00", b"\xff\xd8\x00\x00\x00\x00",
                                  b"\xff\xd8\xff\xe1\xff\xff" + bytes(10)])
def test_a_jpeg_that_cannot_be_parsed_is_reported_not_guessed(data):
    assert strip_jpeg_metadata(data) is None
