"""The versioned key file layout: atomic private writes, versions, retired keys from the environment."""

from __future__ import annotations

import stat

import pytest

from reporter.keyring import RECEIPT, SECRET, KeyringError, load_keyring
from reporter.lifecycle import keyfiles


def test_a_key_file_is_written_whole_and_private(tmp_path):
    target = tmp_path / "receipt_lookup.key"
    keyfiles.write_atomic(target, "first\n")
    keyfiles.write_atomic(target, "second\n")
    assert target.read_text() == "second\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == ["receipt_lookup.key"]  # no temporary left


def test_retired_file_names_follow_the_current_one():
    assert RECEIPT.retired_file(1) == "receipt_lookup.1.key"
    assert RECEIPT.next_file == "receipt_lookup.next.key"
    assert SECRET.retired_file(2) == "secret_key.2"


def test_the_current_version_counts_retired_files_once():
    assert keyfiles.current_version({}, "k") == 1
    assert keyfiles.current_version({1: "a\n"}, "b\n") == 2
    # Stopped between retiring and replacing: the retired copy is the current key itself.
    assert keyfiles.current_version({1: "a\n", 2: "b\n"}, "b") == 2


def test_an_installation_that_never_rotated_reads_as_version_one(instance_path):
    keyring = load_keyring(instance_path / "keys")
    assert keyring.receipt_key_version == 1 and keyring.secret_key_fallbacks == ()
    assert [version for version, _ in keyring.audit_public_keys()] == [1]


def test_a_malformed_retired_variable_is_refused_clearly(instance_path, monkeypatch):
    monkeypatch.setenv("REPORTER_RECEIPT_KEY_RETIRED", "not-a-version-entry")
    with pytest.raises(KeyringError, match="REPORTER_RECEIPT_KEY_RETIRED"):
        load_keyring(instance_path / "keys")
