"""Pull: what other PCs pushed, read in the hub's commit order after this PC's horizon.

The hub numbers rows with a `bigserial` taken at INSERT but seen at COMMIT, so reading `seq > cursor`
skipped for good a row whose transaction committed after a later-numbered one (two PCs pushing at
once). Rows carry their transaction's id (`xid`, hub revision h002); pull reads `(xid, seq)` past its
horizon and only below the oldest transaction still running on the hub: every transaction below that
has ended, so no row can ever appear behind the horizon. A push held open delays what comes after it;
it never hides it.

Each batch is checked before it is applied: a version must open under the data key with the very
metadata and parents it was sealed with, its record's facts must carry a valid MAC, and its parents
and author must be here. One that fails is recorded in `sync_rejects` and reported, never applied;
the rest syncs. The versions applied and the new horizon commit in one local transaction, so a
killed process re-reads the same batch and nothing is applied twice.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, insert, select, update

from ..core.access import grants
from ..core.access.accounts import ADMIN_WRAP, latest_user_wrap
from ..core.storage import arrivals, audit, versions
from ..core.storage.outbox import USER
from ..crypto.aead import DecryptionError
from ..crypto.signing import AdminPublicKey
from ..crypto.vault import DataKey
from ..store.models import BlindIndex, KeyWrap, Outbox, Record, SyncReject, User, Version, VersionParent
from . import device
from .digest import id_hash
from .push import record_mac, user_mac

BATCH = 1000
PATIENT = "patient"

# This PC's own versions come back without their payload (it has them): half the bytes of a first
# sync. Should one be missing here after all (a restored backup), it is fetched whole.
# Every transaction below the snapshot's xmin has committed or aborted: rows under it are final.
BELOW_HORIZON = "xid < pg_snapshot_xmin(pg_current_snapshot())"
VERSION_COLUMNS = (
    "seq, version_id::text, record_id::text, record_kind, patient_id::text, record_created_at, "
    "record_created_by::text, record_mac, kind, author_id::text, created_at, signed, status, review_due, "
    "followup_due, parents::text[], CASE WHEN pushed_by = current_user THEN NULL ELSE payload END, xid::text"
)
_SELECT_VERSIONS = (
    f"SELECT {VERSION_COLUMNS} FROM versions WHERE (xid, seq) > (%s::xid8, %s) AND {BELOW_HORIZON} "
    "ORDER BY xid, seq LIMIT %s"
)
_SELECT_PAYLOADS = "SELECT version_id::text, payload FROM versions WHERE version_id = ANY(%s::uuid[])"
USER_COLUMNS = (
    "seq, change_id, user_id::text, username, display_name, role, active, created_at, disabled_at, "
    "wrap_key_id, wrap_kdf, wrap_salt, wrapped, grant_rev, grant_sig, admin_wrapped, teams, mac, xid::text"
)
_SELECT_USERS = (
    f"SELECT {USER_COLUMNS} FROM users WHERE (xid, seq) > (%s::xid8, %s) AND {BELOW_HORIZON} ORDER BY xid, seq"
)


@dataclass
class PullResult:
    versions: int = 0
    accounts: int = 0
    rejected: list[str] = field(default_factory=list)  # sentences, no patient detail
    patients: set[str] = field(default_factory=set)  # patients whose records changed
    new_rejects: list[tuple[str, int]] = field(default_factory=list)  # (stream, hub seq) refused this time


def _position(row: Any) -> tuple[int, int]:
    """A hub row's place in commit order: (its transaction's id, its seq)."""
    return int(row[-1]), row[0]


def pull(store: Any, dek: DataKey, hub: Any, batch: int = BATCH) -> PullResult:
    result = PullResult()
    while True:
        with store.reading() as conn:
            at_v = device.horizon(conn, device.HORIZON_VERSIONS)
            at_u = device.horizon(conn, device.HORIZON_USERS)
        # Versions before accounts: any version seen was pushed after its author's account was.
        # Binary results: ciphertext comes as bytes, not as hex text twice its size.
        with hub.cursor(binary=True) as cur:
            vrows = cur.execute(_SELECT_VERSIONS, (str(at_v[0]), at_v[1], batch)).fetchall()
            urows = cur.execute(_SELECT_USERS, (str(at_u[0]), at_u[1])).fetchall()
            vrows = _fill_missing_payloads(store, cur, vrows)
        hub.commit()
        if not vrows and not urows:
            return result
        with store.writing() as conn:
            # Read again under the write lock: another process on this store may have pulled meanwhile.
            at_v = device.horizon(conn, device.HORIZON_VERSIONS)
            at_u = device.horizon(conn, device.HORIZON_USERS)
            new_users = [u for u in urows if _position(u) > at_u]
            applied_users = _apply_users(conn, dek, new_users, result, store.clock.now())
            _note_seen(conn, new_users)
            applied = _apply_versions(conn, dek, [v for v in vrows if _position(v) > at_v], result, store.clock.now())
            if urows:
                device.set_horizon(conn, device.HORIZON_USERS, max(at_u, _position(urows[-1])))
            if vrows:
                device.set_horizon(conn, device.HORIZON_VERSIONS, max(at_v, _position(vrows[-1])))
            if applied or applied_users:
                detail = f"{applied} versions, {applied_users} account changes from the hub"
                audit.append(conn, dek, store.clock.now(), "sync_pull", detail=detail)
        if len(vrows) < batch:
            break
    if result.versions or result.accounts:
        retry_waiting(store, dek, hub, result)  # what arrived may be what a refused row was waiting for
    note_digests(store, hub, result)
    return result


def _note_seen(conn: Any, rows: list[Any], *, afresh: bool = False) -> None:
    """Keep the count and XOR of the account change ids read, which anti-entropy compares with the hub's."""
    count, xor = (0, 0) if afresh else (int(v) for v in (device.get(conn, device.USERS_SEEN) or "0 0").split())
    for r in rows:
        count, xor = count + 1, xor ^ id_hash(r[1])
    device.set_value(conn, device.USERS_SEEN, f"{count} {xor}")


