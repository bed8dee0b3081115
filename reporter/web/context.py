"""Typed access to the collaborators `create_app` puts on the application.

Views and commands ask here instead of looking up `current_app.extensions` by string, so a
collaborator has one name, one type and one place that says how it is found.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, current_app

from reporter.crypto.wrapping import MINIMAL_PARAMS, KdfParams
from reporter.evidence.store import AttachmentStore
from reporter.keyring import Keyring

KEYRING = "reporter.keyring"
ATTACHMENT_STORE = "reporter.attachment_store"


def install(app: Flask, *, keyring: Keyring, store: AttachmentStore) -> None:
    """Put the instance keys and the attachment store on `app`."""
    app.extensions[KEYRING] = keyring
    app.extensions[ATTACHMENT_STORE] = store


def keyring(app: Flask | None = None) -> Keyring:
    """Return the instance keys."""
    keys: Keyring = (app or current_app).extensions[KEYRING]
    return keys


def attachment_store(app: Flask | None = None) -> AttachmentStore:
    """Return the encrypted attachment store."""
    store: AttachmentStore = (app or current_app).extensions[ATTACHMENT_STORE]
    return store


def kdf_params(app: Flask | None = None) -> KdfParams:
    """Return the argon2id cost: the configured one, or the minimal one in tests that ask for it."""
    cfg = (app or current_app).config
    if cfg.get("TESTING") and cfg.get("REPORTER_ARGON2_TEST_FAST"):
        return MINIMAL_PARAMS
    return KdfParams(memory_kib=int(cfg["REPORTER_ARGON2_MEMORY_KIB"]),
                     time_cost=int(cfg["REPORTER_ARGON2_TIME_COST"]),
                     parallelism=int(cfg["REPORTER_ARGON2_PARALLELISM"]))


def deadline_hours(app: Flask | None = None) -> Mapping[str, int]:
    """Return the response deadline, in hours, of each risk level."""
    hours: Mapping[str, int] = (app or current_app).config["REPORTER_DEADLINE_HOURS"]
    return hours
