"""Inspection of uploads in a separate process with hard limits: the serving worker's side.

Why: the parsers that read an upload (Pillow, qpdf through pikepdf, mutagen) are given hostile input
by anyone on the internet. Run inside the serving worker, a 2 MB PDF whose object stream inflates to
gigabytes grew the worker from 348 to 2,175 MiB and held it for 7 s; a deeply nested ID3 tag took
600 MiB. A cap in each parser catches the bombs someone thought of; a process with hard limits
catches the rest, and a crash in native code takes down that process instead of the worker.

How: each process that serves uploads starts one *zygote* on first use (a fresh interpreter,
`reporter.evidence.sandbox_process`, with an empty environment) and keeps it. For every file the
zygote forks a child, which confines itself (memory, CPU time, no new files or sockets, no network,
no processes; see that module) before it reads a byte. The worker writes the file into a pipe (from
a thread, so a child that stops reading cannot block it), reads the cleaned copy from another pipe,
and kills the child at its wall-clock deadline. A fork of a loaded zygote costs a few milliseconds,
where a fresh interpreter per file would cost hundreds (bench/evidence.py measures it). Each file
gets its own child, so nothing one reporter sent can be seen or influenced while another's file is
read, and whatever a bomb allocated goes back to the system when its child ends.

What crosses back is parsed strictly: a length-prefixed JSON header whose reason must be a known code
and whose size is capped, then that many bytes (never pickle: the worker must not trust the child).
A child that ends without an answer (its memory or CPU limit, a crash) or misses its deadline means
the file "could not be processed safely" (reason `unsafe`): refused, like any unreadable file.

Nothing is written to disk on either side: the plaintext travels through pipes only.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from reporter.evidence.scrubbing import Scrubbed, Unreadable

log = logging.getLogger(__name__)

MiB = 1024 * 1024
#: How the child answers: a 4-byte big-endian length, a JSON header of that length, then the bytes.
HEADER = struct.Struct(">I")
MAX_HEADER_BYTES = 64 * 1024
#: The refusal reasons a child may give; anything else is read as `unsafe`.
REASONS = frozenset({"damaged", "too_many_pixels", "encrypted", "not_text", "markup", "unsafe"})
F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ from Python 3.10, spelled out for type checkers
_START_SECONDS = 60.0  # a zygote loads Pillow, pikepdf and mutagen once; a loaded machine is slow


@dataclass(frozen=True)
class SandboxLimits:
    """What one file's child may use, and the time all files of one submission may take together.

    The memory limit admits a 50-megapixel image decoded, turned and converted to sRGB (three frames of
    up to 200 MB each, see SECURITY.md); the time limits keep five files under gunicorn's 30 s timeout.
    """

    memory_bytes: int = 1024 * MiB
    cpu_seconds: int = 10
    wall_seconds: float = 15.0
    submission_seconds: float = 20.0


class SandboxUnavailable(RuntimeError):
    """The sandbox process could not be started: no file can be inspected."""


@dataclass
class _Zygote:
    process: subprocess.Popen[bytes]
    channel: socket.socket
    #: "namespace" when the children have no network at all, "host" where the kernel refused one.
    network: str


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


class Sandbox:
    """This process's zygote and the confined children it forks, one per file."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._zygote: _Zygote | None = None
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        """In a forked child (a gunicorn worker): the parent's zygote is not ours; start our own."""
        if self._zygote is not None:
            self._zygote.channel.close()
        self._zygote = None
        self._lock = threading.Lock()

    def _start(self) -> _Zygote:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {"PATH": os.defpath, "LC_ALL": "C.UTF-8", "PYTHONPATH": _package_root()}
        try:
            process = subprocess.Popen(  # noqa: S603 - this interpreter, a module of this package
                [sys.executable, "-s", "-m", "reporter.evidence.sandbox_process", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env,
                start_new_session=True,
            )
        finally:
            theirs.close()
        ours.settimeout(_START_SECONDS)
        try:
            hello = json.loads(ours.recv(4096) or b"{}")
        except (OSError, ValueError) as exc:
            ours.close()
            process.kill()
            raise SandboxUnavailable(f"the sandbox did not start ({type(exc).__name__})") from exc
        if not hello.get("ready"):
            ours.close()
            raise SandboxUnavailable("the sandbox did not start")
        if hello.get("network") != "namespace" or hello.get("filesystem") != "empty":
            log.warning("sandbox: this kernel allows no unprivileged namespace; children cannot open "
                        "files or sockets (RLIMIT_NOFILE) but share the host's network and files")
        log.info("sandbox started: pid %d", process.pid)
        return _Zygote(process, ours, str(hello.get("network")))

    def start(self) -> None:
        """Start the zygote now (gunicorn's post_fork) instead of on the first upload."""
        with self._lock:
            if self._zygote is None or self._zygote.process.poll() is not None:
                self._zygote = self._start()

    def describe(self) -> tuple[int, str] | None:
        """Return the zygote's pid and its network ("namespace" or "host"), or None before first use."""
        zygote = self._zygote
        return None if zygote is None else (zygote.process.pid, zygote.network)

    def close(self) -> None:
        """Stop the zygote (it ends when its channel closes) and wait for it."""
        with self._lock:
            if self._zygote is not None:
                self._zygote.channel.close()
                self._zygote.process.wait(timeout=10)
                self._zygote = None

    def _spawn(self, request: dict[str, object], data_r: int, result_w: int) -> int:
        """Ask the zygote for a child reading data_r and writing result_w; return its pidfd."""
        for attempt in (1, 2):
            if self._zygote is None or self._zygote.process.poll() is not None:
                self._zygote = self._start()
            channel = self._zygote.channel
            try:
                channel.settimeout(10.0)
                socket.send_fds(channel, [json.dumps(request).encode()], [data_r, result_w])
                message, fds, _, _ = socket.recv_fds(channel, 64, 1)
            except OSError:
                message, fds = b"", []
            if message and len(fds) == 1:
                return fds[0]
            for fd in fds:
                os.close(fd)
            channel.close()
            self._zygote = None
            log.warning("sandbox: the zygote stopped answering (attempt %d); starting it again", attempt)
        raise SandboxUnavailable("the sandbox stopped answering")

    def scrub(self, kind: str, data: bytes, *, max_pixels: int, limits: SandboxLimits, max_output: int,
              wall_seconds: float | None = None) -> Scrubbed:
        """Scrub `data` of `kind` in a confined child; raise Unreadable, with `unsafe` at any limit."""
        request = {"kind": kind, "size": len(data), "max_pixels": max_pixels, "memory": limits.memory_bytes,
                   "cpu": limits.cpu_seconds, "output": max_output}
        data_r, data_w = os.pipe()
        result_r, result_w = os.pipe()
        for fd in (data_w, result_w):
            _widen(fd)
        try:
            with self._lock:
                pidfd = self._spawn(request, data_r, result_w)
        except BaseException:
            for fd in (data_w, result_r):
                os.close(fd)
            raise
        finally:
            os.close(data_r)
            os.close(result_w)
        feeder = threading.Thread(target=_feed, args=(data_w, data), daemon=True)
        started = time.monotonic()
        deadline = started + (limits.wall_seconds if wall_seconds is None else wall_seconds)
        try:
            feeder.start()
            return _answer(_Reader(result_r, deadline), max_output, data)
        except TimeoutError as exc:
            log.info("sandbox: %s child killed at its deadline after %.1f s", kind,
                     time.monotonic() - started)
            raise Unreadable("unsafe", "the file took too long to process") from exc
        except EOFError as exc:
            log.info("sandbox: %s child ended without an answer after %.1f s (memory or CPU limit, "
                     "or a crash)", kind, time.monotonic() - started)
            raise Unreadable("unsafe", "the file could not be processed within the limits") from exc
        finally:
            _kill(pidfd)
            os.close(pidfd)
            os.close(result_r)
            feeder.join()


def _widen(fd: int) -> None:
    """Give a pipe 1 MiB of buffer (Linux's default limit for anyone): 16 times fewer round trips."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, F_SETPIPE_SZ, MiB)


def _feed(fd: int, data: bytes) -> None:
    """Write the whole file into the child's pipe; stop quietly if the child is gone."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view[:MiB]):]
    except OSError:
        pass
    finally:
        os.close(fd)


def _kill(pidfd: int) -> None:
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except ProcessLookupError:
        pass


class _Reader:
    """Reads exact amounts from the child's pipe, raising TimeoutError past the deadline."""

    def __init__(self, fd: int, deadline: float) -> None:
        self.fd, self.deadline = fd, deadline
        self.poller = select.poll()  # not select(): descriptors above 1023 are fine
        self.poller.register(fd, select.POLLIN)

    def read(self, size: int) -> bytes:
        """Return exactly `size` bytes; EOFError if the child ends first."""
        chunks, wanted = [], size
        while wanted:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or not self.poller.poll(max(1, int(remaining * 1000))):
                raise TimeoutError
            chunk = os.read(self.fd, min(wanted, MiB))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)


def _answer(reader: _Reader, max_output: int, sent: bytes) -> Scrubbed:
    """Read and check the child's answer: the cleaned copy (or that it is the file as `sent`), or the
    reason for a refusal."""
    (length,) = HEADER.unpack(reader.read(HEADER.size))
    if length > MAX_HEADER_BYTES:
        raise Unreadable("unsafe", "the sandbox answered out of protocol")
    try:
        header = json.loads(reader.read(length))
    except ValueError:
        header = None
    if not isinstance(header, dict):
        raise Unreadable("unsafe", "the sandbox answered out of protocol")
    if header.get("ok") is not True:
        reason = header.get("reason")
        raise Unreadable(reason if reason in REASONS else "unsafe", str(header.get("detail", ""))[:300])
    size, removed = header.get("size"), header.get("removed")
    if not isinstance(size, int) or not 0 <= size <= max_output or not isinstance(removed, list):
        raise Unreadable("unsafe", "the sandbox answered out of protocol")
    cleaned = [str(item)[:200] for item in removed[:32]]
    data = sent if header.get("same") is True else reader.read(size)
    return Scrubbed(data, cleaned, metadata_kept=bool(header.get("kept")))


#: One per process: started on first use, forgotten in forked children.
SANDBOX = Sandbox()
