"""The process side of the sandbox: a clean pre-started process (the zygote) that forks one confined
child per file; the child reads the file from a pipe, scrubs it and writes the cleaned copy to a pipe.

Run as ``python -m reporter.evidence.sandbox_process FD`` by `reporter.evidence.sandbox`, which
explains the design. Here, in order:

- The zygote is a fresh interpreter, not a fork of the serving worker: it never held an instance key,
  a database connection, a session or another report, so neither does any child. Its environment is
  emptied by the parent (keys may be given as environment variables). It loads the scrubbers and runs
  each once on a tiny file made in memory, so every module a scrubber may import lazily is loaded
  before a child is confined (a confined child cannot open a file, and so cannot import one).
- It then leaves the host's network: a new network namespace (`unshare`; with a new user namespace
  unless it runs as root), which has no interface but a loopback that is down, no route, and no way
  to reach the host's abstract Unix sockets. And the host's files: an empty private folder, deleted
  at once, becomes its root (`chroot`), so no path leads anywhere (no instance folder, no keys, no
  /proc) and nothing can be created there. Where the kernel does not allow unprivileged namespaces
  both are skipped and reported to the parent, which logs it. Started by root, it becomes nobody.
  `no_new_privs` is set, so no child can gain privileges by exec.
- For each request (the file's kind and size, the limits, and two pipe ends passed over the socket),
  it forks a child and hands the parent a pidfd of it, through which the parent kills the child at
  its wall-clock deadline without any risk of hitting a reused process id.
- The child keeps exactly five descriptors (/dev/null as 0-2, the data pipe as 3, the result pipe
  as 4) and confines itself before it reads a byte: no core dumps, not dumpable (no ptrace by other
  processes of the same user), RLIMIT_FSIZE 0 (no file can be written), RLIMIT_NOFILE 5 (no file or
  socket can be opened), RLIMIT_NPROC 0 (no fork), RLIMIT_CPU, and RLIMIT_AS: its address space may
  grow by the memory limit and no further. It answers with a JSON header and the cleaned bytes, or
  the reason for a refusal; a MemoryError or RecursionError is answered as "unsafe".

There is no seccomp filter: no maintained Python binding of libseccomp installs from PyPI. So code
that took over a child (through a bug in a native decoder) could still make system calls; it would
find no network, no file system, no process it may start, and only its two pipes to talk through:
what it can do is answer anything it likes about the file it was given. See SECURITY.md.
"""

from __future__ import annotations

import ctypes
import fcntl
import gc
import io
import json
import os
import resource
import signal
import socket
import struct
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

from reporter.evidence.inspection import scrub
from reporter.evidence.sandbox import HEADER, MAX_HEADER_BYTES
from reporter.evidence.scrubbing import Scrubbed

DATA_FD, RESULT_FD = 3, 4
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 4, 38
NOBODY = 65534

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Room:
    """What the zygote prepares for its children before it leaves the host's filesystem."""

    null_fd: int
    #: The zygote's address space when it started serving; a child may add the memory limit to it.
    address_space: int


def _leave_network() -> bool:
    """Move into a new network namespace (no interface up, no route); False if the kernel refuses.

    Root may do so directly (and then gives up root, `_drop_root`); anyone else needs a new user
    namespace too, which also leaves every capability behind in the host's namespaces.
    """
    flags = CLONE_NEWNET if os.geteuid() == 0 else CLONE_NEWUSER | CLONE_NEWNET
    return _libc.unshare(flags) == 0


def _drop_root() -> None:
    """A zygote started by root becomes nobody, whose children RLIMIT_NPROC binds (root it does not)."""
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def _warm_up() -> None:
    """Scrub one tiny file of each family, so every lazily imported module is loaded now."""
    from PIL import Image, ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the rotation path
    for kind, options in (("jpeg", {"exif": exif, "icc_profile": icc}), ("png", {"icc_profile": icc}),
                          ("webp", {"lossless": True}), ("gif", {})):
        out = io.BytesIO()
        Image.new("RGB", (4, 3), "gray").save(out, kind.upper(), **options)
        _try(kind, out.getvalue())
    import pikepdf

    pdf, out = pikepdf.new(), io.BytesIO()
    pdf.add_blank_page(page_size=(20, 20))
    pdf.save(out)
    _try("pdf", out.getvalue())
    _try("mp3", (bytes([0xFF, 0xFB, 0x90, 0x64]) + bytes(413)) * 3)
    _try("text", b"warm")
    json.dumps(json.loads("{}"))


def _try(kind: str, data: bytes) -> None:
    try:
        scrub(kind, data)
    except ValueError:
        pass


