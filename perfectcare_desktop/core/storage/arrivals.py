"""Which versions arrived here rather than being saved here: pulled from the hub, or imported in bulk.

`verify` expects every version saved on this PC to be named by its create/update/entered-in-error
audit entry, so that cutting the audit tail while keeping the versions is seen. Versions from the hub
were audited on the PC that made them, and a bulk import is one audit entry; those are listed here
instead, one sealed row per batch (in `snapshots`, under the data key, bound to its name).

An attacker cannot add a version to these lists (they are sealed); deleting or rolling back a row can
only make more versions look unaudited, so it is reported, never hidden.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import DatabaseError

from ...crypto.aead import DecryptionError
from ...crypto.vault import DataKey
from ...store.models import AuditEntry, Meta, Record, Snapshot, Version, VersionParent
from ..clinical.statuses import ENTERED_IN_ERROR
from . import audit, versions

# Snapshot names are at most 32 characters: the prefix and 24 hex digits.
_PREFIX = "arrived:"
_BASELINE = "versions from before the audit cross-check listed"  # the detail of its one audit entry
_BASELINE_DONE = "arrivals_baseline"  # meta: a hint only, so that each sign-in need not read the trail
# Ends the detail of the store's first audit entry in every store made by this program: in the chain,
# so it can be neither added to an older store nor removed from a newer one. Such a store never needs
# the one-off listing below.
FROM_CREATION = "; every version audited or listed from the start"


def note(conn: Connection, dek: DataKey, version_ids: Iterable[str]) -> None:
    """Record, inside the caller's transaction, versions written here that were not saved here."""
    ids = sorted(set(version_ids))
    if ids:
        name = _PREFIX + uuid.uuid4().hex[:24]
        # Sealed here, not through patient_snapshot: a cache's format may change and be rebuilt; these
        # lists cannot be rebuilt.
        sealed = dek.seal(json.dumps(ids).encode(), "arrivals", name, "")
        conn.execute(insert(Snapshot), {"name": name, "upto_seq": 0, "payload": sealed})


def read(conn: Connection, dek: DataKey) -> tuple[set[str], int]:
    """(every version id listed, how many lists do not authenticate)."""
    rows = conn.execute(select(Snapshot.name, Snapshot.payload).where(Snapshot.name.startswith(_PREFIX)))
    listed: set[str] = set()
    damaged = 0
    for name, payload in rows:
        try:
            ids = json.loads(dek.open(payload, "arrivals", name, ""))
        except (DecryptionError, ValueError):
            ids = None
        if isinstance(ids, list):
            listed.update(map(str, ids))
        else:
            damaged += 1
    return listed, damaged


def ensure_baseline(store: Any, dek: DataKey, at: datetime) -> None:
    """Versions pulled or imported by an older program were never listed. Once per store, at the first
    sign-in, those without their audit entry are listed, and an audit entry says how many and when
    (`verify` shows it). A store this program made (FROM_CREATION) lists none and writes nothing; nor
    does an older store whose versions all have their entries. The meta hint only spares later sign-ins
    the scan: deleted, the scan runs again, and what it excuses then is in a dated entry that `verify`
    names as a problem (on an older store, from the second one on). A store damaged where the scan
    reads still signs in (verify names the damage); the scan runs once it is repaired."""
    try:
        with store.reading() as conn:
            if conn.execute(select(Meta.value).where(Meta.key == _BASELINE_DONE)).scalar():
                return
            older = [] if listed_from_creation(conn, dek) else _unaccounted(conn, dek)
        with store.writing() as conn:
            if older and not conn.execute(select(Meta.value).where(Meta.key == _BASELINE_DONE)).scalar():
                note(conn, dek, older)
                audit.append(conn, dek, at, "migrate", detail=f"{_BASELINE}: {len(older)}")
            conn.execute(insert(Meta).prefix_with("OR REPLACE"), {"key": _BASELINE_DONE, "value": "1"})
    except DatabaseError:
        return


def listed_from_creation(conn: Connection, dek: DataKey) -> bool:
    """Whether this program made the store, so that every version in it was audited or listed from the start."""
    first = audit.read(conn, dek, action="store_created", limit=1)
    return bool(first) and first[0].detail.endswith(FROM_CREATION)


def _unaccounted(conn: Connection, dek: DataKey) -> list[str]:
    """Versions named by no create/update audit entry (an "entered in error" note: by no entry naming
    the version it withdraws) and in no list."""
    entries = conn.execute(select(AuditEntry.action, AuditEntry.target_id).where(
        AuditEntry.action.in_(("create", "update", "entered_in_error")))).all()  # fmt: skip
    saved = {t for a, t in entries if a != "entered_in_error"}
    withdrawn = {t for a, t in entries if a == "entered_in_error"}
    listed, _ = read(conn, dek)
    out = []
    for version_id, status in conn.execute(select(Version.version_id, Version.status)):  # no payloads: cheap
        if version_id in listed or version_id in saved:
            continue
        if status == ENTERED_IN_ERROR and _marks(conn, dek, version_id) in withdrawn:
            continue
        out.append(version_id)
    return out


def _marks(conn: Connection, dek: DataKey, version_id: str) -> str | None:
    """The version an "entered in error" note withdraws (read from its sealed content)."""
    q = select(Version.__table__, Record.patient_id).join(Record, Record.record_id == Version.record_id)
    row = conn.execute(q.where(Version.version_id == version_id)).first()
    if row is None:
        return None  # belongs to no record: verify names it
    parents = conn.execute(select(VersionParent.parent_id).where(VersionParent.version_id == version_id))
    try:
        content = versions.payloads.decode(versions.open_payload(dek, row, parents.scalars().all(), row.patient_id))
    except (DecryptionError, ValueError):
        return None  # verify names a version that does not open
    return content.get("marks") if isinstance(content, dict) else None


def baselines(conn: Connection, dek: DataKey) -> list[audit.AuditRecord]:
    """The audit entries of `ensure_baseline` that listed versions, oldest first."""
    return [e for e in reversed(audit.read(conn, dek, action="migrate")) if e.detail.startswith(_BASELINE)]
