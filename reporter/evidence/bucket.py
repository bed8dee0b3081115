"""Encrypted attachment files as objects of an S3-compatible bucket (REPORTER_ATTACHMENTS_URL=s3://...).

The bucket keeps the promises of the folder (reporter.evidence.store):

- An object's name is the optional prefix and the attachment's random id, checked against the strict
  pattern first; nothing a reporter sent ever names an object.
- Only ciphertext goes up: what a caller wrote is checked for the chunked format's header before the
  upload. Objects carry no user metadata and the generic type application/octet-stream, so the bucket
  learns nothing of a file's kind or name. Its operator still sees sizes and the times objects were
  written (set by the server: unlike a local file, an object's time cannot be fixed).
- An upload is one PUT: the object appears whole or not at all. An existing id is never replaced: the
  store asks first, and the PUT carries If-None-Match: * so a server that honours it refuses a race too.
- `open` copies the object into a spooled temporary file (in memory up to 1 MiB, then a private
  temporary file; ciphertext either way), so a download can read it twice and memory stays bounded.
- Timeouts and retries are set explicitly: a store that is down fails within seconds with
  StoreUnavailable (an error page for the person, nothing committed), instead of hanging a worker.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO, cast
from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from reporter.config import ConfigError
from reporter.evidence.store import (
    ID_PATTERN,
    Credentials,
    Orphans,
    StoreUnavailable,
    check_id,
    is_ciphertext,
)

#: A download is held in memory up to this size, then in a temporary file (ciphertext only).
SPOOL_BYTES = 1024 * 1024
CONTENT_TYPE = "application/octet-stream"
CLIENT_CONFIG = Config(
    # A store that is down costs a request at most (3 + 10 s) x 2 attempts, not a hung worker.
    connect_timeout=3, read_timeout=10, retries={"total_max_attempts": 2, "mode": "standard"},
    s3={"addressing_style": "path"},
    # Checksums only where S3 requires them: S3-compatible servers differ in the newer trailing ones.
    request_checksum_calculation="when_required", response_checksum_validation="when_required",
)
_MISSING = {"404", "NoSuchKey", "NotFound"}
_TAKEN = {"412", "PreconditionFailed", "409", "ConditionalRequestConflict"}
_QUERY = {"endpoint", "region"}
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_USAGE = "s3://bucket[/prefix]?endpoint=https://host:port&region=name"


@dataclass(frozen=True)
class BucketLocation:
    """Where the attachments live: a bucket, a prefix inside it (may be empty), the endpoint and region."""

    bucket: str
    prefix: str
    endpoint: str | None
    region: str | None

    def describe(self) -> str:
        """Name the location for an operator's message (the URL has no credentials to leave out)."""
        where = f"s3://{self.bucket}/{self.prefix}"
        return f"the attachment bucket {where}" + (f" at {self.endpoint}" if self.endpoint else "")


