"""Joining PCs to the hub: `hub init` (the first PC), enrolment files (every other PC).

An enrolment file is one-time: it carries a new hub role made for one PC, and the hub refuses a
second claim of that role. Everything in it except the key-derivation parameters is sealed with
AES-256-GCM under a key from the passphrase (Argon2id): the hub's address, the role's password and
the data key itself, which is what lets the new PC read the records it pulls.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import platform
import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..core.access import grants
from ..core.storage import audit
from ..core.storage.files import atomic_write, check_target, ensure_writable_folder
from ..core.storage.store import Store
from ..crypto import aead, vault
from ..crypto.kdf import KdfParams, default_params, derive_key, new_salt
from ..errors import (
    EnrolmentInterrupted,
    HubUnreachable,
    InvalidInput,
    NotAllowed,
    PerfectCareError,
    StoreAlreadyExists,
    StoreNotWritable,
    SyncError,
)
from ..paths import db_path
from ..store.models import KeyWrap
from . import device, hub_address, hub_admin
from .client import SyncClient, one_round

MAGIC = b"PERFECTCARE-ENROLMENT/1\n"
MIN_PASSPHRASE = 12
_KEY_ID = 0  # the sealed body's key is the passphrase's, not a data key
PARTIAL_PREFIX = ".enrolling-"  # a store being built by `enrol import`, inside the data folder


@dataclass(frozen=True)
class Enrolled:
    device_id: str
    organisation: str
    hub: str  # host/port/database, for messages


def _ca_pem(params: dict[str, Any]) -> str | None:
    path = params.get("sslrootcert")
    if not path or path == "system":
        return None
    try:
        return Path(path).read_text(encoding="ascii")
    except OSError as exc:
        raise InvalidInput(f"Cannot read the hub's CA certificate {path}: {exc.strerror}.") from exc


def init_hub(session: Any, url: str, label: str = "") -> tuple[hub_admin.HubFacts, Enrolled]:
    """Create or upgrade the hub at `url` (the owner's address) and enrol this store as its first PC."""
    session.require_admin()
    dek, store = session.require_unlocked(), session.store
    params = hub_address.parse(url)
    with store.reading() as conn:
        config = device.load(conn, dek)
        pinned = grants.public_key(conn)
    if pinned is None:  # a store from before accounts were signed: make the key here, once, for every PC
        pinned = session.make_admin_key().public
    facts = hub_admin.init_hub(params, store.store_id, store.organisation, pinned.hex())
    if config is not None:
        if config.hub_store_id == facts.store_id:  # run again (an upgrade): this PC stays as it was
            return facts, Enrolled(config.device_id, facts.organisation, hub_address.describe(config.hub))
        raise NotAllowed("This PC is already enrolled with another hub; it has not been changed.")
    role = hub_admin.create_device(params, facts, label or f"{platform.node()} (first PC)", session.user.username)
    hub = hub_address.address_part(params)
    config = device.DeviceConfig(hub, role.role, role.password, role.device_id, facts.store_id, _ca_pem(params))
    with hub_address.connect(config.params(store.data_dir)) as conn:
        hub_admin.claim(conn, role.device_id)
        conn.commit()
    with store.writing() as conn:
        device.save(conn, dek, config)
        audit.append(conn, dek, store.clock.now(), "sync_enrol", user_id=session.user.user_id,
                     detail=f"hub created or upgraded at {hub_address.describe(hub)}; this PC is device "
                     f"{role.device_id}")  # fmt: skip
    one_round(
        session.store, session.require_unlocked()
    )  # the hub holds this store's accounts before any other PC joins
    return facts, Enrolled(role.device_id, facts.organisation, hub_address.describe(hub))


def export_file(session: Any, admin_url: str, out: Path, passphrase: str, label: str = "") -> str:
    """Write a one-time enrolment file for another PC. Returns the new device's id."""
    session.require_admin()
    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(f"Choose an enrolment passphrase of at least {MIN_PASSPHRASE} characters.")
    dek, store = session.require_unlocked(), session.store
    out = Path(out)
    check_target(out, overwrite=False)  # before a hub role exists: a file, a link or a device already there
    if not out.parent.is_dir():
        raise InvalidInput(f"The folder {out.parent} does not exist; no enrolment file was made.")
    with store.reading() as conn:
        config = device.load(conn, dek)
        recovery = conn.execute(select(KeyWrap.__table__).where(KeyWrap.purpose == "recovery")).one()
        admin_public = grants.public_key(conn)
    if config is None:
        raise NotAllowed("This PC is not enrolled with a hub: run 'perfectcare-admin hub init' first.")
    params = hub_address.parse(admin_url)
    with hub_address.connect(params) as conn, hub_admin.owner_errors(params):
        facts = hub_admin.read_facts(conn)
    if facts is None or facts.store_id != config.hub_store_id:
        raise InvalidInput("That address is not this store's hub; give the owner's address of the hub this PC uses.")
    one_round(
        session.store, session.require_unlocked()
    )  # the new PC signs in with the accounts the hub holds: send this PC's first
    role = hub_admin.create_device(params, facts, label or "enrolment file", session.user.username)
    body = {
        "hub": config.hub,
        "ca_pem": config.ca_pem,
        "role": role.role,
        "password": role.password,
        "device_id": role.device_id,
        "store_id": facts.store_id,
        "organisation": store.organisation,
        "admin_public_key": admin_public.hex() if admin_public else None,
        "dek": base64.b64encode(dek.material()).decode("ascii"),
        "key_id": dek.key_id,
        "recovery": {
            "key_id": recovery.key_id,
            "kdf": recovery.kdf,
            "salt": base64.b64encode(recovery.salt).decode("ascii"),
            "wrapped": base64.b64encode(recovery.wrapped).decode("ascii"),
        },
    }
    written = False
    try:
        params_kdf, salt = default_params(), new_salt()
        header = json.dumps({"kdf": params_kdf.to_json(), "salt": base64.b64encode(salt).decode("ascii")}).encode()
        key = derive_key(passphrase, salt, params_kdf)
        sealed = aead.seal(key, _KEY_ID, json.dumps(body).encode(), MAGIC + header)
        atomic_write(out, MAGIC + header + b"\n" + sealed, overwrite=False)  # owner-only: it holds the role
        written = True
        with store.writing() as conn:
            audit.append(conn, dek, store.clock.now(), "sync_enrol", user_id=session.user.user_id,
                         detail=f"enrolment file made for device {role.device_id}")  # fmt: skip
    except BaseException as exc:
        # No file, no PC: a role that can log in to the hub with nobody holding its password must not stay.
        if written:  # ours, and useless without its role
            with contextlib.suppress(OSError):
                out.unlink()
        left = _drop_unused_role(params, role)
        if isinstance(exc, PerfectCareError | OSError):
            raise InvalidInput(f"{_reason(exc)} No enrolment file was made; {left}") from exc
        raise
    return role.device_id


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"The enrolment file {exc.filename or ''} could not be written ({exc.strerror or exc})."
    return str(exc)


def _drop_unused_role(params: dict[str, Any], role: hub_admin.DeviceRole) -> str:
    """Remove the hub role made for an enrolment file that was never written; if the hub cannot be
    reached to do it, say how to revoke the device by hand. Returns the sentence for the user."""
    from psycopg import sql

    try:
        with hub_address.connect(params) as conn:
            conn.execute("DELETE FROM devices WHERE device_id::text = %s", (role.device_id,))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role.role)))
            conn.commit()
    except Exception:  # noqa: BLE001 - any failure here: tell the administrator what to do instead
        return (
            f"the hub role made for it could not be removed: revoke it with 'perfectcare-admin hub revoke "
            f"{role.device_id}'."
        )
    return "the hub role made for it was removed."


