"""The attachment store: server-made names only, ciphertext only, atomic writes, orphan checks (F01, F06).

Each promise is checked on the local folder and on a real S3-compatible bucket (SeaweedFS), through
what the store shows and through what is really on disk or in the bucket.
"""

from __future__ import annotations

import io
import os
import stat
import time
from typing import Any

import pytest

from reporter.crypto import CiphertextInvalid, aead, chunks
from reporter.evidence.bucket import BucketStore, parse_url
from reporter.evidence.store import AttachmentIdInvalid, AttachmentStore, Credentials, FolderStore
from reporter.models.base import new_id
from tests.objectstore import SeaweedServer


def bucket_store(seaweed: SeaweedServer, prefix: str = "reporter/files") -> BucketStore:
    """Return a store on a fresh bucket of the test server, under `prefix`."""
    return BucketStore(parse_url(seaweed.url_for(seaweed.new_bucket(), prefix)),
                       credentials=Credentials(seaweed.access_key, seaweed.secret_key))


@pytest.fixture
def store(tmp_path) -> FolderStore:
    return FolderStore.in_instance(tmp_path)


@pytest.fixture(params=["folder", "bucket"])
def any_store(request, tmp_path) -> AttachmentStore:
    if request.param == "folder":
        return FolderStore.in_instance(tmp_path)
    return bucket_store(request.getfixturevalue("seaweed"))


def raw_names(store: Any) -> list[str]:
    """Return what is really in the store: file names in the folder, object names under the prefix."""
    if isinstance(store, FolderStore):
        return sorted(os.listdir(store.root)) if store.root.is_dir() else []
    return store.names()


def raw_bytes(store: Any, attachment_id: str) -> bytes:
    if isinstance(store, FolderStore):
        return store.path_of(attachment_id).read_bytes()
    answer = store.client.get_object(Bucket=store.location.bucket, Key=store.key_of(attachment_id))
    return answer["Body"].read()


def raw_write(store: Any, name: str, data: bytes) -> None:
    """Put bytes in the store behind its back (as an intruder or a stray process would)."""
    if isinstance(store, FolderStore):
        store.root.mkdir(exist_ok=True)
        (store.root / name).write_bytes(data)
    else:
        store.client.put_object(Bucket=store.location.bucket, Key=store.location.prefix + name, Body=data)


def ciphertext(key: bytes, file_id: str, plaintext: bytes) -> bytes:
    sink = io.BytesIO()
    with chunks.EncryptingWriter(sink, key, file_id=file_id) as writer:
        writer.write(plaintext)
    return sink.getvalue()


def put(store: AttachmentStore, attachment_id: str, data: bytes) -> None:
    with store.create(attachment_id) as sink:
        sink.write(data)


def test_a_written_file_reads_back_under_its_id(any_store):
    key, attachment_id = aead.new_key(), new_id()
    put(any_store, attachment_id, ciphertext(key, attachment_id, b"evidence"))
    with any_store.open(attachment_id) as source:
        assert b"".join(chunks.decrypt_chunks(source, key, file_id=attachment_id)) == b"evidence"
        source.seek(0)  # downloads read twice: verify, then stream
        assert b"".join(chunks.decrypt_chunks(source, key, file_id=attachment_id)) == b"evidence"
    assert raw_names(any_store) == [attachment_id]
    assert any_store.ids() == {attachment_id} and any_store.exists(attachment_id)


