"""`reporter audit verify | pubkey | head`: check and export the tamper-evident audit chain.

`head` prints a signed checkpoint to keep away from this server; `verify --against` later proves the
log still holds that head unchanged and only grew after it.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask.cli import AppGroup

from reporter.audit import chain, heads
from reporter.extensions import db
from reporter.web import context


@click.group("audit", cls=AppGroup)
def audit_group() -> None:
    """Verify and export the tamper-evident audit chain."""


def _audit_public_key() -> Ed25519PublicKey:
    return context.keyring().audit_signing_key.public_key()


@audit_group.command("verify")
@click.option("--against", "saved", type=click.Path(exists=True),
              help="A signed head saved earlier (from /audit/head, `reporter audit head`, an e-mail), or a "
                   "folder of them (REPORTER_AUDIT_HEAD_LOG files: one head per line).")
def audit_verify(saved: str | None) -> None:
    """Recompute every hash and checkpoint signature and check checkpoints come as often as they must;
    with --against, prove every saved head is still in the log unchanged."""
    public_key = context.keyring().audit_verification_keys()
    found = _read_heads(saved) if saved else []
    with db.writing() as session:
        try:
            result = chain.verify_chain(session, public_key)
            for where, head in found:
                try:
                    heads.verify_against(session, head, public_key)
                except chain.ChainBroken as broken:
                    raise chain.ChainBroken(broken.seq, f"{broken.reason} ({where})") from None
        except chain.ChainBroken as broken:
            click.echo(str(broken))
            sys.exit(1)
    suffix = f"; {len(found)} saved head(s) still in the log" if saved else ""
    click.echo(f"intact: {result.events} events, last checkpoint seq {result.last_checkpoint}{suffix}")


def _read_heads(path: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        found = list(heads.saved_heads(Path(path)))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read the saved heads in {path}: {exc}") from None
    if not found:
        raise click.ClickException(f"{path} holds no reporter audit head")
    return found


@audit_group.command("pubkey")
def audit_pubkey() -> None:
    """Print the public key that signs audit checkpoints (keep a copy away from this server)."""
    public_key = _audit_public_key()
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    click.echo(f"ed25519:{base64.b64encode(raw).decode()}  key id {chain.key_id(public_key)}")


@audit_group.command("head")
def audit_head() -> None:
    """Sign a checkpoint of the newest event and print it as the document auditors keep."""
    signer = context.keyring().audit_signing_key
    with db.writing() as session:
        head = heads.export_head(session, signer, actor=chain.SYSTEM)
        session.commit()
    click.echo(json.dumps(head, indent=2))