def read_file(path: Path, passphrase: str) -> dict[str, Any]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Cannot read the enrolment file {path}: {exc.strerror}.") from exc
    if not data.startswith(MAGIC) or b"\n" not in data[len(MAGIC) :]:
        raise InvalidInput(f"{path} is not a PerfectCare enrolment file.")
    header, _, sealed = data[len(MAGIC) :].partition(b"\n")
    try:
        head = json.loads(header)
        kdf, salt = KdfParams.from_json(head["kdf"]), base64.b64decode(head["salt"])
    except (ValueError, KeyError, TypeError, RecursionError) as exc:  # RecursionError: nested thousands deep
        raise InvalidInput(f"{path} is damaged: its header cannot be read.") from exc
    try:
        body = aead.open_sealed(derive_key(passphrase, salt, kdf), sealed, MAGIC + header)
    except aead.DecryptionError:
        raise InvalidInput(
            "The passphrase does not open this enrolment file (or the file was altered). Nothing was changed."
        ) from None
    enrolment: dict[str, Any] = json.loads(body)  # sealed by export_file: a JSON object
    return enrolment


def import_file(path: Path, passphrase: str, data_dir: Path, clock: Any = None) -> Enrolled:
    """Join this PC: a new store holding the hub's accounts and records, ready to sign in to.

    The file is claimed on the hub first, and only then is the store built, in a staging folder that
    is renamed into place as the very last step. So whenever the import stops (a refusal, a lost
    line, the process killed), the data folder holds no store and the file cannot be used again: one
    file can never make two PCs with one device id (the hub keeps the first PC's audit entries and
    drops the second's as duplicates). Refusals before the claim leave the file usable."""
    body = read_file(path, passphrase)
    data_dir = Path(data_dir)
    dek = vault.DataKey(int(body["key_id"]), base64.b64decode(body["dek"]))
    rec = body["recovery"]
    recovery = vault.WrappedKey(
        rec["key_id"], rec["kdf"], base64.b64decode(rec["salt"]), base64.b64decode(rec["wrapped"])
    )
    config = device.DeviceConfig(body["hub"], body["role"], body["password"], body["device_id"], body["store_id"],
                                 body.get("ca_pem"))  # fmt: skip
    if db_path(data_dir).exists():
        raise StoreAlreadyExists(f"There is already a store in {data_dir}; enrolment makes a new one: choose an "
                                 "empty folder. Nothing was changed and the file can still be used.")  # fmt: skip
    try:
        ensure_writable_folder(data_dir)
    except OSError as exc:
        raise StoreNotWritable(f"Cannot create a store in {data_dir}: {exc.strerror or exc}.") from exc
    _remove_partials(data_dir)  # left by an import that was killed: never a usable store
    _claim(config, data_dir)
    staging = data_dir / f"{PARTIAL_PREFIX}{uuid.uuid4().hex}"
    try:
        _build(staging, body, dek, recovery, config, clock)
        _move_into_place(staging, data_dir)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, PerfectCareError | OSError | _driver_error()):
            raise _interrupted(exc, data_dir, config.device_id) from None
        raise  # a bug, or Ctrl+C: shown as such; the file is used up all the same
    return Enrolled(config.device_id, body["organisation"], hub_address.describe(config.hub))