def reread_users(store: Any, dek: DataKey, hub: Any, result: PullResult) -> int:
    """Read the whole account stream up to the horizon again and apply each account's newest change:
    heals an account change missed or refused before. Accounts are few; this runs only when the
    hub's figures differ from what pull has read."""
    with store.reading() as conn:
        at_u = device.horizon(conn, device.HORIZON_USERS)
    with hub.cursor(binary=True) as cur:
        rows = cur.execute(
            f"SELECT {USER_COLUMNS} FROM users WHERE (xid, seq) <= (%s::xid8, %s) ORDER BY xid, seq",
            (str(at_u[0]), at_u[1]),
        ).fetchall()
    hub.commit()
    newest = {r[2]: r for r in rows}  # user id -> its last change in commit order
    with store.writing() as conn:
        conn.execute(delete(SyncReject).where(SyncReject.stream == "users"))
        applied = _apply_users(conn, dek, sorted(newest.values(), key=_position), result, store.clock.now())
        _note_seen(conn, rows, afresh=True)
        if applied:
            audit.append(conn, dek, store.clock.now(), "sync_pull", detail=f"{applied} account changes, read again")
    return applied


def apply_rows(store: Any, dek: DataKey, hub: Any, where: str, params: tuple[Any, ...], result: PullResult) -> int:
    """Fetch the hub's version rows matching `where` (below the horizon: rows pull has passed) and
    apply them as pull does; a row refused before is checked afresh. For holes and retries."""
    with hub.cursor(binary=True) as cur:
        rows = cur.execute(f"SELECT {VERSION_COLUMNS} FROM versions WHERE {where} ORDER BY xid, seq", params).fetchall()
        rows = _fill_missing_payloads(store, cur, rows)
    hub.commit()
    if not rows:
        return 0
    with store.writing() as conn:
        seqs = [r[0] for r in rows]
        conn.execute(delete(SyncReject).where(SyncReject.stream == "versions", SyncReject.hub_seq.in_(seqs)))
        applied = _apply_versions(conn, dek, rows, result, store.clock.now())
        if applied:
            audit.append(conn, dek, store.clock.now(), "sync_pull", detail=f"{applied} versions from the hub, again")
    return applied


