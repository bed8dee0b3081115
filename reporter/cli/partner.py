"""`reporter partner keygen | open`: what a partner organisation runs, on its own computer.

Neither command needs an installation: a partner has no server, only this program, its key files
and the export files a focal point sends it (reporter.crypto.partner_files).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from reporter.crypto import partner_files, seals, wrapping

PASSPHRASE_ENV = "REPORTER_PARTNER_PASSPHRASE"  # noqa: S105 - the name of a variable
PUBLIC_NAME, PRIVATE_NAME = "partner-public-key.txt", "partner-private-key.txt"
MIN_PASSPHRASE = 12
_EXTENSION = re.compile(r"^\.[a-z0-9]{1,5}$")


def _fail(message: str) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(1)


def _passphrase(confirm: bool) -> str:
    given = os.environ.get(PASSPHRASE_ENV)
    if given is None:
        given = click.prompt("Passphrase of the private key", hide_input=True, confirmation_prompt=confirm,
                             err=True)
    return given


def _write(path: Path, data: bytes | str, mode: int = 0o600) -> None:
    raw = data.encode() if isinstance(data, str) else data
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as sink:
        sink.write(raw)


@click.group("partner")
def partner_group() -> None:
    """For partner organisations: make a key pair, open a case sent to you."""


@partner_group.command("keygen")
@click.option("--out", "folder", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the two key files (created if needed).")
def keygen(folder: Path) -> None:
    """Make the organisation's key pair: a passphrase-protected private key file, and the public key
    file to send to the coordinators; print the fingerprint to read to them on the phone."""
    passphrase = _passphrase(confirm=True)
    if len(passphrase) < MIN_PASSPHRASE:
        _fail(f"the passphrase needs at least {MIN_PASSPHRASE} characters")
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / PRIVATE_NAME).exists() or (folder / PUBLIC_NAME).exists():
        _fail(f"{folder} already holds key files; choose another folder")
    pair = seals.generate_keypair()
    _write(folder / PRIVATE_NAME, partner_files.private_key_text(pair, passphrase, wrapping.DEFAULT_PARAMS))
    _write(folder / PUBLIC_NAME, partner_files.public_key_text(pair.public, pair.suite), 0o644)
    print_ = partner_files.fingerprint(pair.public, pair.suite)
    click.echo(f"Private key (keep it, never send it): {folder / PRIVATE_NAME}")
    click.echo(f"Public key (send it to the coordinators): {folder / PUBLIC_NAME}")
    click.echo("Fingerprint (read it to the coordinators):")
    click.echo(" ".join(print_[i:i + 4] for i in range(0, len(print_), 4)))


def _readable(fields: dict[str, Any], files: list[dict[str, Any]]) -> str:
    lines = []
    for name, value in fields.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)
        lines += [f"== {name} ==", text, ""]
    for number, meta in enumerate(files, start=1):
        sent_as = f"sent as {meta.get('name', '')!r}, {meta.get('kind', '')}"
        lines.append(f"file {number}: {meta['saved_as']} ({sent_as})")
    return "\n".join(lines) + "\n"


@partner_group.command("open")
@click.argument("export_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "key_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The organisation's private key file (from `reporter partner keygen`).")
@click.option("--out", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the case into (default: a new folder named after the export).")
def open_export(export_file: Path, key_file: Path, folder: Path | None) -> None:
    """Verify and open a case file sent to the organisation: the fields as case.txt and case.json, and
    the files, into a folder. A changed file, or one sealed to another key, is refused."""
    try:
        data, key_text = export_file.read_bytes(), key_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {exc.filename if isinstance(exc, OSError) else key_file}")
        return
    try:
        header, _, _ = partner_files.read_header(data)
        pair = partner_files.read_private_key(key_text, _passphrase(confirm=False))
        opened = partner_files.open_export(data, pair)
    except partner_files.PartnerFileInvalid as refused:
        _fail(str(refused))
        return
    target = folder or Path(f"case-{str(header.get('export', 'export'))[:12]}")
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        _fail(f"{target} is not empty; choose an empty folder with --out")
    files = []
    for number, (meta, body) in enumerate(opened.files, start=1):
        extension = str(meta.get("extension", ""))
        saved = f"file-{number}{extension if _EXTENSION.match(extension) else '.bin'}"
        _write(target / saved, body)
        files.append({**meta, "saved_as": saved})
    document = {"export": opened.header, "fields": opened.fields, "files": files}
    _write(target / "case.json", json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    _write(target / "case.txt", _readable(opened.fields, files))
    click.echo(f"Opened export {header.get('export')} of {header.get('created')} into {target}")
