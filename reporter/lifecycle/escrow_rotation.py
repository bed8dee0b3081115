"""`reporter keys rotate --escrow`: seal every case's data key to a new escrow key, resumably.

The old escrow private key comes in from offline storage for this run only. The new pair is made once:
its private half is written to ``escrow-private-<fingerprint>.key.MOVE-OFFLINE`` in the instance folder
(as ``reporter init`` does; it must go offline afterwards), then its public half to
``keys/escrow.next.pub``. That file marks the unfinished rotation: a rerun seals to that same key,
never to a third one (and a rerun that finds only the private file, from a run killed between the two
writes, takes that key up again).

Cases are taken in batches by report id, with a commit after each. A case gets its new escrow seal
*beside* the old one; old seals are deleted only after every case that could be sealed again was, and
only for cases that have their new seal: at every moment each case holds at least one escrow seal
that opens. A case whose old seal does not open keeps it, gets no new one, and is reported.
After the first pass the new public key becomes the current one (the old one is kept as
``escrow.<n>.pub`` for `reporter keys status`), and a second pass seals the cases submitted meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from reporter import vault
from reporter.audit import chain
from reporter.cases import campaigns
from reporter.cases.recipients import Recipient
from reporter.crypto import CiphertextInvalid, seals
from reporter.keyring import ESCROW, decode_key, encode_key, escrow_key_id, read_escrow_private_key
from reporter.lifecycle import keyfiles
from reporter.models import Report, Seal

BATCH = 500
PRIVATE_PATTERN = "escrow-private-*.key.MOVE-OFFLINE"


class EscrowRotationRefused(Exception):
    """Escrow rotation cannot start or go on; the message says why, for the console."""


@dataclass(frozen=True)
class EscrowKeys:
    """The escrow key being retired (with its private half) and the one replacing it (public only)."""

    old: seals.KeyPair
    new_public: bytes
    new_suite: str
    #: Where the new private key was written in this run (None when an earlier run made it).
    new_private_file: Path | None = None

    @property
    def old_id(self) -> str:
        """Return the fingerprint of the old escrow key, as seal rows name it."""
        return escrow_key_id(self.old.public)

    @property
    def new_id(self) -> str:
        """Return the fingerprint of the new escrow key."""
        return escrow_key_id(self.new_public)


@dataclass
class Resealed:
    """What a run did: cases sealed to the new key, old seals removed, cases whose old seal did not open."""

    sealed: int = 0
    removed: int = 0
    unopened: list[str] = field(default_factory=list)
    #: Campaign keys sealed to the new escrow key, and campaigns whose old escrow seal did not open.
    campaigns_sealed: int = 0
    campaigns_unopened: list[str] = field(default_factory=list)


def _public_text(suite: str, public: bytes) -> str:
    return f"{suite}\n{encode_key(public)}"


def _read_public(text: str) -> tuple[str, bytes]:
    suite, _, body = text.partition("\n")
    return suite.strip(), decode_key(body, ESCROW.file)


def _known_publics(keys_path: Path) -> set[bytes]:
    texts = [*keyfiles.retired_versions(keys_path, ESCROW).values(), (keys_path / ESCROW.file).read_text()]
    return {_read_public(text)[1] for text in texts}


def prepare(keys_path: Path, old_private_file: Path) -> EscrowKeys:
    """Check the old private key, and return the keys of this rotation (making the new pair once)."""
    try:
        old = read_escrow_private_key(old_private_file)
    except (OSError, ValueError) as exc:
        raise EscrowRotationRefused(f"cannot read the old escrow key {old_private_file}: {exc}") from None
    pending = keyfiles.pending(keys_path, ESCROW)
    current_suite, current = _read_public((keys_path / ESCROW.file).read_text())
    made: Path | None = None
    if pending is None:
        if old.public != current:
            raise EscrowRotationRefused("this escrow key is not the installation's current escrow key")
        pending, made = _new_pending(keys_path, current_suite)
    suite, new_public = _read_public(pending)
    expected = current if new_public != current else _highest_retired(keys_path)
    if old.public != expected:
        raise EscrowRotationRefused("this escrow key is not the one the unfinished rotation replaces")
    return EscrowKeys(old=old, new_public=new_public, new_suite=suite, new_private_file=made)


def _highest_retired(keys_path: Path) -> bytes | None:
    retired = keyfiles.retired_versions(keys_path, ESCROW)
    return _read_public(retired[max(retired)])[1] if retired else None


def _new_pending(keys_path: Path, suite: str) -> tuple[str, Path | None]:
    """Write the new pair (private first, then the pending public); adopt one a killed run left."""
    known = _known_publics(keys_path)
    for path in sorted(keys_path.parent.glob(PRIVATE_PATTERN)):
        orphan = read_escrow_private_key(path)
        if orphan.public not in known:
            text = _public_text(orphan.suite, orphan.public)
            keyfiles.write_atomic(keys_path / ESCROW.next_file, text)
            return text, path
    pair = seals.generate_keypair(suite) if suite else seals.generate_keypair()
    fingerprint = escrow_key_id(pair.public).split(":", 1)[1]
    private_path = keys_path.parent / PRIVATE_PATTERN.replace("*", fingerprint)
    keyfiles.write_atomic(private_path, f"{pair.suite}\n{encode_key(pair.private)}")
    text = _public_text(pair.suite, pair.public)
    keyfiles.write_atomic(keys_path / ESCROW.next_file, text)
    return text, private_path


def cases_to_seal(session: Session, keys: EscrowKeys) -> int:
    """Return how many cases have no seal to the new escrow key yet."""
    sealed = select(Seal.report_id).where(Seal.recipient_kind == "escrow", Seal.recipient_id == keys.new_id)
    return int(session.scalar(select(func.count()).select_from(Report).where(Report.id.not_in(sealed))) or 0)


def _report_batches(session: Session) -> Iterator[list[Report]]:
    after = ""
    while True:
        query = select(Report).where(Report.id > after).order_by(Report.id).limit(BATCH)
        batch = list(session.scalars(query))
        if not batch:
            return
        yield batch
        after = batch[-1].id


def reseal_pass(session: Session, keys: EscrowKeys, done: Resealed,
                progress: Callable[[int], None] = lambda _n: None) -> None:
    """Seal each case lacking it to the new escrow key, from its old escrow seal; commit per batch."""
    for reports in _report_batches(session):
        by_report: dict[str, dict[str, Seal]] = {}
        query = select(Seal).where(Seal.recipient_kind == "escrow",
                                   Seal.report_id.in_([report.id for report in reports]))
        for seal in session.scalars(query):
            by_report.setdefault(seal.report_id, {})[seal.recipient_id] = seal
        due = [report for report in reports if keys.new_id not in by_report.get(report.id, {})]
        for report in due:
            _seal_one(session, keys, report, by_report.get(report.id, {}).get(keys.old_id), done)
        session.commit()
        session.expunge_all()
        progress(len(due))


def _seal_one(session: Session, keys: EscrowKeys, report: Report, old_seal: Seal | None,
              done: Resealed) -> None:
    try:
        if old_seal is None:
            raise CiphertextInvalid("no escrow seal under the old key")
        data_key = vault.open_public_key_seal(old_seal, keys.old.private)
    except CiphertextInvalid:
        if report.id not in done.unopened:
            done.unopened.append(report.id)
        return
    session.add(vault.seal_to_public_key(report, data_key, kind="escrow", recipient_id=keys.new_id,
                                         public_key=keys.new_public, suite=keys.new_suite))
    done.sealed += 1


def promote(keys_path: Path) -> None:
    """Make the pending escrow public key the current one, keeping the old one as a retired version."""
    pending = keyfiles.pending(keys_path, ESCROW)
    current_text = (keys_path / ESCROW.file).read_text()
    if pending is None or pending.strip() == current_text.strip():
        return
    retired = keyfiles.retired_versions(keys_path, ESCROW)
    version = keyfiles.current_version(retired, current_text)
    if version not in retired:
        keyfiles.write_atomic(keys_path / ESCROW.retired_file(version), current_text)
    keyfiles.write_atomic(keys_path / ESCROW.file, pending)


def remove_old_seals(session: Session, keys: EscrowKeys, done: Resealed) -> None:
    """Delete old-key escrow seals of the cases that hold a new one, in batches; commit each."""
    renewed = select(Seal.report_id).where(Seal.recipient_kind == "escrow", Seal.recipient_id == keys.new_id)
    while True:
        ids = list(session.scalars(select(Seal.id).where(
            Seal.recipient_kind == "escrow", Seal.recipient_id == keys.old_id,
            Seal.report_id.in_(renewed)).limit(BATCH)))
        if not ids:
            return
        session.execute(delete(Seal).where(Seal.id.in_(ids)))
        session.commit()
        done.removed += len(ids)


def reseal_campaigns(session: Session, keys: EscrowKeys, done: Resealed) -> None:
    """Seal the campaign keys (reporter.cases.campaigns) to the new escrow key; commit."""
    new = Recipient(id=keys.new_id, role="escrow", public_key=keys.new_public, suite=keys.new_suite)
    sealed, unopened = campaigns.reseal_escrow(session, old_private=keys.old.private, old_id=keys.old_id,
                                               new=new)
    session.commit()
    done.campaigns_sealed += sealed
    done.campaigns_unopened.extend(unopened)


def finish(session: Session, keys_path: Path, keys: EscrowKeys, done: Resealed) -> None:
    """Write the ``keys.escrow_rotated`` event and remove the pending file; commit."""
    chain.record(session, actor=chain.CONSOLE, action="keys.escrow_rotated", object_type="key",
                 object_id="escrow", detail={"from": keys.old_id, "to": keys.new_id, "sealed": done.sealed,
                                             "unopened": len(done.unopened),
                                             "campaigns": done.campaigns_sealed})
    session.commit()
    keyfiles.remove(keys_path / ESCROW.next_file)
