"""`reporter partner keygen | open`: a partner's key pair, and a case file opened with no installation."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from reporter.cli import main
from reporter.crypto import partner_files

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def keys(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["partner", "keygen", "--out", str(tmp_path / "keys")],
                           env={"REPORTER_PARTNER_PASSPHRASE": PASSPHRASE})
    assert result.exit_code == 0, result.output
    public, suite = partner_files.read_public_key((tmp_path / "keys" / "partner-public-key.txt").read_text())
    assert partner_files.fingerprint(public, suite)[:4] in result.output
    assert oct((tmp_path / "keys" / "partner-private-key.txt").stat().st_mode)[-3:] == "600"
    return tmp_path / "keys", public, suite


def _export(tmp_path, public, suite):
    data = partner_files.seal_export(
        export_id="a1" * 16, partner_public=public, suite=suite, created="2026-12-06",
        fields={"description": "They wrote to my sister.", "online_details": [{"platform": "vk"}]},
        files=[({"name": "../../etc/passwd", "kind": "png", "extension": "/../x"}, b"picture")])
    path = tmp_path / "case.reporter-export"
    path.write_bytes(data)
    return path


def _open(export, key, out, passphrase=PASSPHRASE):
    return CliRunner().invoke(main, ["partner", "open", str(export), "--key", str(key), "--out", str(out)],
                              env={"REPORTER_PARTNER_PASSPHRASE": passphrase,
                                   "REPORTER_KEYS_PATH": "/nonexistent"})


def test_open_writes_the_fields_and_files_into_the_folder(tmp_path, keys):
    folder, public, suite = keys
    result = _open(_export(tmp_path, public, suite), folder / "partner-private-key.txt", tmp_path / "out")
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "out" / "case.json").read_text())
    assert document["fields"]["description"] == "They wrote to my sister."
    assert "They wrote to my sister." in (tmp_path / "out" / "case.txt").read_text()
    assert (tmp_path / "out" / "file-1.bin").read_bytes() == b"picture"  # names chosen here, never sent ones
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["case.json", "case.txt", "file-1.bin"]


def test_a_tampered_file_wrong_key_or_passphrase_fails_clearly(tmp_path, keys):
    folder, public, suite = keys
    export = _export(tmp_path, public, suite)
    data = bytearray(export.read_bytes())
    data[-5] ^= 1
    tampered = tmp_path / "tampered"
    tampered.write_bytes(bytes(data))
    result = _open(tampered, folder / "partner-private-key.txt", tmp_path / "out1")
    assert result.exit_code == 1 and "error:" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out1").exists()
    wrong = _open(export, folder / "partner-private-key.txt", tmp_path / "out2",
                  passphrase="not the passphrase")
    assert wrong.exit_code == 1 and "passphrase" in wrong.output
    other = tmp_path / "other"
    assert CliRunner().invoke(main, ["partner", "keygen", "--out", str(other)],
                              env={"REPORTER_PARTNER_PASSPHRASE": PASSPHRASE}).exit_code == 0
    result = _open(export, other / "partner-private-key.txt", tmp_path / "out3")
    assert result.exit_code == 1 and "another key" in result.output
    missing = _open(tmp_path / "nothing-here", folder / "partner-private-key.txt", tmp_path / "out4")
    assert missing.exit_code == 1 and "cannot read" in missing.output


def test_keygen_refuses_a_short_passphrase_and_existing_keys(tmp_path, keys):
    folder, _, _ = keys
    again = CliRunner().invoke(main, ["partner", "keygen", "--out", str(folder)],
                               env={"REPORTER_PARTNER_PASSPHRASE": PASSPHRASE})
    assert again.exit_code == 1 and "already holds key files" in again.output
    short = CliRunner().invoke(main, ["partner", "keygen", "--out", str(tmp_path / "new")],
                               env={"REPORTER_PARTNER_PASSPHRASE": "short"})
    assert short.exit_code == 1 and "at least" in short.output
