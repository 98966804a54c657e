"""The hash-chained audit trail: who viewed, changed, printed or exported what, and when.

Each entry's MAC covers the previous entry's MAC and its own fields, under a key derived from the data
key, so an edited, removed or reordered entry breaks the chain. The chain head is also anchored in
`meta`, so removing the newest entries is caught too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select

from ...crypto.aead import DecryptionError
from ...crypto.vault import DataKey
from ...store.models import AuditEntry, Meta, PendingAuditEvent
from . import outbox

GENESIS = b"\x00" * 32
_ANCHOR = "audit_head"

# The actions the trail knows; an unknown action is a programming error, caught at once.
ACTIONS = frozenset(
    {
        "store_created",
        "login",
        "login_failed",
        "account_locked",
        "unlock",
        "lock",
        "view",
        "create",
        "update",
        "sign",
        "entered_in_error",
        "export",
        "print",
        "backup",
        "restore",
        "verify",
        "user_add",
        "user_disable",
        "user_enable",
        "admin_key_created",
        "team_add",
        "team_member_add",
        "team_member_remove",
        "transfer",
        "share",
        "break_glass",
        "password_change",
        "password_reset",
        "demo_data",
        "migrate",
        "sync_enrol",
        "sync_pull",
        "sync_rejected",
        "access_report",
    }
)


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: datetime
    user_id: str | None
    action: str
    patient_id: str | None
    target_id: str | None
    detail: str


def chain_mac(
    key: bytes,
    prev: bytes,
    seq: int,
    at: datetime,
    user_id: str | None,
    action: str,
    patient_id: str | None,
    target_id: str | None,
    detail: bytes | None,
) -> bytes:
    """An entry's MAC, after the entry whose MAC is `prev` (GENESIS for a chain's first), under the audit
    key: how this PC's chain and another PC's entries pulled from the hub are checked."""
    fields = [seq, at.isoformat(), user_id, action, patient_id, target_id, (detail or b"").hex()]
    return hmac.new(key, prev + json.dumps(fields).encode(), hashlib.sha256).digest()


def open_detail(dek: DataKey, seq: int, action: str, sealed: bytes | None) -> str:
    """An entry's detail in words (sealed to its number and action)."""
    if not sealed:
        return ""
    try:
        return dek.open(sealed, "audit", str(seq), action).decode()
    except DecryptionError:
        return "(detail does not authenticate)"


def _anchor(key: bytes, seq: int, mac: bytes) -> str:
    return f"{seq}:" + hmac.new(key, b"head|%d|" % seq + mac, hashlib.sha256).hexdigest()


def append(
    conn: Connection,
    dek: DataKey,
    at: datetime,
    action: str,
    *,
    user_id: str | None = None,
    patient_id: str | None = None,
    target_id: str | None = None,
    detail: str = "",
) -> int:
    """Append one entry inside the caller's transaction (so it commits with what it records)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    last = conn.execute(select(AuditEntry.seq, AuditEntry.mac).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    sealed = dek.seal(detail.encode(), "audit", str(seq), action) if detail else None
    mac = chain_mac(dek.audit_key, prev, seq, at, user_id, action, patient_id, target_id, sealed)
    conn.execute(
        insert(AuditEntry.__table__),
        dict(
            seq=seq,
            at=at,
            user_id=user_id,
            action=action,
            patient_id=patient_id,
            target_id=target_id,
            detail=sealed,
            mac=mac,
        ),
    )
    anchor = _anchor(dek.audit_key, seq, mac)
    conn.execute(Meta.__table__.insert().prefix_with("OR REPLACE"), {"key": _ANCHOR, "value": anchor})
    outbox.queue(conn, outbox.AUDIT, str(seq), at)
    return seq


def fold_pending(conn: Connection, dek: DataKey) -> int:
    """Chain the events recorded while no key was available (failed logins), oldest first."""
    table = PendingAuditEvent.__table__
    rows = conn.execute(select(table).order_by(table.c.pending_id)).mappings().all()
    for p in rows:
        append(conn, dek, p["at"], p["action"], user_id=p["user_id"], detail=p["note"])
    if rows:
        conn.execute(table.delete())
    return len(rows)


def record_pending(conn: Connection, at: datetime, action: str, user_id: str | None, note: str = "") -> None:
    conn.execute(insert(PendingAuditEvent.__table__), dict(at=at, action=action, user_id=user_id, note=note))


def read(
    conn: Connection,
    dek: DataKey,
    *,
    user_id: str | None = None,
    patient_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[AuditRecord]:
    """Entries newest first, filtered; details decrypted."""
    q = select(AuditEntry.__table__).order_by(AuditEntry.seq.desc())
    if user_id:
        q = q.where(AuditEntry.user_id == user_id)
    if patient_id:
        q = q.where(AuditEntry.patient_id == patient_id)
    if action:
        q = q.where(AuditEntry.action == action)
    if since:
        q = q.where(AuditEntry.at >= since)
    if until:
        q = q.where(AuditEntry.at < until)
    if limit:
        q = q.limit(limit)
    out = []
    for e in conn.execute(q).mappings():
        detail = open_detail(dek, e["seq"], e["action"], e["detail"])
        out.append(AuditRecord(e["seq"], e["at"], e["user_id"], e["action"], e["patient_id"], e["target_id"], detail))
    return out


def verify(conn: Connection, dek: DataKey) -> list[str]:
    """Walk the whole chain; return a sentence for each problem found (empty when intact)."""
    problems: list[str] = []
    prev, expected_seq = GENESIS, 1
    for e in conn.execute(select(AuditEntry.__table__).order_by(AuditEntry.seq)).mappings():
        if e["seq"] != expected_seq:
            problems.append(f"audit entries {expected_seq}-{e['seq'] - 1} are missing")
        mac = chain_mac(
            dek.audit_key,
            prev,
            e["seq"],
            e["at"],
            e["user_id"],
            e["action"],
            e["patient_id"],
            e["target_id"],
            e["detail"],
        )
        if not hmac.compare_digest(mac, e["mac"]):
            problems.append(f"audit entry {e['seq']} ({e['action']}) has been altered or the chain broken before it")
        if e["detail"]:
            try:
                dek.open(e["detail"], "audit", str(e["seq"]), e["action"])
            except DecryptionError:
                problems.append(f"audit entry {e['seq']} detail does not authenticate")
        prev, expected_seq = e["mac"], e["seq"] + 1
    anchor = conn.execute(select(Meta.value).where(Meta.key == _ANCHOR)).scalar()
    last_seq = expected_seq - 1
    if last_seq == 0:
        # Every store's first entry records its creation: an empty trail was wiped.
        problems.append("the audit trail is empty: its entries (at least the store's creation) were removed")
    elif anchor != _anchor(dek.audit_key, last_seq, prev):
        problems.append(f"the newest audit entries after {last_seq} are missing or the chain head was altered")
    return problems


def count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
