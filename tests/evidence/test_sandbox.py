"""The sandbox confines what reads an upload: no file, socket, network or process; limited memory,
CPU and time; an environment without the instance's secrets; nothing it says is trusted."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest
from PIL import Image

from reporter.evidence.inspection import UploadLimits, UploadRejected, inspect_upload
from reporter.evidence.sandbox import SANDBOX, MiB, Sandbox, SandboxLimits
from tests.evidence import bombs
from tests.evidence.test_bombs import Upload

#: Runs in a fresh interpreter: leaves the network, confines itself as a child does, then tries
#: what code that took over a parser would try, and writes what happened to descriptor 4.
PROBE = """
import encodings.idna, json, os, socket, sys  # a codec the connect attempt needs, loaded first
from reporter.evidence import sandbox_process as confined
null = os.open(os.devnull, os.O_RDWR)
address_space = confined._vm_size()
network = confined._leave_network()
empty_root = confined._enter_empty_root()
confined._drop_root()
confined._confine(3, 4, null, address_space=address_space + (64 << 20), cpu=5)
tried = {"network": network, "empty root": empty_root}
def attempt(name, action):
    try:
        action()
        tried[name] = "allowed"
    except BaseException as exc:
        tried[name] = type(exc).__name__
attempt("open a file", lambda: open("/etc/hostname", "rb"))
attempt("open a socket", lambda: socket.socket())
attempt("allocate 256 MiB", lambda: bytearray(256 << 20))
attempt("start a process", lambda: os.fork() == 0 and os._exit(0))
os.close(0)  # code that took over a child may free one of its five descriptors
attempt("read a key", lambda: open(sys.argv[2], "rb").read())
attempt("create a file", lambda: open("/evidence", "xb"))
tried["root"] = "a deleted folder" if os.stat("/").st_nlink == 0 else "a folder"
attempt("connect", lambda: socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close())
os.write(4, json.dumps(tried).encode())
"""


def _probe(key_file: str) -> dict[str, str]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        data_r, data_w = os.pipe()
        result_r, result_w = os.pipe()
        script = f"import os; os.dup2({data_r}, 3); os.dup2({result_w}, 4)\n" + PROBE
        child = subprocess.Popen([sys.executable, "-c", script, str(listener.getsockname()[1]), key_file],
                                 pass_fds=[data_r, result_w])
        os.close(result_w)
        child.wait(timeout=30)
        answer = os.read(result_r, 4096)
        for fd in (data_r, data_w, result_r):
            os.close(fd)
    return dict(json.loads(answer))


def test_a_confined_child_can_open_no_file_or_socket_allocate_little_and_start_nothing():
    folder = tempfile.mkdtemp()  # readable by anyone, as the host sees it
    os.chmod(folder, 0o755)  # noqa: S103 - the point: nobody could read it without the sandbox
    key = os.path.join(folder, "secret.key")
    with open(key, "wb") as out:
        out.write(b"an instance key")
    os.chmod(key, 0o644)
    try:
        tried = _probe(key)
    finally:
        shutil.rmtree(folder)
    assert tried["open a file"] == "OSError"  # EMFILE: all five descriptors are in use
    assert tried["open a socket"] == "OSError"
    assert tried["allocate 256 MiB"] == "MemoryError"
    if not (tried["network"] and tried["empty root"]):
        pytest.skip("this kernel allows no unprivileged namespace")
    assert tried["start a process"] == "BlockingIOError"  # RLIMIT_NPROC 0 (EAGAIN)
    assert tried["connect"] == "OSError"  # no route: the loopback of the new namespace is down
    assert tried["root"] == "a deleted folder"
    assert tried["read a key"] in {"FileNotFoundError", "PermissionError"}  # a descriptor was free
    assert tried["create a file"] in {"FileNotFoundError", "PermissionError"}


def test_the_zygote_has_its_own_network_and_none_of_the_instances_secrets(monkeypatch):
    monkeypatch.setenv("REPORTER_SECRET_KEY", "a secret the sandbox must never hold")
    sandbox = Sandbox()
    try:
        scrubbed = sandbox.scrub("text", b"statement", max_pixels=1000, limits=SandboxLimits(),
                                 max_output=MiB)
        assert scrubbed.data == b"statement"
        described = sandbox.describe()
        assert described is not None
        pid, network = described
        with open(f"/proc/{pid}/environ", "rb") as environ:
            assert b"REPORTER_" not in environ.read()
        if network == "namespace":
            assert os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")
            assert os.readlink(f"/proc/{pid}/root").endswith("(deleted)")
    finally:
        sandbox.close()


def _photo(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.effect_noise(size, 50).convert("RGB").save(out, "PNG", compress_level=1)
    return out.getvalue()


def test_a_file_that_needs_more_memory_than_the_limit_is_refused_as_unsafe():
    photo = _photo((3000, 2000))  # 18 MB of pixels once decoded
    assert inspect_upload(Upload(photo)).kind == "png"
    tight = UploadLimits(sandbox=SandboxLimits(memory_bytes=8 * MiB))
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(Upload(photo), limits=tight)
    assert refused.value.reason == "unsafe"


def test_a_file_that_runs_past_the_wall_clock_is_killed_at_its_deadline(caplog):
    slow = bombs.ogg_many_comments(400_000)  # quadratic in mutagen: many seconds of CPU
    hurried = UploadLimits(sandbox=SandboxLimits(cpu_seconds=60, wall_seconds=0.5))
    with caplog.at_level(logging.INFO, logger="reporter.evidence.sandbox"):
        with pytest.raises(UploadRejected) as refused:
            inspect_upload(Upload(slow), limits=hurried)
    assert refused.value.reason == "unsafe"
    assert "killed at its deadline" in caplog.text


def test_files_of_one_submission_share_one_time_budget():
    from reporter.crypto import aead
    from reporter.evidence.inspection import UploadsRejected, prepare_attachments

    budget = UploadLimits(sandbox=SandboxLimits(cpu_seconds=60, wall_seconds=60, submission_seconds=0.5))
    uploads = [Upload(bombs.ogg_many_comments(400_000)), Upload(b"a statement")]
    with pytest.raises(UploadsRejected) as refused:
        prepare_attachments(uploads, data_key=aead.new_key(), limits=budget)
    assert [error.reason for _, error in refused.value.problems] == ["unsafe", "unsafe"]


def test_a_zygote_that_died_is_started_again():
    inspect_upload(Upload(b"first"))
    described = SANDBOX.describe()
    assert described is not None
    os.kill(described[0], 9)
    os.waitpid(described[0], 0)
    assert inspect_upload(Upload(b"second")).scrubbed.data == b"second"
    assert SANDBOX.describe() != described


def test_a_gunicorn_worker_starts_its_sandbox_as_soon_as_it_is_forked():
    from reporter import gunicorn_conf

    SANDBOX.close()
    assert SANDBOX.describe() is None
    gunicorn_conf.post_fork(None, None)
    described = SANDBOX.describe()
    assert described is not None and os.path.exists(f"/proc/{described[0]}")
