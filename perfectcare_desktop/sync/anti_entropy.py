"""Anti-entropy: a cheap comparison, every round, of what this PC holds with what the hub holds.

Pull by commit order cannot skip a row, but holes have other causes: a row a DBA deleted or restored
from an old backup, a hub restored to yesterday, a store restored on a PC, a row refused before that a
DBA has since repaired. One round trip fetches, for versions, a count and an XOR of a 64-bit hash of
the version ids in each of 256 buckets (the hub computes its hashes itself, `id_hash`, revision h002);
for accounts, a count and XOR of the change ids; for this PC's audit trail, a count per stream.
The PC keeps the same figures for its own versions, updated as versions are added. Only where a
bucket differs are ids listed, and then:

- a version on the hub and not here, that pull has passed: fetched and applied (a refused one only if
  its hub row has changed since, or what it waited for has arrived);
- a version here and not on the hub, not waiting in the outbox: queued again, so the hub heals from
  any PC that has it;
- account changes that differ from what pull has read: the whole (small) account stream is read again,
  the newest change of each account applied;
- audit entries of this PC missing on the hub: queued again.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select

from ..core.storage import outbox
from ..crypto.vault import DataKey
from ..store.models import AuditEntry, Outbox, SyncReject
from . import device, pull
from .digest import BUCKETS, bucket_of, id_hash

# One round trip: per-bucket figures for versions, the account stream's, this PC's audit per stream.
_SUMMARY = (
    "SELECT (SELECT array_agg(ARRAY[bucket::bigint, n, x]) FROM ("
    "   SELECT bucket, count(*) AS n, bit_xor(id_hash) AS x FROM versions GROUP BY bucket) v), "
    " (SELECT ARRAY[count(*), coalesce(bit_xor(('x' || substr(md5(change_id), 1, 16))::bit(64)::bigint), 0)] "
    "   FROM users WHERE (xid, seq) <= (%s::xid8, %s)), "
    " (SELECT array_agg(ARRAY[stream, n::text]) FROM ("
    "   SELECT stream, count(*) AS n FROM audit WHERE device_id = %s GROUP BY stream) a)"
)


@dataclass
class Healed:
    fetched: int = 0  # versions applied that pull had missed, or refused before and now accepted
    requeued: int = 0  # versions and audit entries the hub lacked, queued again
    accounts: int = 0  # account changes applied on a re-read


@dataclass
class _Here:
    """The version ids here, by bucket, with each bucket's (count, xor): kept per engine and brought up
    to date with the versions added since (versions are never removed; a restore opens a new engine).
    The figures are also kept in the store (`device.HERE_FIGURES`), so the first round after the app
    starts hashes only what arrived since, not every id: the ids themselves are read only when a
    bucket differs, and then the figures are counted afresh from them (a wrong saved copy mends)."""

    total: int = 0
    top: int = 0  # the highest local seq counted
    figures: dict[int, tuple[int, int]] = field(default_factory=dict)
    ids: dict[int, set[str]] | None = field(default_factory=dict)  # None: not read yet
    saved_top: int = -1

    def add(self, vid: str) -> None:
        h = id_hash(vid)
        b = bucket_of(h)
        n, x = self.figures.get(b, (0, 0))
        self.figures[b] = (n + 1, x ^ h)
        if self.ids is not None:
            self.ids.setdefault(b, set()).add(vid)
        self.total += 1

    def to_text(self) -> str:
        return json.dumps([self.total, self.top, [[b, n, x] for b, (n, x) in sorted(self.figures.items())]])

    @classmethod
    def from_text(cls, text: str | None) -> _Here | None:
        try:
            total, top, rows = json.loads(text or "")
            return cls(int(total), int(top), {int(b): (int(n), int(x)) for b, n, x in rows}, None, int(top))
        except (ValueError, TypeError):
            return None  # none saved, or not readable: count afresh


_here_cache: weakref.WeakKeyDictionary[Any, _Here] = weakref.WeakKeyDictionary()


def _here(conn: Any, *, with_ids: bool = False) -> _Here:
    total, top = conn.exec_driver_sql("SELECT count(*), coalesce(max(seq), 0) FROM versions").one()
    here = _here_cache.get(conn.engine)
    if here is None:
        here = _Here.from_text(device.get(conn, device.HERE_FIGURES))
    if here is None or here.top > top or here.total > total or (with_ids and here.ids is None):
        here = _Here()
    _here_cache[conn.engine] = here
    if here.top < top:
        for (vid,) in conn.exec_driver_sql("SELECT version_id FROM versions WHERE seq > ?", (here.top,)):
            here.add(vid)
        here.top = top
    if here.total != total:  # read across another process's write: these figures once, counted afresh next time
        _here_cache.pop(conn.engine, None)
    return here


def _save_figures(store: Any) -> None:
    """Keep the figures in the store when they have moved on (a small meta row, once a round at most)."""
    here = _here_cache.get(store.engine)
    if here is not None and here.top != here.saved_top:
        with store.writing() as conn:
            device.set_value(conn, device.HERE_FIGURES, here.to_text())
        here.saved_top = here.top


def local_buckets(conn: Any) -> dict[int, tuple[int, int]]:
    """Per-bucket (count, xor) of the version ids here; after the first call only versions added since
    are hashed."""
    return dict(_here(conn).figures)


def _toggled(figures: dict[int, tuple[int, int]], ids: list[str], added: frozenset[str] = frozenset()
             ) -> dict[int, tuple[int, int]]:  # fmt: skip
    """The figures with `ids` taken out (or, for those in `added`, put in)."""
    out = dict(figures)
    for vid in ids:
        h = id_hash(vid)
        n, x = out.get(bucket_of(h), (0, 0))
        out[bucket_of(h)] = (n + 1 if vid in added else n - 1, x ^ h)
    return out


def heal(store: Any, dek: DataKey, hub: Any, device_id: str, result: pull.PullResult) -> Healed:
    """Compare with the hub and mend what differs. Run after a pull that has drained."""
    healed = Healed()
    with store.reading() as conn:
        at_u = device.horizon(conn, device.HORIZON_USERS)
        seen_u = device.get(conn, device.USERS_SEEN) or "0 0"
        waiting = list(conn.execute(select(Outbox.ref).where(Outbox.item == outbox.VERSION)).scalars())
        refused = list(conn.execute(select(SyncReject.ref).where(SyncReject.stream == "versions")).scalars())
        # What the hub should hold as far as this PC knows: all here but what waits to be sent, and
        # what it refused (XOR adds and takes away alike). Python's XOR of signed numbers is the
        # hub's bit_xor of bigints.
        mine = _toggled(local_buckets(conn), waiting + refused, frozenset(refused))
        audit_here = _audit_counts(conn)
    buckets, users, audit_there = hub.execute(_SUMMARY, (str(at_u[0]), at_u[1], device_id)).fetchone()
    hub.commit()
    theirs = {int(b): (int(n), int(x)) for b, n, x in (buckets or [])}
    differ = [b for b in range(BUCKETS) if theirs.get(b, (0, 0)) != mine.get(b, (0, 0))]
    if differ:
        _mend_versions(store, dek, hub, differ, set(waiting), result, healed)
    _retry_changed(store, dek, hub, result, healed)
    if healed.fetched:
        before = result.versions
        pull.retry_waiting(store, dek, hub, result)  # what was mended may be what others waited for
        healed.fetched += result.versions - before
    count_u, xor_u = (int(v) for v in users)
    if [count_u, xor_u] != [int(v) for v in seen_u.split()] or _users_to_reread(store, hub, result):
        healed.accounts += pull.reread_users(store, dek, hub, result)
    there = {str(s): int(n) for s, n in (audit_there or [])}
    # The hub may hold more of a stream than this PC (entries written before a restore); fewer is a hole.
    if any(there.get(stream, 0) < n for stream, n in audit_here.items()):
        healed.requeued += _requeue_audit(store, hub, device_id)
    pull.note_digests(store, hub, result)
    _save_figures(store)
    return healed


def _mend_versions(store: Any, dek: DataKey, hub: Any, differ: list[int], waiting: set[str],
                   result: pull.PullResult, healed: Healed) -> None:  # fmt: skip
    rows = hub.execute(
        "SELECT version_id::text, xid::text, seq FROM versions WHERE bucket = ANY(%s)", (differ,)
    ).fetchall()
    hub.commit()
    on_hub = {vid: (int(xid), seq) for vid, xid, seq in rows}
    wanted = set(differ)
    with store.reading() as conn:
        at_v = device.horizon(conn, device.HORIZON_VERSIONS)
        ids = _here(conn, with_ids=True).ids or {}
        here = set().union(*(ids.get(b, set()) for b in wanted))
        refused = dict(
            conn.execute(select(SyncReject.hub_seq, SyncReject.retry).where(SyncReject.stream == "versions")).all()
        )
    # On the hub, not here, and pull has passed it: a hole. Refused rows are tried again elsewhere
    # (when they change, or what they wait for arrives), not on every round.
    holes = [seq for vid, (xid, seq) in on_hub.items() if vid not in here and (xid, seq) <= at_v and seq not in refused]
    if holes:
        healed.fetched += pull.apply_rows(store, dek, hub, "seq = ANY(%s)", (holes,), result)
    lost = sorted(here - on_hub.keys() - waiting)
    if lost:
        with store.writing() as conn:
            now = store.clock.now()
            for vid in lost:
                outbox.queue(conn, outbox.VERSION, vid, now)
        healed.requeued += len(lost)


def _changed_rejects(store: Any, hub: Any, stream: str) -> list[int]:
    """Refused rows of a stream whose hub row has changed since (a DBA repaired it): worth another try.
    One that is gone from the hub is forgotten (if a PC still has it, it sends it again as a new row)."""
    with store.reading() as conn:
        refused = dict(
            conn.execute(
                select(SyncReject.hub_seq, SyncReject.digest).where(
                    SyncReject.stream == stream, SyncReject.retry == pull.CHANGED
                )
            ).all()
        )
    if not refused:
        return []
    now_there = pull.hub_digests(hub, stream, list(refused))
    gone = [seq for seq in refused if seq not in now_there]
    if gone:
        with store.writing() as conn:
            conn.execute(delete(SyncReject).where(SyncReject.stream == stream, SyncReject.hub_seq.in_(gone)))
    return [seq for seq, digest in now_there.items() if digest != refused[seq]]


def _retry_changed(store: Any, dek: DataKey, hub: Any, result: pull.PullResult, healed: Healed) -> None:
    if changed := _changed_rejects(store, hub, "versions"):
        healed.fetched += pull.apply_rows(store, dek, hub, "seq = ANY(%s)", (changed,), result)


def _users_to_reread(store: Any, hub: Any, result: pull.PullResult) -> bool:
    """A refused account change is tried again (the whole small stream re-read) when its hub row changed,
    or, for one that waited (a user name another account held), when account changes arrived."""
    with store.reading() as conn:
        waiting = conn.execute(
            select(SyncReject.hub_seq).where(SyncReject.stream == "users", SyncReject.retry == pull.DEPENDENCY)
        ).first()
    return bool(waiting is not None and result.accounts) or bool(_changed_rejects(store, hub, "users"))


def _audit_counts(conn: Any) -> dict[str, int]:
    """Entries of this PC's trail that should be on the hub (not waiting to be sent), per stream.
    A stream is a range of seqs, so each is one count."""
    streams = device.audit_streams(conn)
    waiting = {int(r) for r in conn.execute(select(Outbox.ref).where(Outbox.item == outbox.AUDIT)).scalars()}
    counts: dict[str, int] = {}
    for i, (first, stream) in enumerate(streams):
        q = select(func.count()).select_from(AuditEntry).where(AuditEntry.seq >= first)
        if i + 1 < len(streams):
            q = q.where(AuditEntry.seq < streams[i + 1][0])
        n = conn.execute(q).scalar_one() - sum(1 for w in waiting if device.stream_of(streams, w) == stream)
        if n:
            counts[stream] = counts.get(stream, 0) + n
    return counts


def _requeue_audit(store: Any, hub: Any, device_id: str) -> int:
    there = set(hub.execute("SELECT stream, seq FROM audit WHERE device_id = %s", (device_id,)).fetchall())
    hub.commit()
    with store.writing() as conn:
        streams = device.audit_streams(conn)
        waiting = {int(r) for r in conn.execute(select(Outbox.ref).where(Outbox.item == outbox.AUDIT)).scalars()}
        missing = [
            seq
            for seq in conn.execute(select(AuditEntry.seq)).scalars()
            if seq not in waiting and (device.stream_of(streams, seq), seq) not in there
        ]
        now = store.clock.now()
        for seq in missing:
            outbox.queue(conn, outbox.AUDIT, str(seq), now)
    return len(missing)
