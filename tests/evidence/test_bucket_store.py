"""The bucket store on a real SeaweedFS server: signed requests, bare objects, bounded memory, a clear
failure when the store is down, and REPORTER_ATTACHMENTS_URL refused when it is wrong."""

from __future__ import annotations

import socket
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from reporter import config
from reporter.crypto import aead, chunks
from reporter.evidence import bucket
from reporter.evidence.bucket import BucketStore, parse_url
from reporter.evidence.store import Credentials, FolderStore, StoreUnavailable, open_store
from reporter.models.base import new_id
from reporter.web import context
from tests.evidence.test_attachment_store import bucket_store, ciphertext, put
from tests.objectstore import free_ports


def test_requests_signed_with_a_wrong_secret_are_refused(seaweed):
    with pytest.raises(ClientError) as refused:
        seaweed.client(secret_key="not-the-secret").list_objects_v2(Bucket=seaweed.bucket)
    assert refused.value.response["Error"]["Code"] in {"SignatureDoesNotMatch", "AccessDenied"}
    wrong = BucketStore(parse_url(seaweed.url), credentials=Credentials(seaweed.access_key, "wrong"))
    with pytest.raises(StoreUnavailable, match="SignatureDoesNotMatch|AccessDenied"):
        wrong.ids()


def test_objects_are_bare_ciphertext_without_metadata(seaweed):
    store = bucket_store(seaweed)
    key, attachment_id = aead.new_key(), new_id()
    put(store, attachment_id, ciphertext(key, attachment_id, b"the photo of the checkpoint"))
    head = store.client.head_object(Bucket=store.location.bucket, Key=store.key_of(attachment_id))
    assert head["Metadata"] == {} and head["ContentType"] == "application/octet-stream"
    assert store.key_of(attachment_id) == f"reporter/files/{attachment_id}"
    (stored,) = seaweed.objects(store.location.bucket).values()
    assert stored.startswith(chunks.MAGIC) and b"checkpoint" not in stored


def test_a_large_object_is_spooled_to_a_temporary_file_and_reads_twice(seaweed):
    store = bucket_store(seaweed, prefix="")
    key, attachment_id = aead.new_key(), new_id()
    content = bytes(range(256)) * 12_000  # about 3 MiB, beyond what is held in memory
    put(store, attachment_id, ciphertext(key, attachment_id, content))
    with store.open(attachment_id) as source:
        assert source._rolled  # type: ignore[attr-defined]
        assert b"".join(chunks.decrypt_chunks(source, key, file_id=attachment_id)) == content
        source.seek(0)
        assert b"".join(chunks.decrypt_chunks(source, key, file_id=attachment_id)) == content


def test_the_server_refuses_an_upload_over_an_object_written_meanwhile(seaweed, monkeypatch):
    """Two hosts racing for one id: the second PUT carries If-None-Match and is refused by the server."""
    store = bucket_store(seaweed)
    key, attachment_id = aead.new_key(), new_id()
    first = ciphertext(key, attachment_id, b"first")
    put(store, attachment_id, first)
    monkeypatch.setattr(store, "exists", lambda _id: False)  # the other host looked before the first PUT
    with pytest.raises(FileExistsError):
        put(store, attachment_id, ciphertext(key, attachment_id, b"second"))
    monkeypatch.undo()
    with store.open(attachment_id) as source:
        assert source.read() == first


def test_objects_outside_the_prefix_are_not_the_stores(seaweed):
    store = bucket_store(seaweed, prefix="a")
    other = BucketStore(parse_url(seaweed.url_for(store.location.bucket, "b")),
                        credentials=Credentials(seaweed.access_key, seaweed.secret_key))
    attachment_id = new_id()
    put(other, attachment_id, ciphertext(aead.new_key(), attachment_id, b"x"))
    assert store.ids() == set() and store.orphans([]) == ([], [])
    assert other.ids() == {attachment_id}