def retry_waiting(store: Any, dek: DataKey, hub: Any, result: PullResult) -> None:
    """Versions refused because their parent or author had not arrived: try them again, in passes, as
    each one accepted can be the parent the next one waits for."""
    for _ in range(_RETRY_PASSES):
        with store.reading() as conn:
            seqs = list(
                conn.execute(
                    select(SyncReject.hub_seq).where(SyncReject.stream == "versions", SyncReject.retry == DEPENDENCY)
                ).scalars()
            )
        if not seqs or not apply_rows(store, dek, hub, "seq = ANY(%s)", (seqs,), result):
            return


_RETRY_PASSES = 20

# The hub's own digest of a row as a PC reads it: when it changes (a DBA repaired it), a PC that
# refused the row tries it again.
ROW_DIGEST = {
    "versions": "md5(ROW(version_id, record_id, record_kind, patient_id, record_created_at, record_created_by, "
    "record_mac, kind, author_id, created_at, signed, status, review_due, followup_due, parents, payload)::text)",
    "users": "md5(ROW(change_id, user_id, username, display_name, role, active, created_at, disabled_at, "
    "wrap_key_id, wrap_kdf, wrap_salt, wrapped, grant_rev, grant_sig, admin_wrapped, teams, mac)::text)",
}


def hub_digests(hub: Any, stream: str, seqs: list[int]) -> dict[int, str]:
    """seq -> the hub's digest of that row, for the rows still there."""
    rows = hub.execute(f"SELECT seq, {ROW_DIGEST[stream]} FROM {stream} WHERE seq = ANY(%s)", (seqs,)).fetchall()
    hub.commit()
    return dict(rows)


def note_digests(store: Any, hub: Any, result: PullResult) -> None:
    """Remember how each row refused this time looked, so a repair on the hub is noticed."""
    for stream in ("versions", "users"):
        seqs = [seq for s, seq in result.new_rejects if s == stream]
        if not seqs:
            continue
        digests = hub_digests(hub, stream, seqs)
        with store.writing() as conn:
            for seq, digest in digests.items():
                conn.execute(
                    update(SyncReject)
                    .where(SyncReject.stream == stream, SyncReject.hub_seq == seq)
                    .values(digest=digest)
                )
    result.new_rejects.clear()


def _fill_missing_payloads(store: Any, cur: Any, rows: list[Any]) -> list[Any]:
    own = [r[1] for r in rows if r[16] is None]
    if not own:
        return rows
    with store.reading() as conn:
        here = set(conn.execute(select(Version.version_id).where(Version.version_id.in_(own))).scalars())
    missing = [v for v in own if v not in here]
    if not missing:
        return rows
    payloads = dict(cur.execute(_SELECT_PAYLOADS, (missing,)).fetchall())
    return [(*r[:16], payloads[r[1]], *r[17:]) if r[1] in payloads else r for r in rows]


CHANGED, DEPENDENCY = "changed", "dependency"  # what would make a refused row worth another try


def _reject(conn: Any, stream: str, seq: int, ref: str, reason: str, result: PullResult, now: Any, *,
            patient_id: str | None = None, retry: str = CHANGED) -> None:  # fmt: skip
    exists = conn.execute(
        select(SyncReject.hub_seq).where(SyncReject.stream == stream, SyncReject.hub_seq == seq)
    ).first()
    if exists is None:
        conn.execute(
            insert(SyncReject.__table__),
            dict(stream=stream, hub_seq=seq, ref=ref, reason=reason, seen_at=now, patient_id=patient_id, retry=retry),
        )
        result.new_rejects.append((stream, seq))
    if (line := f"{stream} {ref}: {reason}") not in result.rejected:  # tried again in the same round
        result.rejected.append(line)


