"""The shipped deployment files made runnable on loopback: only names, paths and ports are replaced.

`nginx_site` turns deploy/nginx/reporter.conf and its snippet into files nginx can load from a
temporary folder, inside Debian's own /etc/nginx/nginx.conf (which turns gzip and an access log on
for every site: the site must switch them off itself). Every replacement must find its text, so a
change to the shipped files that a test would silently stop covering fails here instead.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DEBIAN_NGINX_CONF = Path("/etc/nginx/nginx.conf")
NAME = "localhost"
#: Asks for an answer as sent, so a test can read it (compression has its own test).
IDENTITY = {"Accept-Encoding": "identity"}


def missing(message: str) -> None:
    """Skip the test, or fail it in CI (REPORTER_REQUIRE_BROWSER=1), where every program must be there."""
    if os.environ.get("REPORTER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{message}, and REPORTER_REQUIRE_BROWSER=1 forbids skipping", pytrace=False)
    pytest.skip(message)


def require_program(name: str) -> str:
    """Return the path of a Debian program (skip or fail without it, see `missing`)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not found:
        missing(f"{name} is not installed (apt-get install {name}; scripts/test does it as root)")
    assert found
    return found


def replace(text: str, old: str, new: str) -> str:
    """Replace `old` (which must be there) by `new`."""
    assert old in text, f"the shipped file no longer contains {old!r}"
    return text.replace(old, new)


def self_signed_certificate(folder: Path) -> Path:
    """Write fullchain.pem and privkey.pem for `localhost` and 127.0.0.1 into `folder`; return the cert."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    now, day = datetime.datetime.now(datetime.UTC), datetime.timedelta(days=1)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - day).not_valid_after(now + day)
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName(NAME), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True)
    (folder / "privkey.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (folder / "fullchain.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return folder / "fullchain.pem"


def free_port() -> int:
    """Return a loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def has_ipv6_loopback() -> bool:
    """Tell whether ::1 can be bound here (some containers have no IPv6)."""
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@dataclass
class Ports:
    """The loopback ports the shipped 80, 443, 8080, 8000 and 8001 become."""

    http: int = field(default_factory=free_port)
    https: int = field(default_factory=free_port)
    onion: int = field(default_factory=free_port)
    app: int = field(default_factory=free_port)
    onion_app: int = field(default_factory=free_port)


def site_files(folder: Path, ports: Ports) -> Path:
    """Write the shipped site and snippet with loopback names, ports and paths; return the site file."""
    logs, certs = folder / "logs", folder / "certs"
    logs.mkdir()
    self_signed_certificate(certs)
    snippet = (DEPLOY / "nginx" / "reporter-common.conf").read_text()
    snippet = replace(snippet, "/var/log/nginx/", f"{logs}/")
    (folder / "reporter-common.conf").write_text(snippet)
    site = (DEPLOY / "nginx" / "reporter.conf").read_text()
    site = replace(site, "/etc/letsencrypt/live/reports.example.org/", f"{certs}/")
    site = replace(site, "/etc/nginx/snippets/reporter-common.conf", str(folder / "reporter-common.conf"))
    site = replace(site, "reports.example.org", NAME)
    site = replace(site, "listen 80 ", f"listen 127.0.0.1:{ports.http} ")
    site = replace(site, "listen 443 ", f"listen 127.0.0.1:{ports.https} ")
    ipv6 = has_ipv6_loopback()
    site = replace(site, "listen [::]:80 ", f"listen [::1]:{ports.http} " if ipv6 else "# listen [::]:80 ")
    site = replace(site, "listen [::]:443 ", f"listen [::1]:{ports.https} " if ipv6 else "# listen [::]:443 ")
    site = replace(site, "listen 127.0.0.1:8080;", f"listen 127.0.0.1:{ports.onion};")
    site = replace(site, "http://127.0.0.1:8000;", f"http://127.0.0.1:{ports.app};")
    site = replace(site, "http://127.0.0.1:8001;", f"http://127.0.0.1:{ports.onion_app};")
    (folder / "reporter.conf").write_text(site)
    return folder / "reporter.conf"