def test_a_store_that_is_down_fails_quickly_with_store_unavailable():
    (port,) = free_ports(1)
    store = BucketStore(parse_url(f"s3://reporter?endpoint=http://127.0.0.1:{port}&region=us-east-1"),
                        credentials=Credentials("id", "secret"))
    started = time.monotonic()
    for action in (store.ids, lambda: store.open(new_id()), lambda: store.exists(new_id())):
        with pytest.raises(StoreUnavailable, match="cannot be reached"):
            action()
    with pytest.raises(StoreUnavailable), store.create(new_id()) as sink:
        sink.write(chunks.MAGIC)
    assert time.monotonic() - started < 30
    assert bucket.CLIENT_CONFIG.connect_timeout and bucket.CLIENT_CONFIG.read_timeout


def test_a_store_that_accepts_but_never_answers_times_out_with_store_unavailable():
    """A hung storage server costs a request its timeouts, never a worker (shortened here to 1 s)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections are accepted by the kernel; nothing ever answers
        port = silent.getsockname()[1]
        short = Config(connect_timeout=1, read_timeout=1, s3={"addressing_style": "path"},
                       retries={"total_max_attempts": 2, "mode": "standard"})
        store = BucketStore(parse_url(f"s3://reporter?endpoint=http://127.0.0.1:{port}&region=us-east-1"),
                            credentials=Credentials("id", "secret"), config=short)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="ReadTimeout"):
            store.open(new_id())
        assert time.monotonic() - started < 10


@pytest.mark.parametrize(("url", "message"), [
    ("s3://key:secret@bucket?endpoint=http://127.0.0.1:1", "must not hold credentials"),
    ("s3://key@bucket", "must not hold credentials"),
    ("s3://", "must look like"),
    ("s3://bucket:99", "must look like"),
    ("s3://bucket?endpont=http://x", "unknown: endpont"),
    ("s3://bucket?endpoint=", "twice or empty"),
    ("s3://bucket?endpoint=ftp://host", "http"),
    ("s3://Bad_Name", "not a valid bucket name"),
    ("s3://bucket/a/../b", "plain folder names"),
    ("http://bucket", "must be empty"),
    ("file://relative/path", "absolute"),
    ("file:attachments", "absolute"),
])
def test_a_wrong_attachments_url_is_refused_with_a_clear_message(url, message, tmp_path):
    with pytest.raises(config.ConfigError, match=message):
        open_store(url, tmp_path)


def test_the_app_refuses_to_start_with_a_wrong_url_or_half_the_credentials(app_factory):
    with pytest.raises(config.ConfigError, match="must not hold credentials"):
        app_factory(REPORTER_ATTACHMENTS_URL="s3://id:secret@bucket")
    with pytest.raises(config.ConfigError, match="both"):
        app_factory(REPORTER_ATTACHMENTS_URL="s3://bucket", REPORTER_S3_ACCESS_KEY_ID="id")


def test_a_file_url_names_a_folder_elsewhere(app_factory, tmp_path):
    app = app_factory(REPORTER_ATTACHMENTS_URL=f"file://{tmp_path / 'elsewhere'}")
    store = context.attachment_store(app)
    assert isinstance(store, FolderStore) and store.root == tmp_path / "elsewhere"


def test_credentials_come_from_the_environment_when_not_set(seaweed, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    store = open_store(seaweed.url_for(seaweed.new_bucket()), tmp_path)
    attachment_id = new_id()
    put(store, attachment_id, ciphertext(aead.new_key(), attachment_id, b"x"))
    assert store.ids() == {attachment_id}


def test_a_server_without_conditional_writes_still_takes_uploads(seaweed, monkeypatch):
    """Some S3-compatible servers answer If-None-Match on PUT with NotImplemented: the upload goes on."""
    store = bucket_store(seaweed)
    real_put = store.client.put_object

    def put_without_conditions(**request: object) -> object:
        if "IfNoneMatch" in request:
            raise ClientError({"Error": {"Code": "NotImplemented", "Message": "no"}}, "PutObject")
        return real_put(**request)

    monkeypatch.setattr(store.client, "put_object", put_without_conditions)
    key, attachment_id = aead.new_key(), new_id()
    stored = ciphertext(key, attachment_id, b"evidence")
    put(store, attachment_id, stored)
    with store.open(attachment_id) as source:
        assert source.read() == stored
    with pytest.raises(FileExistsError):  # the check before the upload still refuses a taken id
        put(store, attachment_id, ciphertext(key, attachment_id, b"other"))