def _driver_error() -> type[Exception]:
    import psycopg  # lazily, as everywhere: the app starts without the driver loaded

    return psycopg.Error


def _remove_partials(data_dir: Path) -> None:
    for partial in data_dir.glob(PARTIAL_PREFIX + "*"):
        shutil.rmtree(partial, ignore_errors=True)


def _claim(config: device.DeviceConfig, data_dir: Path) -> None:
    """Check the hub and use up the file there, before anything is made here."""
    import psycopg

    try:
        with hub_address.connect(config.params(data_dir)) as conn:
            facts = hub_admin.read_facts(conn)
            if facts is None or facts.store_id != config.hub_store_id:
                raise InvalidInput(
                    "The hub named in this enrolment file no longer holds its store. Ask for a new file."
                )
            # Checked before the claim, so a hub that no PC has synced to yet leaves the file usable.
            if conn.execute("SELECT 1 FROM users WHERE wrapped IS NOT NULL LIMIT 1").fetchone() is None:
                raise NotAllowed(
                    "The hub holds no accounts to sign in with yet. Run a sync on an enrolled PC first; the file "
                    "can still be used."
                )
            hub_admin.claim(conn, config.device_id)
            conn.commit()
    except psycopg.Error:
        raise HubUnreachable(
            f"The hub at {hub_address.describe(config.hub)} stopped answering before this PC joined; nothing was "
            "changed here. Try again; if it says the file was used, ask for a new one."
        ) from None


def _build(staging: Path, body: dict[str, Any], dek: vault.DataKey, recovery: vault.WrappedKey,
           config: device.DeviceConfig, clock: Any) -> None:  # fmt: skip
    """The joined store, complete, in `staging`: accounts, records, enrolment, audit entry."""
    store = Store.create_joined(staging, body["organisation"], body["store_id"], dek, recovery, clock,
                                admin_public_key=body.get("admin_public_key"))  # fmt: skip
    client = SyncClient(store)
    try:
        with store.writing() as conn:
            device.save(conn, dek, config)
        client.round(dek)  # the accounts (so people can sign in here) and the records
        with store.reading() as conn:
            if conn.execute(select(KeyWrap.wrap_id).where(KeyWrap.purpose == "user").limit(1)).first() is None:
                raise NotAllowed("none of the hub's accounts could be read here")
        with store.writing() as conn:
            audit.append(
                conn, dek, store.clock.now(), "sync_enrol", detail=f"joined the hub as device {config.device_id}"
            )
    finally:
        client.close()
        store.close()


def _move_into_place(staging: Path, data_dir: Path) -> None:
    """The last step: one rename, before which the data folder holds no store at all."""
    staged, target = db_path(staging), db_path(data_dir)
    # The WAL folded into the file, so the one file renamed is the whole store (the next open
    # switches back to WAL).
    with contextlib.closing(sqlite3.connect(staged)) as raw:
        raw.execute("PRAGMA journal_mode=DELETE")
    if target.exists():
        raise StoreAlreadyExists(f"A store appeared in {data_dir} while this PC was joining; it was left as it was.")
    os.replace(staged, target)
    shutil.rmtree(staging, ignore_errors=True)


def _interrupted(exc: BaseException, data_dir: Path, device_id: str) -> EnrolmentInterrupted:
    if isinstance(exc, SyncError | _driver_error()):
        reason = "the hub could not be reached or stopped answering"
    elif isinstance(exc, OSError):
        reason = f"the data folder could not be written ({exc.strerror or type(exc).__name__})"
    else:
        reason = str(exc).rstrip(".")
    return EnrolmentInterrupted(
        f"Joining stopped part-way: {reason}. Nothing was kept in {data_dir}, and this enrolment file is now used "
        f"up: ask an administrator for a new one (and to revoke device {device_id} with 'perfectcare-admin hub "
        "revoke')."
    )
