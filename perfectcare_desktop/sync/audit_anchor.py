"""This PC's audit head as the hub holds it, compared with the store's own.

The saved head in `meta` (core/storage/audit.py) catches a cut tail only while the attacker cannot put back an
older head: with an earlier copy of the store file they can, and a whole store rolled back together
with its head verifies locally. Every sync pushes this PC's audit entries (seq and MAC, under a stream
per restore; no patient detail is readable there), so the newest entry the hub holds from this PC is an
anchor outside the file: the store must still hold that entry, with the same MAC.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from ..crypto.vault import DataKey
from ..errors import HubAccessRefused, HubUnreachable
from ..store.models import AuditEntry
from . import device

_HEADS = "SELECT stream, max(seq) FROM audit WHERE device_id = %s GROUP BY stream"
_MAC = "SELECT mac FROM audit WHERE device_id = %s AND stream = %s AND seq = %s"


@dataclass(frozen=True)
class HubHead:
    stream: str
    seq: int
    mac: bytes | None  # None: the hub does not yet let PCs read audit MACs (hub not upgraded)


@dataclass
class Comparison:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def hub_heads(hub: Any, device_id: str) -> list[HubHead]:
    import psycopg

    heads = []
    try:
        for stream, seq in hub.execute(_HEADS, (device_id,)).fetchall():
            try:
                row = hub.execute(_MAC, (device_id, stream, seq)).fetchone()
            except psycopg.errors.InsufficientPrivilege:
                hub.rollback()
                row = None
            heads.append(HubHead(str(stream), int(seq), bytes(row[0]) if row else None))
    finally:
        hub.rollback()  # read only: hold no transaction open
    return heads


def compare(conn: Connection, heads: list[HubHead]) -> Comparison:
    """Problems (and notes) from comparing the hub's heads of this PC's streams with the store's trail."""
    out = Comparison()
    streams = device.audit_streams(conn)
    top = conn.execute(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)).scalar() or 0
    current = device.stream_of(streams, top)
    begins = {name: first for first, name in streams}
    for i, (first, _name) in enumerate(streams[1:], start=1):
        action = _entry(conn, first)
        if first <= top and (action is None or action[0] != "restore"):
            out.problems.append(
                f"this PC's audit entries from {first} on are sent to the hub as after a restore, but entry {first} "
                "records no restore: the store's list of audit streams (meta sync_audit_streams) was edited"
            )
        if streams[i - 1][0] >= first:
            out.problems.append("the store's list of audit streams is out of order: meta sync_audit_streams was edited")
    for head in heads:
        if head.stream not in begins:
            out.notes.append(
                f"the hub holds audit entries of this PC under a stream this store does not know (up to entry "
                f"{head.seq}): a backup from before an earlier restore was restored here"
            )
            continue
        if head.stream != current:
            # Superseded by a restore here: the hub may hold entries past the restore point, rolled back on purpose.
            ends = min(first - 1 for first, _ in streams if first > begins[head.stream])
            if head.seq > ends:
                continue
        elif head.seq > top:
            out.problems.append(
                f"the hub holds this PC's audit entries up to {head.seq}, but the trail here ends at {top}: the newest "
                "entries were cut, or the whole store was put back from an older copy (with its saved head)"
            )
            continue
        here = _entry(conn, head.seq)
        if here is None:
            out.problems.append(f"audit entry {head.seq}, which the hub received from this PC, is missing here")
        elif head.mac is not None and not hmac.compare_digest(here[1], head.mac):
            out.problems.append(
                f"audit entry {head.seq} here is not the one this PC sent to the hub: the store was put back from "
                "an older copy and used since (its trail has forked from the hub's)"
            )
        elif head.mac is None and not out.notes:
            out.notes.append(
                "the hub does not let PCs read audit MACs yet (an administrator runs 'perfectcare-admin hub init' "
                "again to upgrade it): compared by number only"
            )
    return out


def _entry(conn: Connection, seq: int) -> tuple[str, bytes] | None:
    row = conn.execute(select(AuditEntry.action, AuditEntry.mac).where(AuditEntry.seq == seq)).first()
    return (row[0], bytes(row[1])) if row else None


def check(store: Any, dek: DataKey, hub_url: str | None = None) -> Comparison:
    """Compare with the hub when this PC is enrolled; say plainly what could not be compared."""
    from .client import SyncClient

    with store.reading() as conn:
        config = device.load(conn, dek)
    if config is None:
        return Comparison(
            notes=[
                "this PC has never synced, so nothing outside the store file anchors its audit trail: the whole "
                "file put back from an older copy cannot be told apart from an intact one (docs/store.md)"
            ]
        )
    import psycopg

    client = SyncClient(store, hub_url)
    try:
        heads = hub_heads(client.connection(dek), config.device_id)
    except (HubUnreachable, HubAccessRefused, psycopg.Error) as exc:
        # Not damage: verify still checks everything in the file. An attacker who blocks the hub gains only
        # this note, which says the comparison was not made.
        return Comparison(notes=[f"the audit trail was not compared with the hub's copy ({exc})"])
    finally:
        client.close()
    with store.reading() as conn:
        return compare(conn, heads)


def verify_with_hub(session: Any, progress: Any = None, hub_url: str | None = None) -> Any:
    """`verify`, with the audit trail compared with the hub's copy on an enrolled PC (`hub_url`: the
    machine policy's hub address, when it overrides the enrolment's); a PC that never synced says what
    it cannot see."""
    from ..core.storage.verify import verify_store

    return verify_store(session, progress, anchor=lambda store, dek: check(store, dek, hub_url))
