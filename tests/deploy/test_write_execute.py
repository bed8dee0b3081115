"""MemoryDenyWriteExecute=yes in reporter-web.service holds for the whole web process: gunicorn, the
app and the upload sandbox, through a submission with an image, a PDF and a recording.

systemd enforces it with a seccomp filter (newer versions with the kernel's PR_SET_MDWE); here the
kernel's own switch (Linux 6.3 and newer) is set before gunicorn starts, which every process it forks
or executes keeps: a library that needs memory both writable and executable fails the submission.
"""

from __future__ import annotations

import ctypes
import http.client
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from reporter.models import Attachment
from tests.casework import writing
from tests.conftest import VALID_REPORT, csrf_token_of
from tests.deploy.conftest import served_environment
from tests.evidence import samples
from tests.servers import Gunicorn
from tests.staffing import ensure_coordinator

PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
#: Sets the switch, proves a writable and executable mapping is now refused, then runs the command.
WRAPPER = """
import ctypes, mmap, os, sys
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(65, 1, 0, 0, 0) == 0, "PR_SET_MDWE failed"
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
except OSError:
    pass
else:
    raise SystemExit("a writable and executable mapping was still allowed")
os.execv(sys.argv[1], sys.argv[1:])
"""


def _kernel_has_mdwe() -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(66, 0, 0, 0, 0) >= 0  # PR_GET_MDWE: -1 (EINVAL) before Linux 6.3


def _multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    for filename, kind, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; '
                     f'filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n'.encode() + data + b"\r\n")
    return f"multipart/form-data; boundary={boundary}", b"".join(parts) + f"--{boundary}--\r\n".encode()


def _request(port: int, method: str, path: str, **options: Any) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, **options)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode(errors="replace")
    finally:
        connection.close()


@pytest.mark.skipif(sys.platform != "linux" or not _kernel_has_mdwe(),
                    reason="needs Linux 6.3+ (PR_SET_MDWE)")
def test_a_submission_with_files_works_where_memory_cannot_be_writable_and_executable(
        app_factory: Any, instance_path: Path, database_url: str, tmp_path: Path):
    app = app_factory()
    ensure_coordinator(app)
    environment = served_environment(instance_path, database_url, REPORTER_TRUSTED_PROXIES="0",
                                     REPORTER_HTTPS="0", REPORTER_BASE_URL="")
    server = Gunicorn(environment, tmp_path / "gunicorn.log", workers=1)
    server.command = [sys.executable, "-c", WRAPPER, sys.executable, *server.command[1:]]
    server.start()
    try:
        status, headers, page = _request(server.port, "GET", "/report")
        assert status == 200
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        files = [("photo.jpg", "image/jpeg", samples.jpeg_with_metadata()),
                 ("letter.pdf", "application/pdf", samples.pdf_with_metadata_and_scripts()),
                 ("call.mp3", "audio/mpeg", samples.mp3_with_tags())]
        kind, body = _multipart({**VALID_REPORT, "csrf_token": csrf_token_of(page)}, files)
        status, _, receipt_page = _request(server.port, "POST", "/report", body=body,
                                           headers={"Content-Type": kind, "Cookie": cookie})
    finally:
        server.stop()
    assert status == 200 and re.search(r'id="receipt"', receipt_page), receipt_page[:1500]
    with writing(app) as session:
        assert session.scalar(select(func.count()).select_from(Attachment)) == len(files)
    assert "Traceback" not in server.log.read_text(errors="replace")