def nginx_conf(folder: Path, site: Path) -> Path:
    """Write Debian's nginx.conf with this site as the only one, its logs, pid and temporary files here."""
    main = DEBIAN_NGINX_CONF.read_text()
    main = replace(main, "include /etc/nginx/sites-enabled/*;", f"include {site};")
    main = replace(main, "/var/log/nginx/", f"{folder / 'logs'}/")
    main = replace(main, "pid /run/nginx.pid;", f"pid {folder / 'nginx.pid'};")
    temporary = "".join(f"\n\t{kind}_temp_path {folder / 'temp' / kind};"
                        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = replace(main, "http {", "http {" + temporary)
    (folder / "temp").mkdir()
    if os.geteuid() != 0:
        main = replace(main, "user www-data;", "")
    (folder / "nginx.conf").write_text(main)
    return folder / "nginx.conf"


class Nginx:
    """The real nginx, in the foreground, on loopback ports: `start()` waits until TLS answers."""

    def __init__(self, folder: Path, ports: Ports) -> None:
        self.folder, self.ports = folder, ports
        self.binary = require_program("nginx")
        if not DEBIAN_NGINX_CONF.is_file():
            missing(f"{DEBIAN_NGINX_CONF} is missing: the Debian package's configuration is needed")
        self.conf = nginx_conf(folder, site_files(folder, ports))
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, *extra: str) -> list[str]:
        """Return nginx's command line for this folder and configuration."""
        startup_log = self.folder / "logs" / "startup.log"
        return [self.binary, "-p", f"{self.folder}/", "-c", str(self.conf), "-e", str(startup_log), *extra]

    def start(self, timeout: float = 30) -> Nginx:
        """Check the configuration, start nginx (not as a daemon) and wait until the TLS port answers."""
        checked = subprocess.run(self.command("-t", "-q"), capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen(self.command("-g", "daemon off;"), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.ports.https), timeout=1):
                    return self
            except OSError:
                assert self.process.poll() is None, self.process.communicate()[1].decode(errors="replace")
                assert time.monotonic() < deadline, "nginx did not listen in time"
                time.sleep(0.1)

    def stop(self) -> str:
        """Stop nginx gracefully (it finishes and closes its logs); return what it wrote to stderr."""
        if self.process is None or self.process.poll() is not None:
            return ""
        subprocess.run(self.command("-s", "quit"), capture_output=True, check=False)
        try:
            _, stderr = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate()
        return stderr.decode(errors="replace")

    def log_files(self) -> list[Path]:
        """Return every file nginx may have written a log line to."""
        return sorted(path for path in (self.folder / "logs").iterdir() if path.is_file())


@dataclass
class Answer:
    """One HTTP answer: status, headers (repeated ones kept), body as sent."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def all(self, name: str) -> list[str]:
        """Return every value of header `name`."""
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def one(self, name: str) -> str:
        """Return the single value of header `name` (it must be sent exactly once)."""
        values = self.all(name)
        assert len(values) == 1, (name, values)
        return values[0]


def tls_context(certificate: Path) -> ssl.SSLContext:
    """Return a client context trusting only the test's self-signed certificate."""
    context = ssl.create_default_context(cafile=str(certificate))
    return context


def https(port: int, certificate: Path, method: str, path: str, *, headers: dict[str, str] | None = None,
          body: bytes | None = None, source: str = "127.0.0.1",
          context: ssl.SSLContext | None = None) -> Answer:
    """Send one request over TLS to 127.0.0.1:`port` from address `source`; Host is the site's name."""
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context or tls_context(certificate),
                                             source_address=(source, 0), timeout=60)
    return _exchange(connection, method, path, headers, body)


def plain(port: int, method: str, path: str, *, headers: dict[str, str] | None = None,
          body: bytes | None = None) -> Answer:
    """Send one plain-HTTP request to 127.0.0.1:`port`."""
    return _exchange(http.client.HTTPConnection("127.0.0.1", port, timeout=60), method, path, headers, body)


def _exchange(connection: http.client.HTTPConnection, method: str, path: str,
              headers: dict[str, str] | None, body: bytes | None) -> Answer:
    """Send one request with the site's name as Host on `connection`, read the answer, close."""
    try:
        connection.request(method, path, body=body, headers={"Host": NAME, **(headers or {})})
        response = connection.getresponse()
        return Answer(response.status, response.getheaders(), response.read())
    finally:
        connection.close()