def test_the_folder_and_its_files_are_owner_only(store, tmp_path):
    attachment_id = new_id()
    put(store, attachment_id, ciphertext(aead.new_key(), attachment_id, b"evidence"))
    assert store.root == tmp_path / "attachments"
    assert stat.S_IMODE(os.stat(store.root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(store.path_of(attachment_id)).st_mode) == 0o600


BAD_IDS = ["../../app.py", "..\\..\\x", "a\x00.png", "CON", "", "A" * 32, "a" * 31, "a" * 33, "g" * 32,
           "a" * 32 + "\n", "/etc/passwd", "." * 32]


@pytest.mark.parametrize("attachment_id", BAD_IDS)
def test_anything_but_a_server_made_id_is_refused_as_a_name(store, attachment_id):
    with pytest.raises(AttachmentIdInvalid):
        store.path_of(attachment_id)
    with pytest.raises(AttachmentIdInvalid), store.create(attachment_id):
        pass
    with pytest.raises(AttachmentIdInvalid):
        store.open(attachment_id)


def test_a_bucket_refuses_every_name_but_a_server_made_id(seaweed):
    store = bucket_store(seaweed)
    for attachment_id in BAD_IDS:
        with pytest.raises(AttachmentIdInvalid), store.create(attachment_id):
            pass
        for action in (store.open, store.exists, store.delete):
            with pytest.raises(AttachmentIdInvalid):
                action(attachment_id)
    assert raw_names(store) == []


def test_a_planted_symbolic_link_cannot_lead_the_store_outside_its_folder(store, tmp_path):
    attachment_id = new_id()
    store.root.mkdir()
    (tmp_path / "secret").write_text("outside")
    os.symlink(tmp_path / "secret", store.root / attachment_id)
    with pytest.raises(AttachmentIdInvalid):
        store.open(attachment_id)


def test_plaintext_is_refused_and_leaves_nothing_behind(any_store):
    with pytest.raises(ValueError, match="encrypted attachments only"):
        put(any_store, new_id(), b"\xff\xd8\xff a plaintext photo")
    assert raw_names(any_store) == []


def test_an_interrupted_write_leaves_no_file_and_no_temporary(any_store):
    attachment_id = new_id()
    with pytest.raises(ConnectionError), any_store.create(attachment_id) as sink:
        sink.write(chunks.MAGIC + bytes(100))
        raise ConnectionError("client went away")
    assert raw_names(any_store) == [] and not any_store.exists(attachment_id)


def test_an_existing_attachment_is_never_replaced(any_store):
    key, attachment_id = aead.new_key(), new_id()
    first = ciphertext(key, attachment_id, b"first")
    put(any_store, attachment_id, first)
    with pytest.raises(FileExistsError):
        put(any_store, attachment_id, ciphertext(key, attachment_id, b"second"))
    assert raw_bytes(any_store, attachment_id) == first
    assert raw_names(any_store) == [attachment_id]


def test_a_corrupted_chunk_in_the_store_fails_closed(any_store):
    key, attachment_id = aead.new_key(), new_id()
    put(any_store, attachment_id, ciphertext(key, attachment_id, b"x" * 100_000))
    damaged = bytearray(raw_bytes(any_store, attachment_id))
    damaged[chunks.HEADER_BYTES + 70_000] ^= 0x40  # inside the second chunk
    if isinstance(any_store, FolderStore):
        any_store.path_of(attachment_id).write_bytes(bytes(damaged))
    else:
        raw_write(any_store, attachment_id, bytes(damaged))
    with any_store.open(attachment_id) as source, pytest.raises(CiphertextInvalid, match="chunk 1"):
        for _ in chunks.decrypt_chunks(source, key, file_id=attachment_id):
            pass


def test_a_missing_file_is_file_not_found(any_store):
    with pytest.raises(FileNotFoundError):
        any_store.open(new_id())


def test_delete_removes_the_file(any_store):
    key, attachment_id = aead.new_key(), new_id()
    put(any_store, attachment_id, ciphertext(key, attachment_id, b"gone"))
    assert any_store.delete(attachment_id) is True
    assert any_store.delete(attachment_id) is False
    assert not any_store.exists(attachment_id) and raw_names(any_store) == []


def test_orphans_lists_rows_without_files_and_files_without_rows(any_store):
    key = aead.new_key()
    kept, unknown, missing = new_id(), new_id(), new_id()
    for attachment_id in (kept, unknown):
        put(any_store, attachment_id, ciphertext(key, attachment_id, b"x"))
    raw_write(any_store, "stray.bin", b"?")
    ids_without_files, files_without_ids = any_store.orphans([kept, missing])
    assert ids_without_files == [missing]
    assert sorted(files_without_ids) == sorted([unknown, "stray.bin"])


def test_orphans_of_a_store_never_written_to(any_store):
    assert any_store.orphans(["a" * 32]) == (["a" * 32], [])


def test_stale_temporaries_of_interrupted_uploads_are_discarded(store):
    store.root.mkdir()
    old, fresh = store.root / ".partial-old", store.root / ".partial-fresh"
    old.write_bytes(chunks.MAGIC)
    fresh.write_bytes(chunks.MAGIC)
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert store.discard_stale(older_than_seconds=600) == 1
    assert os.listdir(store.root) == [".partial-fresh"]


def test_a_bucket_has_nothing_stale_to_discard(seaweed):
    """Uploads are single PUTs: an interrupted one leaves no object and no multipart upload."""
    store = bucket_store(seaweed)
    with pytest.raises(ConnectionError), store.create(new_id()) as sink:
        sink.write(chunks.MAGIC)
        raise ConnectionError("client went away")
    assert store.discard_stale(older_than_seconds=0) == 0
    uploads = store.client.list_multipart_uploads(Bucket=store.location.bucket)
    assert not uploads.get("Uploads")