def _vm_size() -> int:
    with open("/proc/self/status", "rb") as status:  # bytes: no codec to look up (and import)
        for line in status:
            if line.startswith(b"VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _enter_empty_root() -> bool:
    """Make an empty private folder the root of this process (and so of its children), deleted first.

    No path then leads anywhere (no instance folder, no keys, no /proc, no /tmp), and nothing can be
    created: a deleted folder takes no new entries. False where the kernel refuses (no namespace).
    """
    folder = tempfile.mkdtemp(prefix="reporter-sandbox-")
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.rmdir(folder)
        os.fchdir(descriptor)
        os.chroot(".")
    except OSError:
        return False
    finally:
        os.close(descriptor)
    # The kernel answers getcwd() for a deleted folder with ENOENT; the process is at "/" as it sees
    # it, and Pillow asks (os.path.abspath) when it saves an image it opened.
    os.getcwd = lambda: "/"
    return True


def _confine(data_fd: int, result_fd: int, null_fd: int, *, address_space: int, cpu: int) -> None:
    """Keep five descriptors and lower every limit before the child reads a byte of the file."""
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in (data_fd, result_fd, null_fd)]
    os.closerange(0, 100)
    for target in (0, 1, 2):
        os.dup2(high[2], target)
    os.dup2(high[0], DATA_FD)
    os.dup2(high[1], RESULT_FD)
    os.closerange(RESULT_FD + 1, 1 << 16)
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    limits = {
        resource.RLIMIT_CORE: 0, resource.RLIMIT_FSIZE: 0, resource.RLIMIT_NOFILE: RESULT_FD + 1,
        resource.RLIMIT_NPROC: 0, resource.RLIMIT_CPU: cpu, resource.RLIMIT_AS: address_space,
    }
    for limit, value in limits.items():
        _, ceiling = resource.getrlimit(limit)  # an operator's tighter limit stays
        if ceiling != resource.RLIM_INFINITY:
            value = min(value, ceiling)
        hard = value + 1 if limit == resource.RLIMIT_CPU else value  # SIGXCPU first, then SIGKILL
        resource.setrlimit(limit, (value, hard if ceiling == resource.RLIM_INFINITY else min(hard, ceiling)))


def _read_exactly(fd: int, size: int) -> bytes:
    chunks, wanted = [], size
    while wanted:
        chunk = os.read(fd, min(wanted, 1 << 20))
        if not chunk:
            raise EOFError("the file was cut short")
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)


def _answer(header: dict[str, Any], data: bytes = b"") -> None:
    encoded = json.dumps(header).encode()
    with os.fdopen(RESULT_FD, "wb", buffering=0) as out:
        out.write(HEADER.pack(len(encoded)) + encoded)
        view = memoryview(data)
        while view:
            view = view[out.write(view) or 0:]


def _limit_hit(exc: BaseException) -> str | None:
    """Return the name of the limit behind an error (MemoryError, RecursionError), or None."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, MemoryError | RecursionError):
            return type(seen).__name__
        seen = seen.__cause__ or seen.__context__
    return None


def _scrubbed(request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    try:
        data = _read_exactly(DATA_FD, int(request["size"]))
        result: Scrubbed = scrub(str(request["kind"]), data, max_image_pixels=int(request["max_pixels"]))
    except (ValueError, MemoryError, RecursionError) as refused:  # UploadRejected is a ValueError
        limit = _limit_hit(refused)
        if limit or not hasattr(refused, "reason"):
            return {"ok": False, "reason": "unsafe", "detail": limit or type(refused).__name__}, b""
        return {"ok": False, "reason": refused.reason, "detail": str(refused.__cause__ or refused)[:300]}, b""
    if len(result.data) > int(request["output"]):
        return {"ok": False, "reason": "unsafe", "detail": "cleaned copy too large"}, b""
    header = {"ok": True, "removed": result.removed, "kept": result.metadata_kept}
    if result.data == data:  # text, or a recording without tags: nothing to send back
        return {**header, "same": True, "size": 0}, b""
    return {**header, "size": len(result.data)}, result.data


def _child(request: dict[str, Any], data_fd: int, result_fd: int, room: Room) -> None:
    """Run in the forked child: confine, read, scrub, answer, exit. Never returns."""
    status = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _confine(data_fd, result_fd, room.null_fd, address_space=room.address_space + int(request["memory"]),
                 cpu=int(request["cpu"]))
        header, data = _scrubbed(request)
        _answer(header, data)
        status = 0
    except BaseException:  # noqa: S110 - the parent reads a missing answer as a refusal
        pass
    finally:
        os._exit(status)


def serve(channel: socket.socket, room: Room) -> None:
    """Fork one confined child per request until the parent closes the channel."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    while True:
        message, fds, _, _ = socket.recv_fds(channel, MAX_HEADER_BYTES, 2)
        if not message:
            return
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            continue
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            channel.close()
            _child(request, fds[0], fds[1], room)
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        try:
            socket.send_fds(channel, [struct.pack(">q", pid)], [pidfd])
        finally:
            os.close(pidfd)


def main(argv: list[str]) -> None:
    """Start the zygote on the socket descriptor given as the only argument."""
    channel = socket.socket(fileno=int(argv[0]))
    _warm_up()
    gc.freeze()  # children's collections never touch (and so never copy) the zygote's own objects
    room = Room(null_fd=os.open(os.devnull, os.O_RDWR), address_space=_vm_size())
    network = "namespace" if _leave_network() else "host"
    filesystem = "empty" if _enter_empty_root() else "host"
    _drop_root()
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    channel.send(json.dumps({"ready": True, "network": network, "filesystem": filesystem}).encode())
    try:
        serve(channel, room)
    except (ConnectionError, OSError):
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
