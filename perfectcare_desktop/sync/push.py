"""Push: the outbox to the hub, oldest first, in batches of one hub transaction each.

A queue row is deleted only after the hub has committed its batch, and every insert is
ON CONFLICT DO NOTHING on the item's own id, so a batch re-sent after a crash or a dropped line
lands once. An item the hub refuses for good (a constraint, bad data) is parked with the reason
and the rest carries on; a lost connection or revoked access stops the round, keeping everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update

from ..core.access.accounts import admin_wrap, latest_user_wrap
from ..core.storage import outbox
from ..crypto.vault import DataKey
from ..errors import HubAccessRefused, HubUnreachable
from ..store.models import AuditEntry, Outbox, Record, User, Version, VersionParent
from . import device

BATCH = 500

_INSERT_VERSION = (
    "INSERT INTO versions (version_id, record_id, record_kind, patient_id, record_created_at, record_created_by, "
    "record_mac, kind, author_id, created_at, signed, status, review_due, followup_due, parents, payload) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::uuid[], %s) "
    "ON CONFLICT (version_id) DO NOTHING"
)
_INSERT_USER = (
    "INSERT INTO users (change_id, user_id, username, display_name, role, active, created_at, disabled_at, "
    "wrap_key_id, wrap_kdf, wrap_salt, wrapped, grant_rev, grant_sig, admin_wrapped, teams, mac) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (change_id) DO NOTHING"
)
_INSERT_AUDIT = (
    "INSERT INTO audit (device_id, stream, seq, at, user_id, action, patient_id, target_id, detail, mac) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (device_id, stream, seq) DO NOTHING"
)


def record_mac(dek: DataKey, record_id: str, kind: str, patient_id: str, created_at: Any, created_by: str) -> bytes:
    """Binds a record's clear facts (whose patient it is) that the version seal does not cover."""
    return dek.mac("record", record_id, kind, patient_id, created_at.isoformat(), created_by)


def user_mac(dek: DataKey, row: Sequence[Any]) -> bytes:
    """Binds an account change (name, role, active, wraps) to the data key. What makes a role or an
    account's state trustworthy is the admin key's signature (core/access/grants.py), which a holder
    of the data key cannot make; this MAC keeps the wraps of an unsigned (older) store bound too."""
    (_change, user_id, username, display, role, active, created, disabled, key_id, kdf, salt, wrapped,
     grant_rev, grant_sig, admin_wrapped, teams) = row  # fmt: skip
    fields: tuple[object, ...] = (
        "user", user_id, username, display, role, bool(active), created.isoformat(),
        disabled.isoformat() if disabled else None, key_id, kdf, (salt or b"").hex(), (wrapped or b"").hex(),
    )  # fmt: skip
    if grant_sig or admin_wrapped or grant_rev:  # a row from before signing carries the fields above only
        fields += (int(grant_rev or 0), bytes(grant_sig or b"").hex(), bytes(admin_wrapped or b"").hex())
    if teams:  # a person's teams, or a team's own row (issue 16 part 1)
        fields += (teams,)
    return dek.mac(*fields)


def _gather(conn: Any, dek: DataKey, device_id: str, items: list[Any]) -> dict[str, list[tuple[Any, ...]]]:
    by_item: dict[str, list[str]] = {outbox.VERSION: [], outbox.AUDIT: [], outbox.USER: []}
    for it in items:
        by_item.setdefault(it.item, []).append(it.ref)
    out: dict[str, list[tuple[Any, ...]]] = {outbox.VERSION: [], outbox.AUDIT: [], outbox.USER: []}
    if ids := by_item[outbox.VERSION]:
        parents: dict[str, list[str]] = {v: [] for v in ids}
        for p in conn.execute(select(VersionParent.__table__).where(VersionParent.version_id.in_(ids))):
            parents[p.version_id].append(p.parent_id)
        q = (
            select(
                Version.__table__,
                Record.kind.label("record_kind"),
                Record.patient_id,
                Record.created_at.label("record_created_at"),
                Record.created_by,
            )  # fmt: skip
            .join(Record, Record.record_id == Version.record_id)
            .where(Version.version_id.in_(ids))
        )
        rows = {r.version_id: r for r in conn.execute(q)}
        macs: dict[str, bytes] = {}  # one per record, not per version
        for vid in ids:  # in queue order, so the hub's sequence follows the order things happened
            r = rows[vid]
            if (rmac := macs.get(r.record_id)) is None:
                rmac = macs[r.record_id] = record_mac(
                    dek, r.record_id, r.record_kind, r.patient_id, r.record_created_at, r.created_by
                )
            out[outbox.VERSION].append(
                (
                    r.version_id,
                    r.record_id,
                    r.record_kind,
                    r.patient_id,
                    r.record_created_at,
                    r.created_by,
                    rmac,
                    r.kind,
                    r.author_id,
                    r.created_at,
                    bool(r.signed),
                    r.status,
                    r.review_due,
                    r.followup_due,
                    sorted(parents[vid]),
                    r.payload,
                )  # fmt: skip
            )
    if seqs := by_item[outbox.AUDIT]:
        streams = device.audit_streams(conn)
        for a in conn.execute(select(AuditEntry.__table__).where(AuditEntry.seq.in_([int(s) for s in seqs]))):
            out[outbox.AUDIT].append(
                (
                    device_id,
                    device.stream_of(streams, a.seq),
                    a.seq,
                    a.at,
                    a.user_id,
                    a.action,
                    a.patient_id,
                    a.target_id,
                    a.detail,
                    a.mac,
                )
            )
    changes = {it.ref: it.change_id for it in items if it.item == outbox.USER}
    for user_id, change_id in changes.items():
        u = conn.execute(select(User.__table__).where(User.user_id == user_id)).one()
        w = latest_user_wrap(conn, user_id)
        wrap = (w.key_id, w.kdf, w.salt, w.wrapped) if w else (None, None, None, None)
        admin = admin_wrap(conn, user_id)  # under the same salt as `w`: one password derivation opens both
        admin_wrapped = admin.wrapped if admin is not None and w is not None and admin.salt == w.salt else None
        row = (change_id, u.user_id, u.username, u.display_name, u.role, bool(u.active), u.created_at, u.disabled_at,
               *wrap, int(u.grant_rev), u.grant_sig, admin_wrapped, u.teams)  # fmt: skip
        out[outbox.USER].append((*row, user_mac(dek, row)))
    return out


