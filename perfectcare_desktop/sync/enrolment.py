"""Joining PCs to the hub: `hub init` (the first PC), enrolment files (every other PC).

An enrolment file is one-time: it carries a new hub role made for one PC, and the hub refuses a
second claim of that role. Everything in it except the key-derivation parameters is sealed with
AES-256-GCM under a key from the passphrase (Argon2id): the hub's address, the role's password and
the data key itself, which is what lets the new PC read the records it pulls.
"""

from __future__ import annotations

import base64
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..core import audit
from ..core.store import Store, remove_store_files
from ..crypto import aead, vault
from ..crypto.kdf import KdfParams, default_params, derive_key, new_salt
from ..errors import InvalidInput, NotAllowed
from ..store.models import KeyWrap
from . import device, hub_address, hub_admin
from .client import SyncClient, one_round

MAGIC = b"PERFECTCARE-ENROLMENT/1\n"
MIN_PASSPHRASE = 12
_KEY_ID = 0  # the sealed body's key is the passphrase's, not a data key


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
    session._require_admin()
    dek, store = session.dek, session.store
    params = hub_address.parse(url)
    with store.reading() as conn:
        config = device.load(conn, dek)
    facts = hub_admin.init_hub(params, store.store_id, store.organisation)
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
    one_round(session.store, session.dek)  # the hub holds this store's accounts before any other PC joins
    return facts, Enrolled(role.device_id, facts.organisation, hub_address.describe(hub))


def export_file(session: Any, admin_url: str, out: Path, passphrase: str, label: str = "") -> str:
    """Write a one-time enrolment file for another PC. Returns the new device's id."""
    session._require_admin()
    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(f"Choose an enrolment passphrase of at least {MIN_PASSPHRASE} characters.")
    dek, store = session.dek, session.store
    out = Path(out)
    if out.exists():
        raise InvalidInput(f"{out} already exists; choose a new file name (nothing was overwritten).")
    with store.reading() as conn:
        config = device.load(conn, dek)
        recovery = conn.execute(select(KeyWrap.__table__).where(KeyWrap.purpose == "recovery")).one()
    if config is None:
        raise NotAllowed("This PC is not enrolled with a hub: run 'perfectcare-admin hub init' first.")
    params = hub_address.parse(admin_url)
    with hub_address.connect(params) as conn:
        facts = hub_admin.read_facts(conn)
    if facts is None or facts.store_id != config.hub_store_id:
        raise InvalidInput("That address is not this store's hub; give the owner's address of the hub this PC uses.")
    one_round(session.store, session.dek)  # the new PC signs in with the accounts the hub holds: send this PC's first
    role = hub_admin.create_device(params, facts, label or "enrolment file", session.user.username)
    body = {
        "hub": config.hub,
        "ca_pem": config.ca_pem,
        "role": role.role,
        "password": role.password,
        "device_id": role.device_id,
        "store_id": facts.store_id,
        "organisation": store.organisation,
        "dek": base64.b64encode(dek.material()).decode("ascii"),
        "key_id": dek.key_id,
        "recovery": {
            "key_id": recovery.key_id,
            "kdf": recovery.kdf,
            "salt": base64.b64encode(recovery.salt).decode("ascii"),
            "wrapped": base64.b64encode(recovery.wrapped).decode("ascii"),
        },
    }
    params_kdf, salt = default_params(), new_salt()
    header = json.dumps({"kdf": params_kdf.to_json(), "salt": base64.b64encode(salt).decode("ascii")}).encode()
    sealed = aead.seal(derive_key(passphrase, salt, params_kdf), _KEY_ID, json.dumps(body).encode(), MAGIC + header)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_bytes(MAGIC + header + b"\n" + sealed)
    os.replace(partial, out)
    with store.writing() as conn:
        audit.append(conn, dek, store.clock.now(), "sync_enrol", user_id=session.user.user_id,
                     detail=f"enrolment file made for device {role.device_id}")  # fmt: skip
    return role.device_id


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
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"{path} is damaged: its header cannot be read.") from exc
    try:
        body = aead.open_sealed(derive_key(passphrase, salt, kdf), sealed, MAGIC + header)
    except aead.DecryptionError:
        raise InvalidInput(
            "The passphrase does not open this enrolment file (or the file was altered). Nothing was changed."
        ) from None
    return json.loads(body)


def import_file(path: Path, passphrase: str, data_dir: Path, clock: Any = None) -> Enrolled:
    """Join this PC: a new store holding the hub's accounts and records, ready to sign in to."""
    body = read_file(path, passphrase)
    dek = vault.DataKey(int(body["key_id"]), base64.b64decode(body["dek"]))
    rec = body["recovery"]
    recovery = vault.WrappedKey(
        rec["key_id"], rec["kdf"], base64.b64decode(rec["salt"]), base64.b64decode(rec["wrapped"])
    )
    config = device.DeviceConfig(body["hub"], body["role"], body["password"], body["device_id"], body["store_id"],
                                 body.get("ca_pem"))  # fmt: skip
    # Reach the hub before making anything, so a wrong address or a down hub leaves no half store.
    with hub_address.connect(config.params(Path(data_dir))) as conn:
        facts = hub_admin.read_facts(conn)
        if facts is None or facts.store_id != config.hub_store_id:
            raise InvalidInput("The hub named in this enrolment file no longer holds its store. Ask for a new file.")
        if conn.execute("SELECT 1 FROM device_claims WHERE role_name = current_user").fetchone() is not None:
            raise NotAllowed(
                "This enrolment file has already been used to join a PC. Ask an administrator for a new one."
            )
    store = Store.create_joined(Path(data_dir), body["organisation"], body["store_id"], dek, recovery, clock)
    client = SyncClient(store)
    try:
        with store.writing() as conn:
            device.save(conn, dek, config)
        client.round(dek)  # the accounts (so people can sign in here) and the records
        with store.reading() as conn:
            if conn.execute(select(KeyWrap.wrap_id).where(KeyWrap.purpose == "user").limit(1)).first() is None:
                raise NotAllowed("The hub holds no accounts to sign in with yet. Run a sync on an enrolled PC first.")
        hub = client.connection(dek)
        hub_admin.claim(hub, config.device_id)
        hub.commit()
        with store.writing() as conn:
            audit.append(
                conn, dek, store.clock.now(), "sync_enrol", detail=f"joined the hub as device {config.device_id}"
            )
    except BaseException:
        client.close()
        store.close()
        remove_store_files(Path(data_dir))  # nothing half-made is left; the file can be used again
        raise
    client.close()
    store.close()
    return Enrolled(config.device_id, body["organisation"], hub_address.describe(config.hub))