def _apply_users(conn: Any, dek: DataKey, rows: list[Any], result: PullResult, now: Any) -> int:
    applied = 0
    pending = set(conn.execute(select(Outbox.ref).where(Outbox.item == USER)).scalars())
    pinned, store = grants.public_key(conn), grants.store_id(conn)
    for r in rows:
        seq, fields, mac = r[0], tuple(r[1:17]), r[17]
        user_id = fields[1]
        if not hmac.compare_digest(user_mac(dek, fields), bytes(mac)):
            _reject(conn, "users", seq, user_id, "the account change does not authenticate (altered on the hub?)",
                    result, now)  # fmt: skip
            continue
        (_c, _u, username, display, role, active, created, disabled, key_id, kdf, salt, wrapped,
         grant_rev, grant_sig, admin_wrapped, teams) = fields  # fmt: skip
        if pinned is not None and (why := _grant_refused(conn, pinned, store, fields)):
            _reject(conn, "users", seq, user_id, why, result, now)
            continue
        if user_id in pending:
            continue  # this PC has a newer change to this account, still to be pushed: it wins
        clash = conn.execute(select(User.user_id).where(User.username == username, User.user_id != user_id)).first()
        if clash is not None:
            _reject(conn, "users", seq, user_id, f"the user name {username!r} is another account's on this PC",
                    result, now, retry=DEPENDENCY)  # fmt: skip
            continue
        values = dict(username=username, display_name=display, role=role, active=active, disabled_at=disabled,
                      grant_rev=int(grant_rev or 0), grant_sig=bytes(grant_sig) if grant_sig else None,
                      teams=teams)  # fmt: skip
        here = conn.execute(select(User.__table__).where(User.user_id == user_id)).one_or_none()
        if here is not None and _same_account(conn, here, values, wrapped):
            continue  # this PC's own change coming back, or one it already has
        if here is not None:
            conn.execute(update(User).where(User.user_id == user_id).values(**values))
        else:
            conn.execute(insert(User.__table__), dict(values, user_id=user_id, created_at=created, failed_attempts=0))
        conn.execute(delete(KeyWrap).where(KeyWrap.user_id == user_id, KeyWrap.purpose.in_(("user", ADMIN_WRAP))))
        if active and wrapped:
            wrap = dict(key_id=key_id, user_id=user_id, kdf=kdf, salt=bytes(salt), created_at=now)
            conn.execute(insert(KeyWrap.__table__), dict(wrap, purpose="user", wrapped=bytes(wrapped)))
            if admin_wrapped and role == "admin":  # the admin key, under the same password-derived key
                conn.execute(insert(KeyWrap.__table__), dict(wrap, purpose=ADMIN_WRAP, wrapped=bytes(admin_wrapped)))
        applied += 1
        result.accounts += 1
    return applied


def _grant_refused(conn: Any, pinned: AdminPublicKey, store: str, fields: tuple[Any, ...]) -> str | None:
    """Why an account change from the hub is not taken, or None: it must be signed by this store's admin
    key, and no older than the grant held here (a replayed row cannot re-enable an account or give back
    a role); at the same revision only the password wraps may differ."""
    (_c, user_id, username, display, role, active, _cr, _d, _k, _kdf, _s, _w, grant_rev, grant_sig, _a, teams) = fields
    claimed = SimpleNamespace(user_id=user_id, username=username, display_name=display, role=role, active=active,
                              grant_rev=int(grant_rev or 0), teams=teams)  # fmt: skip
    if not pinned.verify(grant_sig, *grants.fields(store, claimed)):
        return "the account change is not signed by this organisation's admin key (forged or altered on the hub?)"
    here = conn.execute(select(User.__table__).where(User.user_id == user_id)).one_or_none()
    if here is None or not grants.is_genuine(conn, here, pinned):
        return None
    if claimed.grant_rev < int(here.grant_rev):
        return "the account change is older than the one this PC holds (replayed on the hub?)"
    if claimed.grant_rev == int(here.grant_rev) and grants.fields(store, claimed) != grants.fields(store, here):
        return "the account change contradicts the signed one this PC holds at the same revision"
    return None


def _same_account(conn: Any, here: Any, values: dict[str, Any], wrapped: bytes | None) -> bool:
    if any(getattr(here, k) != v for k, v in values.items()):
        return False
    mine = latest_user_wrap(conn, here.user_id)
    return (bytes(mine.wrapped) if mine else None) == (bytes(wrapped) if wrapped else None)