def insert(hub: Any, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    """Insert one batch inside the hub transaction the caller has open (accounts first: versions name
    their authors; then versions, then audit). The caller commits."""
    with hub.cursor() as cur:
        if rows[outbox.USER]:
            cur.executemany(_INSERT_USER, rows[outbox.USER])
        if rows[outbox.VERSION]:
            cur.executemany(_INSERT_VERSION, rows[outbox.VERSION])
        if rows[outbox.AUDIT]:
            cur.executemany(_INSERT_AUDIT, rows[outbox.AUDIT])


def _send(hub: Any, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    """One hub transaction."""
    with hub.transaction():
        insert(hub, rows)


@dataclass(frozen=True)
class Batch:
    """Queue items read for one hub transaction: their outbox ids and the rows to insert."""

    oids: list[int]
    rows: dict[str, list[tuple[Any, ...]]]


def next_batch(store: Any, dek: DataKey, device_id: str, batch: int = BATCH) -> Batch | None:
    """The oldest waiting items (none parked), or None when nothing waits."""
    with store.reading() as conn:
        items = conn.execute(
            select(Outbox.__table__).where(Outbox.parked_at.is_(None)).order_by(Outbox.oid).limit(batch)
        ).all()
        if not items:
            return None
        return Batch([it.oid for it in items], _gather(conn, dek, device_id, items))


def sent(store: Any, oids: list[int]) -> None:
    """The hub has committed these items: their queue rows go."""
    with store.writing() as conn:
        conn.execute(delete(Outbox).where(Outbox.oid.in_(oids)))


def push(store: Any, dek: DataKey, hub: Any, device_id: str, batch: int = BATCH) -> int:
    """Push everything waiting; returns how many queue items the hub now holds."""
    import psycopg

    pushed = 0
    while (b := next_batch(store, dek, device_id, batch)) is not None:
        try:
            _send(hub, b.rows)
            done = b.oids
        except psycopg.errors.InsufficientPrivilege:
            raise HubAccessRefused(
                "The hub refused this PC's changes: its access has been revoked. Ask an administrator to enrol "
                "it again; the changes wait here and nothing is lost."
            ) from None
        except (psycopg.DataError, psycopg.IntegrityError, psycopg.errors.CheckViolation):
            done = _one_by_one(store, dek, hub, device_id, b.oids)
        except psycopg.OperationalError:
            raise HubUnreachable("The connection to the hub was lost; the changes wait here.") from None
        sent(store, done)
        pushed += len(done)
    return pushed


def _one_by_one(store: Any, dek: DataKey, hub: Any, device_id: str, oids: list[int]) -> list[int]:
    """A batch the hub refused: send each item alone, park the ones refused for good."""
    import psycopg

    done = []
    for oid in oids:
        with store.reading() as conn:
            it = conn.execute(select(Outbox.__table__).where(Outbox.oid == oid)).one()
            rows = _gather(conn, dek, device_id, [it])
        try:
            _send(hub, rows)
            done.append(it.oid)
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            # The class and code only: a server message can quote the row.
            problem = f"refused by the hub ({type(exc).__name__}, SQLSTATE {exc.sqlstate})"
            with store.writing() as conn:
                conn.execute(
                    update(Outbox)
                    .where(Outbox.oid == it.oid)
                    .values(parked_at=store.clock.now(), problem=problem, attempts=Outbox.attempts + 1)
                )
    return done
