"""`reporter keys recover | rotate | reindex-links | status`: recovery and work with the offline escrow key,
and key rotation."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from reporter import escrow
from reporter.crypto.seals import KeyPair
from reporter.extensions import db
from reporter.keyring import Keyring, KeyringError, load_keyring, read_escrow_private_key
from reporter.lifecycle import escrow_rotation, keys_status, link_index, rotation
from reporter.lifecycle.escrow_rotation import EscrowKeys, EscrowRotationRefused
from reporter.models.base import utcnow
from reporter.web import context


@click.group("keys")
def keys_group() -> None:
    """Key operations: recovery with the offline escrow key, rotation, status."""


@keys_group.command("recover")
@click.option("--escrow-key", "escrow_key", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The offline escrow private key file.")
@click.option("--user", "email", required=True, help="E-mail address of the staff member.")
@with_appcontext
def keys_recover_command(escrow_key: str, email: str) -> None:
    """Re-seal every case a person holds to their current public key (after their key was replaced).

    The escrow key opens each case's escrow seal; the data key is sealed again to the person's
    current public key, replacing their old seal. The key's fingerprint is shown first (compare it
    with the one the person sees), and a record that does not verify is refused. Each re-sealed case
    is an audit event.
    """
    key_pair = read_escrow_private_key(escrow_key)
    try:
        with db.writing() as session:
            found = escrow.target(session, email)
            state = "verified" if found.verified else "DOES NOT VERIFY (changed outside the application)"
            click.echo(f"sealing to the key of {email}: fingerprint {found.fingerprint}; record {state}")
            done = escrow.recover(session, keyring=context.keyring(), escrow_key=key_pair, email=email)
    except escrow.RecoveryRefused as refused:
        raise click.ClickException(str(refused)) from None
    for report_id in done.skipped:
        click.echo(f"case {report_id}: the escrow seal does not open (skipped)", err=True)
    click.echo(f"re-sealed {done.recovered} case(s) to the current key of {email}")


@keys_group.command("reindex-links")
@click.option("--escrow-key", "escrow_key", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The offline escrow private key file.")
@with_appcontext
def keys_reindex_links_command(escrow_key: str) -> None:
    """Make the blind indexes of every case's accounts and links again under the current linking key.

    For reports stored before cases were linked, or to finish a linking key rotation. Each case is
    opened with the escrow key; the run commits in batches and can be run again.
    """
    with db.writing() as session:
        _reindex(session, context.keyring(), read_escrow_private_key(escrow_key))


def _escrow_for(names: tuple[str, ...], escrow_key: str | None) -> KeyPair | None:
    if escrow_key is None:
        return None
    if "linking" not in names:
        raise rotation.RotationRefused("--escrow-key is for rotating the linking key: add --key linking")
    return read_escrow_private_key(escrow_key)


def _reindex(session: Session, keyring: Keyring, escrow_pair: KeyPair) -> None:
    done = link_index.reindex(session, keyring, escrow_pair,
                              progress=lambda d: click.echo(f"indexed {d.reports} case(s) so far"))
    for report_id in done.unopened:
        click.echo(f"case {report_id}: its escrow seal does not open with this key; its indexes were left "
                   "as they were", err=True)
    click.echo(f"indexed {done.reports} case(s) again: {done.rows} account and link index(es); "
               f"{len(done.unopened)} case(s) could not be opened")


def _keys_path() -> Path:
    return Path(current_app.config["REPORTER_KEYS_PATH"])


@keys_group.command("rotate")
@click.option("--key", "names", multiple=True, type=click.Choice(sorted(rotation.ROTATABLE)),
              help="Rotate only this instance key (repeatable). Default: all of them.")
@click.option("--escrow", is_flag=True, help="Rotate the escrow key instead: seal every case to a new one.")
@click.option("--old-escrow-key", "old_escrow_key", type=click.Path(exists=True, dir_okay=False),
              help="With --escrow: the current escrow private key file, brought from offline storage.")
@click.option("--escrow-key", "escrow_key", type=click.Path(exists=True, dir_okay=False),
              help="With --key linking: the escrow private key file, to index every case again.")
@with_appcontext
def keys_rotate_command(names: tuple[str, ...], escrow: bool, old_escrow_key: str | None,
                        escrow_key: str | None) -> None:
    """Make new instance keys; the old ones stay to read what was made with them.

    Stop the application first and start it again afterwards. An interrupted run is finished by
    running the command again (it takes up the same new keys). The linking key is rotated only when
    named, with --escrow-key. See `reporter keys status`.
    """
    if escrow:
        if not old_escrow_key:
            raise click.ClickException("--escrow needs --old-escrow-key FILE (the current escrow private "
                                       "key)")
        _rotate_escrow(Path(old_escrow_key))
        return
    keys_path = _keys_path()
    from_config = {"secret"} if current_app.config.get("REPORTER_SECRET_KEY") else set()
    try:
        escrow_pair = _escrow_for(names, escrow_key)
        chosen, resumed = rotation.plan(keys_path, list(names) or list(rotation.BY_DEFAULT),
                                        from_config=from_config, explicit=bool(names))
    except rotation.RotationRefused as refused:
        raise click.ClickException(str(refused)) from None
    if rotation.NEEDS_ESCROW & set(chosen) and escrow_pair is None:
        raise click.ClickException("this rotation includes the linking key: run it again with --escrow-key "
                                   "FILE (the escrow private key), which opens every case to index it again")
    if resumed:
        click.echo("finishing the rotation an earlier run started: " + ", ".join(chosen))
    elif not names and len(chosen) < len(rotation.BY_DEFAULT):
        left = sorted(set(rotation.BY_DEFAULT) - set(chosen))
        click.echo("left out (they come from the environment or the configuration): " + ", ".join(left))
    rotation.prepare(keys_path, chosen)
    if "audit" in chosen:
        with db.writing() as session:
            rotation.announce_audit_key(session, keys_path, context.keyring().audit_signing_key)
    for name in chosen:
        rotation.promote(keys_path, rotation.ROTATABLE[name])
    fresh = _reload(keys_path)
    with db.writing() as session:
        carried = rotation.carry_over(session, chosen, fresh)
        if escrow_pair is not None and "linking" in chosen:
            _reindex(session, fresh, escrow_pair)
        versions = rotation.finish(session, keys_path, chosen, fresh)
    for name, version in versions.items():
        click.echo(f"{name}: now version {version}; earlier versions kept for reading")
    if carried.signed:
        click.echo(f"signed again or re-encrypted under the new keys: {carried.signed} record(s)")
    for kind, object_id in carried.refused:
        click.echo(f"REFUSED {kind} {object_id}: does not verify under any key (changed outside the "
                   "application); left as it was", err=True)
    click.echo("restart the application so that it loads the new keys; see `reporter keys status`")


def _reload(keys_path: Path) -> Keyring:
    try:
        return load_keyring(keys_path, secret_key=current_app.config["REPORTER_SECRET_KEY"])
    except KeyringError as exc:
        raise click.ClickException(str(exc)) from None


def _rotate_escrow(old_file: Path) -> None:
    keys_path = _keys_path()
    try:
        keys = escrow_rotation.prepare(keys_path, old_file)
    except EscrowRotationRefused as refused:
        raise click.ClickException(str(refused)) from None
    if keys.new_private_file is not None:
        click.echo(f"the new escrow private key is in {keys.new_private_file}: MOVE IT OFFLINE when this "
                   "command has finished (it is needed only to recover access)")
    click.echo(f"sealing every case to the new escrow key {keys.new_id} (from {keys.old_id})")
    done = escrow_rotation.Resealed()
    with db.writing() as session:
        _reseal_with_progress(session, keys, done)
        escrow_rotation.promote(keys_path)
        _reseal_with_progress(session, keys, done)
        escrow_rotation.reseal_campaigns(session, keys, done)
        escrow_rotation.remove_old_seals(session, keys, done)
        escrow_rotation.finish(session, keys_path, keys, done)
    for report_id in done.unopened:
        click.echo(f"case {report_id}: its old escrow seal does not open; it keeps that seal and has no "
                   "seal to the new key", err=True)
    for campaign_id in done.campaigns_unopened:
        click.echo(f"campaign {campaign_id}: its old escrow seal does not open; it keeps that seal", err=True)
    if done.campaigns_sealed:
        click.echo(f"sealed {done.campaigns_sealed} campaign key(s) to the new escrow key")
    click.echo(f"sealed {done.sealed} case(s) to the new escrow key; removed {done.removed} old escrow "
               f"seal(s); {len(done.unopened)} case(s) could not be opened. Restart the application.")


def _reseal_with_progress(session: Session, keys: EscrowKeys, done: escrow_rotation.Resealed) -> None:
    total = escrow_rotation.cases_to_seal(session, keys)
    if total == 0:
        return
    with click.progressbar(length=total, label="re-sealing", show_eta=True, show_pos=True) as bar:
        escrow_rotation.reseal_pass(session, keys, done, progress=lambda n: bar.update(n))


@keys_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@with_appcontext
def keys_status_command(as_json: bool) -> None:
    """Show each key's version, its retired versions, and what still depends on each."""
    with db.writing() as session:
        found = keys_status.status(session, _keys_path(), context.keyring(), now=utcnow())
    if as_json:
        click.echo(keys_status.as_json(found))
        return
    if (_keys_path() / rotation.PLAN_FILE).exists():
        click.echo("UNFINISHED ROTATION: run `reporter keys rotate` again to finish it")
    for key in found:
        suffix = "  (UNFINISHED ROTATION: run `reporter keys rotate` again)" if key.unfinished else ""
        click.echo(f"{key.name} ({key.file}){suffix}")
        for version in key.versions:
            label = "current" if version.current else "retired"
            counts = ", ".join(f"{count} {what}" for what, count in version.dependents.items()) or "-"
            hint = ""
            if not version.current:
                hint = "  -> can be removed" if version.removable else "  -> still needed"
            click.echo(f"  v{version.version} {label}: {counts}{hint}")
            if version.note and not version.current:
                click.echo(f"      {version.note}")