def _apply_versions(conn: Any, dek: DataKey, rows: list[Any], result: PullResult, now: Any) -> int:
    """Check each version, then write the batch's accepted ones with one statement per table."""
    if not rows:
        return 0
    ids = [r[1] for r in rows]
    here = set(conn.execute(select(Version.version_id).where(Version.version_id.in_(ids))).scalars())
    wanted_parents = {p for r in rows for p in r[15]} - set(ids)
    here |= set(conn.execute(select(Version.version_id).where(Version.version_id.in_(wanted_parents))).scalars())
    users = set(conn.execute(select(User.user_id)).scalars())
    rids = {r[2] for r in rows}
    records: dict[str, Any] = {
        rec.record_id: rec for rec in conn.execute(select(Record.__table__).where(Record.record_id.in_(rids)))
    }
    new_records: list[dict[str, Any]] = []
    new_versions: list[dict[str, Any]] = []
    new_parents: list[dict[str, str]] = []
    digests: dict[tuple[bytes, str], None] = {}
    for r in rows:
        (seq, vid, rid, rkind, pid, rcreated, rby, rmac, kind, author, created, signed, status, review, followup,
         parents, payload) = r[:17]  # fmt: skip
        if vid in here:
            continue  # this PC's own push coming back, or pulled before
        row = SimpleNamespace(
            version_id=vid, record_id=rid, kind=kind, author_id=author, created_at=created, signed=signed,
            status=status, review_due=review, followup_due=followup, payload=bytes(payload or b""),
        )  # fmt: skip
        # The record's MAC first: a row moved to another patient on the hub fails both, and this says why.
        if not hmac.compare_digest(record_mac(dek, rid, rkind, pid, rcreated, rby), bytes(rmac)) or kind != rkind:
            _reject(conn, "versions", seq, vid, "its record's details do not authenticate", result, now, patient_id=pid)
            continue
        try:
            data = versions.open_payload(dek, row, parents, pid)
        except DecryptionError:
            _reject(conn, "versions", seq, vid, "it does not authenticate under this store's key (altered or "
                    "damaged on the hub)", result, now, patient_id=pid)  # fmt: skip
            continue
        if any(p not in here for p in parents):
            _reject(conn, "versions", seq, vid, "an earlier version it follows has not been accepted here", result,
                    now, patient_id=pid, retry=DEPENDENCY)  # fmt: skip
            continue
        if author not in users or rby not in users:
            _reject(conn, "versions", seq, vid, "its author's account has not reached this PC", result, now,
                    patient_id=pid, retry=DEPENDENCY)  # fmt: skip
            continue
        local = records.get(rid)
        if local is None:
            new_records.append(dict(record_id=rid, kind=rkind, patient_id=pid, created_at=rcreated, created_by=rby))
            records[rid] = SimpleNamespace(kind=rkind, patient_id=pid)
        elif local.kind != rkind or local.patient_id != pid:
            _reject(conn, "versions", seq, vid, "it claims a record that is another patient's here", result, now,
                    patient_id=pid)  # fmt: skip
            continue
        new_versions.append({k: getattr(row, k) for k in versions.STORED_COLUMNS})
        new_parents += [{"version_id": vid, "parent_id": p} for p in parents]
        if kind == PATIENT and (nhs := versions.payloads.decode(data).get("nhs_number")):
            # The NHS-number lookup is derived, keyed by the same data key: made here, never synced.
            digests[(dek.blind_index("nhs", nhs), rid)] = None
        here.add(vid)
        result.patients.add(pid)
    for table, values in ((Record, new_records), (Version, new_versions), (VersionParent, new_parents)):
        if values:
            conn.execute(insert(table.__table__), values)
    _index_patients(conn, list(digests))
    arrivals.note(conn, dek, (v["version_id"] for v in new_versions))  # audited where they were saved
    result.versions += len(new_versions)
    return len(new_versions)


def _index_patients(conn: Any, entries: list[tuple[bytes, str]]) -> None:
    if not entries:
        return
    q = select(BlindIndex.digest, BlindIndex.record_id).where(
        BlindIndex.kind == "nhs", BlindIndex.record_id.in_({rid for _, rid in entries})
    )
    have = {(bytes(d), rid) for d, rid in conn.execute(q)}
    rows = [dict(kind="nhs", digest=d, record_id=rid) for d, rid in entries if (d, rid) not in have]
    if rows:
        conn.execute(insert(BlindIndex.__table__), rows)
