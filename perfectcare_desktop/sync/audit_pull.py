"""Audit pull: every PC's audit entries, from the hub to an admin PC, for the access report.

The hub holds each PC's trail by PC, stream (a new one after a restore) and number. An admin PC reads
the entries past its cursor for each PC and stream, in number order, and checks each one's chain MAC
under the audit key against the MAC of the entry before it in the same chain (core/storage/audit.py
computes the chain): an entry forged, edited or moved on the hub does not verify and is refused,
recorded in `sync_rejects` and reported like other refused hub rows; its hub MAC still carries the
chain, so the entries after it are checked as usual. An entry whose predecessor is not on the hub
(yet: the PC that wrote it sends it again when anti-entropy finds it missing) holds that chain back
until it arrives; it is never skipped. Kept entries go to `hub_audit`, apart from this PC's own chain
and append-only like it. Only for admins: a clinician's PC keeps only its own trail.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select

from ..core.storage import audit
from ..crypto.vault import DataKey
from ..store.models import HubAudit, HubAuditCursor, HubDevice, SyncReject
from .pull import PullResult

BATCH = 2000
NOT_GRANTED = (
    "The hub does not let PCs read other PCs' audit entries yet, so the access report holds this PC's own "
    "entries only: an administrator runs 'perfectcare-admin hub init' on an enrolled PC to upgrade the hub."
)
STREAM = "audit"  # in sync_rejects

_SELECT = (
    "SELECT a.device_id::text, a.stream, a.seq, a.at, a.user_id, a.action, a.patient_id, a.target_id, a.detail, "
    "a.mac FROM audit a LEFT JOIN unnest(%s::text[], %s::text[], %s::int[]) AS c(device_id, stream, seq) "
    "ON a.device_id::text = c.device_id AND a.stream = c.stream "
    "WHERE a.seq > coalesce(c.seq, 0) AND (a.device_id::text || '/' || a.stream) <> ALL(%s::text[]) "
    "ORDER BY a.device_id, a.stream, a.seq LIMIT %s"
)


@dataclass
class AuditPullResult:
    kept: int = 0
    refused: int = 0
    waiting: set[tuple[str, str]] = field(default_factory=set)  # chains held back by a missing entry


def reject_key(device_id: str, stream: str, seq: int) -> int:
    """sync_rejects' number for a hub audit entry (the hub numbers them per PC and stream only)."""
    digest = hashlib.sha256(f"{device_id}/{stream}/{seq}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def pull_audit(store: Any, dek: DataKey, hub: Any, result: PullResult, batch: int = BATCH) -> AuditPullResult:
    """Pull every PC's new audit entries (admins' PCs only: the caller decides). Refusals are added to
    `result.rejected` in words, as pull's are."""
    import psycopg

    out = AuditPullResult()
    try:
        _pull_devices(store, hub)
    except psycopg.errors.InsufficientPrivilege:  # a hub whose grants are from before this release
        hub.rollback()
        result.rejected.append(NOT_GRANTED)
        return out
    held: set[str] = set()  # "device/stream" chains waiting for an entry not on the hub yet
    while True:
        with store.reading() as conn:
            cursors = {(c.device_id, c.stream): (c.seq, bytes(c.mac)) for c in conn.execute(select(HubAuditCursor))}
        keys = list(cursors)
        rows = hub.execute(
            _SELECT,
            ([d for d, _ in keys], [s for _, s in keys], [cursors[k][0] for k in keys], sorted(held), batch),
        ).fetchall()
        hub.commit()
        if not rows:
            break
        moved = False
        with store.writing() as conn:
            for row in rows:
                device_id, stream, seq = row[0], row[1], row[2]
                chain = (device_id, stream)
                if f"{device_id}/{stream}" in held:
                    continue
                if chain in cursors:
                    at_seq, mac = cursors[chain]
                    prev_mac = mac if seq == at_seq + 1 else None  # else: the entry before it is not on the hub yet
                else:
                    prev_mac = _chain_start(conn, dek, row)
                if prev_mac is None:
                    held.add(f"{device_id}/{stream}")
                    out.waiting.add(chain)
                    continue
                _check_and_keep(conn, dek, row, prev_mac, store.clock.now(), result, out)
                cursors[chain] = (seq, bytes(row[9]))
                _set_cursor(conn, device_id, stream, seq, bytes(row[9]))
                moved = True
        if not moved and len(rows) < batch:
            break
    return out


def _chain_start(conn: Any, dek: DataKey, row: Any) -> bytes | None:
    """The MAC the first entry pulled of a chain follows: GENESIS for a PC's first entry; for the first
    of a stream begun by a restore, the entry before it in the chain the backup held (same PC, number
    one less, any stream), when one here makes it verify. None otherwise: the chain waits."""
    device_id, seq = row[0], row[2]
    if seq == 1:
        return audit.GENESIS
    kept = conn.execute(select(HubAudit.mac).where(HubAudit.device_id == device_id, HubAudit.seq == seq - 1))
    passed = conn.execute(
        select(HubAuditCursor.mac).where(HubAuditCursor.device_id == device_id, HubAuditCursor.seq == seq - 1)
    )
    for prev in [bytes(m) for m in kept.scalars()] + [bytes(m) for m in passed.scalars()]:
        if _verifies(dek, prev, row):
            return prev
    return None


def _verifies(dek: DataKey, prev: bytes, row: Any) -> bool:
    _d, _s, seq, at, user_id, action, patient_id, target_id, detail, mac = row
    expected = audit.chain_mac(dek.audit_key, prev, seq, at, user_id, action, patient_id, target_id, _bytes(detail))
    return hmac.compare_digest(expected, bytes(mac))


def _bytes(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None


def _check_and_keep(conn: Any, dek: DataKey, row: Any, prev: bytes, now: Any, result: PullResult,
                    out: AuditPullResult) -> None:  # fmt: skip
    device_id, stream, seq, at, user_id, action, patient_id, target_id, detail, mac = row
    if not _verifies(dek, prev, row) or action not in audit.ACTIONS:
        label = conn.execute(select(HubDevice.label).where(HubDevice.device_id == device_id)).scalar()
        where = f"PC {label!r} ({device_id[:8]})" if label else f"PC {device_id[:8]}"
        reason = f"audit entry {seq} of {where} does not authenticate (altered or forged on the hub); it is not kept"
        key = reject_key(device_id, stream, seq)
        if (
            conn.execute(
                select(SyncReject.hub_seq).where(SyncReject.stream == STREAM, SyncReject.hub_seq == key)
            ).first()
            is None
        ):
            conn.execute(
                insert(SyncReject.__table__),
                dict(stream=STREAM, hub_seq=key, ref=device_id, reason=reason, seen_at=now, patient_id=patient_id),
            )
        line = f"{STREAM} {device_id}: {reason}"
        if line not in result.rejected:
            result.rejected.append(line)
        out.refused += 1
        return
    conn.execute(
        insert(HubAudit.__table__),
        dict(device_id=device_id, stream=stream, seq=seq, at=at, user_id=user_id, action=action,
             patient_id=patient_id, target_id=target_id, detail=_bytes(detail), mac=bytes(mac)),
    )  # fmt: skip
    out.kept += 1


def _set_cursor(conn: Any, device_id: str, stream: str, seq: int, mac: bytes) -> None:
    conn.execute(
        HubAuditCursor.__table__.insert().prefix_with("OR REPLACE"),
        dict(device_id=device_id, stream=stream, seq=seq, mac=mac),
    )


def _pull_devices(store: Any, hub: Any) -> None:
    """The hub's labels of enrolled PCs (few rows), kept here so the report names PCs offline too."""
    rows = hub.execute("SELECT device_id::text, label FROM devices").fetchall()
    hub.commit()
    with store.writing() as conn:
        for device_id, label in rows:
            conn.execute(HubDevice.__table__.insert().prefix_with("OR REPLACE"), dict(device_id=device_id, label=label))
