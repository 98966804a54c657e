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

from sqlalchemy import Connection, insert, select

from ..crypto.aead import DecryptionError
from ..crypto.vault import DataKey
from ..store.models import Snapshot

# Snapshot names are at most 32 characters: the prefix and 24 hex digits.
_PREFIX = "arrived:"


def note(conn: Connection, dek: DataKey, version_ids: Iterable[str]) -> None:
    """Record, inside the caller's transaction, versions written here that were not saved here."""
    ids = sorted(set(version_ids))
    if ids:
        name = _PREFIX + uuid.uuid4().hex[:24]
        # Sealed here, not through patient_snapshot: a cache's format may change and be rebuilt; these
        # lists cannot be rebuilt.
        sealed = dek.seal(json.dumps(ids).encode(), "arrivals", name, "")
        conn.execute(insert(Snapshot.__table__), {"name": name, "upto_seq": 0, "payload": sealed})


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
