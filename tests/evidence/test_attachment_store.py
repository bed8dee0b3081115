"""The attachment store: server-made names only, ciphertext only, atomic writes, orphan checks (F01, F06)."""

from __future__ import annotations

import io
import os
import stat
import time

import pytest

from reporter.crypto import CiphertextInvalid, aead, chunks
from reporter.evidence.store import AttachmentIdInvalid, AttachmentStore
from reporter.models.base import new_id


@pytest.fixture
def store(tmp_path) -> AttachmentStore:
    return AttachmentStore.in_instance(tmp_path)


def ciphertext(key: bytes, file_id: str, plaintext: bytes) -> bytes:
    sink = io.BytesIO()
    with chunks.EncryptingWriter(sink, key, file_id=file_id) as writer:
        writer.write(plaintext)
    return sink.getvalue()


def put(store: AttachmentStore, attachment_id: str, data: bytes) -> None:
    with store.create(attachment_id) as sink:
        sink.write(data)


def test_a_written_file_reads_back_under_its_id_with_owner_only_permissions(store, tmp_path):
    key, attachment_id = aead.new_key(), new_id()
    put(store, attachment_id, ciphertext(key, attachment_id, b"evidence"))
    with store.open(attachment_id) as source:
        assert b"".join(chunks.decrypt_chunks(source, key, file_id=attachment_id)) == b"evidence"
    assert store.root == tmp_path / "attachments"
    assert os.listdir(store.root) == [attachment_id]
    assert stat.S_IMODE(os.stat(store.root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(store.path_of(attachment_id)).st_mode) == 0o600
    assert store.ids() == {attachment_id} and store.exists(attachment_id)


@pytest.mark.parametrize(
    "attachment_id",
    ["../../app.py", "..\\..\\x", "a\x00.png", "CON", "", "A" * 32, "a" * 31, "a" * 33, "g" * 32,
     "a" * 32 + "\n", "/etc/passwd", "." * 32],
)
def test_anything_but_a_server_made_id_is_refused_as_a_name(store, attachment_id):
    with pytest.raises(AttachmentIdInvalid):
        store.path_of(attachment_id)
    with pytest.raises(AttachmentIdInvalid), store.create(attachment_id):
        pass
    with pytest.raises(AttachmentIdInvalid):
        store.open(attachment_id)


def test_a_planted_symbolic_link_cannot_lead_the_store_outside_its_folder(store, tmp_path):
    attachment_id = new_id()
    store.root.mkdir()
    (tmp_path / "secret").write_text("outside")
    os.symlink(tmp_path / "secret", store.root / attachment_id)
    with pytest.raises(AttachmentIdInvalid):
        store.open(attachment_id)


def test_plaintext_is_refused_and_leaves_nothing_behind(store):
    with pytest.raises(ValueError, match="encrypted attachments only"):
        put(store, new_id(), b"\xff\xd8\xff a plaintext photo")
    assert os.listdir(store.root) == []


def test_an_interrupted_write_leaves_no_file_and_no_temporary(store):
    attachment_id = new_id()
    with pytest.raises(ConnectionError), store.create(attachment_id) as sink:
        sink.write(chunks.MAGIC + bytes(100))
        raise ConnectionError("client went away")
    assert os.listdir(store.root) == [] and not store.exists(attachment_id)


def test_an_existing_attachment_is_never_replaced(store):
    key, attachment_id = aead.new_key(), new_id()
    first = ciphertext(key, attachment_id, b"first")
    put(store, attachment_id, first)
    with pytest.raises(FileExistsError):
        put(store, attachment_id, ciphertext(key, attachment_id, b"second"))
    assert store.path_of(attachment_id).read_bytes() == first
    assert os.listdir(store.root) == [attachment_id]


def test_a_corrupted_chunk_on_disk_fails_closed(store):
    key, attachment_id = aead.new_key(), new_id()
    put(store, attachment_id, ciphertext(key, attachment_id, b"x" * 100_000))
    path = store.path_of(attachment_id)
    damaged = bytearray(path.read_bytes())
    damaged[chunks.HEADER_BYTES + 70_000] ^= 0x40  # inside the second chunk
    path.write_bytes(bytes(damaged))
    with store.open(attachment_id) as source, pytest.raises(CiphertextInvalid, match="chunk 1"):
        for _ in chunks.decrypt_chunks(source, key, file_id=attachment_id):
            pass


def test_delete_removes_the_file(store):
    key, attachment_id = aead.new_key(), new_id()
    put(store, attachment_id, ciphertext(key, attachment_id, b"gone"))
    assert store.delete(attachment_id) is True
    assert store.delete(attachment_id) is False
    assert not store.exists(attachment_id)


def test_orphans_lists_rows_without_files_and_files_without_rows(store):
    key = aead.new_key()
    kept, unknown, missing = new_id(), new_id(), new_id()
    for attachment_id in (kept, unknown):
        put(store, attachment_id, ciphertext(key, attachment_id, b"x"))
    (store.root / "stray.bin").write_bytes(b"?")
    ids_without_files, files_without_ids = store.orphans([kept, missing])
    assert ids_without_files == [missing]
    assert sorted(files_without_ids) == sorted([unknown, "stray.bin"])


def test_orphans_of_a_store_never_written_to(store):
    assert store.orphans(["a" * 32]) == (["a" * 32], [])


def test_stale_temporaries_of_interrupted_uploads_are_discarded(store):
    store.root.mkdir()
    old, fresh = store.root / ".partial-old", store.root / ".partial-fresh"
    old.write_bytes(chunks.MAGIC)
    fresh.write_bytes(chunks.MAGIC)
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert store.discard_stale(older_than_seconds=600) == 1
    assert os.listdir(store.root) == [".partial-fresh"]