def parse_url(url: str) -> BucketLocation:
    """Parse s3://bucket[/prefix]?endpoint=...&region=...; raise ConfigError for anything else."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ConfigError("REPORTER_ATTACHMENTS_URL must not hold credentials: set REPORTER_S3_ACCESS_KEY_ID "
                          "and REPORTER_S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID ...) instead")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(query) - _QUERY)
    if parts.scheme != "s3" or not parts.hostname or parts.port or parts.fragment or unknown:
        raise ConfigError(f"REPORTER_ATTACHMENTS_URL must look like {_USAGE}"
                          + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    if any(len(values) != 1 or not values[0] for values in query.values()):
        raise ConfigError(f"REPORTER_ATTACHMENTS_URL gives a setting twice or empty; expected {_USAGE}")
    endpoint = query.get("endpoint", [None])[0]
    if endpoint is not None:
        address = urlsplit(endpoint)
        if address.scheme not in {"http", "https"} or not address.hostname or address.username:
            raise ConfigError("the endpoint in REPORTER_ATTACHMENTS_URL must be http(s)://host[:port]")
    if not BUCKET_NAME.fullmatch(parts.hostname):
        raise ConfigError(f"REPORTER_ATTACHMENTS_URL: {parts.hostname!r} is not a valid bucket name")
    prefix = parts.path.strip("/")
    if prefix and any(piece in {"", ".", ".."} for piece in prefix.split("/")):
        raise ConfigError("the prefix in REPORTER_ATTACHMENTS_URL must be plain folder names, as /reporter")
    return BucketLocation(bucket=parts.hostname, prefix=f"{prefix}/" if prefix else "", endpoint=endpoint,
                          region=query.get("region", [None])[0])


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class BucketStore:
    """Encrypted attachment files as objects of one bucket, under an optional prefix."""

    def __init__(self, location: BucketLocation, *, credentials: Credentials | None = None,
                 config: Config = CLIENT_CONFIG) -> None:
        self.location = location
        keys: dict[str, str] = {}
        if credentials is not None:
            keys = {"aws_access_key_id": credentials.access_key_id,
                    "aws_secret_access_key": credentials.secret_access_key}
        self.client: Any = boto3.session.Session().client(
            "s3", endpoint_url=location.endpoint, region_name=location.region, config=config, **keys)

    def key_of(self, attachment_id: str) -> str:
        """Return the object name of an attachment; raise AttachmentIdInvalid for anything but a server id."""
        return self.location.prefix + check_id(attachment_id)

    def describe(self) -> str:
        """Name the bucket for an operator's message."""
        return self.location.describe()

    @contextmanager
    def _reaching(self) -> Iterator[None]:
        """Turn a network failure or an unexpected answer of the store into StoreUnavailable."""
        try:
            yield
        except ClientError as error:
            raise StoreUnavailable(f"{self.describe()} answered {_code(error) or 'an error'}") from None
        except BotoCoreError as error:
            raise StoreUnavailable(f"{self.describe()} cannot be reached ({type(error).__name__})") from None

    @contextmanager
    def create(self, attachment_id: str) -> Iterator[BinaryIO]:
        """Yield a file to write an encrypted attachment into; it is uploaded only when complete."""
        key = self.key_of(attachment_id)
        if self.exists(attachment_id):
            raise FileExistsError(f"attachment {attachment_id} already exists")
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            sink = cast(BinaryIO, spool)
            yield sink
            if not is_ciphertext(sink):
                raise ValueError("the attachment store accepts encrypted attachments only")
            with self._reaching():
                self._put(key, sink)

    def _put(self, key: str, sink: BinaryIO) -> None:
        """Upload under `key` unless an object is there: conditionally where the server supports it."""
        conditions: list[dict[str, str]] = [{"IfNoneMatch": "*"}, {}]
        for condition in conditions:
            sink.seek(0)
            try:
                self.client.put_object(Bucket=self.location.bucket, Key=key, Body=sink,
                                       ContentType=CONTENT_TYPE, **condition)
                return
            except ClientError as error:
                if _code(error) in _TAKEN:  # written meanwhile by another request
                    raise FileExistsError(f"{key} already exists") from None
                if not condition or _code(error) != "NotImplemented":
                    raise
                # A server without conditional writes: the check made before the upload stands alone.

    def open(self, attachment_id: str) -> BinaryIO:
        """Return an attachment's object in a seekable temporary file; FileNotFoundError if missing."""
        key = self.key_of(attachment_id)
        spool = cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES))  # noqa: SIM115
        try:
            with self._reaching():
                try:
                    answer = self.client.get_object(Bucket=self.location.bucket, Key=key)
                except ClientError as error:
                    if _code(error) in _MISSING:
                        raise FileNotFoundError(f"attachment {attachment_id} is missing") from None
                    raise
                shutil.copyfileobj(answer["Body"], spool, 64 * 1024)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool

    def exists(self, attachment_id: str) -> bool:
        """Return whether an attachment's object is present."""
        key = self.key_of(attachment_id)
        with self._reaching():
            try:
                self.client.head_object(Bucket=self.location.bucket, Key=key)
            except ClientError as error:
                if _code(error) in _MISSING:
                    return False
                raise
        return True

    def delete(self, attachment_id: str) -> bool:
        """Remove an attachment's object; return False if there was none."""
        if not self.exists(attachment_id):
            return False
        with self._reaching():
            self.client.delete_object(Bucket=self.location.bucket, Key=self.key_of(attachment_id))
        return True

    def _listing(self) -> dict[str, float]:
        """Return the name (below the prefix) of every object under the prefix and when it was written."""
        prefix = self.location.prefix
        found: dict[str, float] = {}
        with self._reaching():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.location.bucket, Prefix=prefix)
            for page in pages:
                found.update((item["Key"][len(prefix):], item["LastModified"].timestamp())
                             for item in page.get("Contents", []))
        return found

    def names(self) -> list[str]:
        """Return the name (below the prefix) of every object under the prefix, sorted."""
        return sorted(self._listing())

    def written_before(self, moment: float) -> set[str]:
        """Return the ids of the objects written before `moment`, by the time the bucket gives them."""
        return {name for name, written in self._listing().items()
                if written < moment and ID_PATTERN.fullmatch(name)}

    def ids(self) -> set[str]:
        """Return the ids of every attachment object present."""
        return {name for name in self.names() if ID_PATTERN.fullmatch(name)}

    def orphans(self, known_ids: Iterable[str]) -> Orphans:
        """Compare the objects present with the ids the database knows; list what is missing on each side."""
        known = set(known_ids)
        names = self.names()
        present = {name for name in names if ID_PATTERN.fullmatch(name)}
        return Orphans(ids_without_files=sorted(known - present),
                       files_without_ids=[name for name in names if name not in known])

    def discard_stale(self, *, older_than_seconds: float) -> int:
        """Return 0: an upload is one PUT (never multipart), so an interrupted one leaves nothing behind."""
        return 0
