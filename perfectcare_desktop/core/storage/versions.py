"""Immutable version chains: append, heads, history. Every clinical write goes through here.

A save appends a version whose parents are the record's current heads; nothing is updated in place.
Two heads for one record (offline edits on two PCs) is a conflict that a merge version resolves.

A record's versions are read in one order, the same on every PC whatever order they arrived in
(`in_order`): each after every version it descends from, then by the time it was saved, then by id.
What is current, which plan is in use and what is superseded are all read from that order; the local
`Version.seq` (arrival order here) only ever says what changed since a cache was made.
"""

from __future__ import annotations

import heapq
import uuid
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Connection, exists, func, insert, select

from ...crypto.aead import DecryptionError
from ...crypto.vault import DataKey
from ...errors import NotFound, StoreDamaged
from ...store.models import Record, Version, VersionParent
from ..clinical.statuses import ENTERED_IN_ERROR
from . import outbox, payloads

PAYLOAD_TABLE = "versions"


@dataclass(frozen=True)
class VersionInfo:
    """A decrypted version: clear metadata plus its payload."""

    version_id: str
    record_id: str
    kind: str
    author_id: str
    created_at: datetime
    signed: bool
    status: str
    review_due: date | None
    followup_due: date | None
    parents: tuple[str, ...]
    payload: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class NewVersion:
    """What a caller asks to append; the id and time are assigned here."""

    record_id: str
    kind: str
    payload: dict[str, Any]
    status: str = "current"
    signed: bool = False
    review_due: date | None = None
    followup_due: date | None = None


def bound_metadata(row: Any, parents: Iterable[str], patient_id: str | None = None) -> tuple[object, ...]:
    """The clear metadata sealed into a version's associated data: editing any of it in the file
    (a faked signature, a changed status or due date, a re-parented version) fails authentication.

    `patient_id` (the record's `records.patient_id`) is sealed into every version written since issue 16,
    so a record filed under another patient by an SQL edit no longer opens. None gives the binding of the
    versions written before, which did not include it (see `open_payload` and docs/store.md)."""
    bound = (
        row.kind,
        row.author_id,
        row.created_at.isoformat(),
        bool(row.signed),
        row.status,
        row.review_due.isoformat() if row.review_due else None,
        row.followup_due.isoformat() if row.followup_due else None,
        sorted(parents),
    )
    return bound if patient_id is None else (*bound, "patient", patient_id)


def new_id() -> str:
    return str(uuid.uuid4())


# Namespace for the ids of one-per-patient records. Fixed forever: every PC must derive the same id.
_ONE_PER_PATIENT = uuid.UUID("632c102b-6495-4acc-8e23-7d1d9f35f8fb")


def one_per_patient_id(kind: str, patient_id: str) -> str:
    """The id of a patient's record of a kind they have one of (their plan, their formulation).

    Derived, not random: two PCs that each begin it offline make the same record, whose two first
    versions are two heads to compare and merge. Random ids made two records, and only the older was
    ever shown."""
    return str(uuid.uuid5(_ONE_PER_PATIENT, f"{kind}\x1f{patient_id}"))


def patient_record_id(dek: DataKey, nhs_number: str, date_of_birth: date) -> str:
    """The id a new patient record takes: derived from the NHS number and date of birth, so the same
    person registered on two PCs while offline is one record (two first versions to reconcile, and one
    plan), not two records with the plan split between them. Keyed (the store's sync MAC key): on the
    hub the id says nothing about the number. Both facts, so that a mistyped NHS number that is
    another person's rarely lands two people in one record."""
    digest = dek.mac("patient-record", nhs_number, date_of_birth.isoformat())
    return str(uuid.UUID(bytes=digest[:16], version=4))


def record_exists(conn: Connection, record_id: str) -> bool:
    return conn.execute(select(Record.record_id).where(Record.record_id == record_id)).first() is not None


def create_record(conn: Connection, kind: str, patient_id: str | None, author_id: str, at: datetime, *,
                  record_id: str | None = None) -> str:  # fmt: skip
    """A new record, random id unless `record_id` is a derived one (see above). A derived record that is
    here already (sync brought it since the caller looked) is kept as it is: the caller's first version
    becomes a second head, a conflict shown for merging, never an error."""
    record_id = record_id or new_id()
    # (Looked up, not INSERT OR IGNORE: the append-only trigger refuses any insert of a key that exists.)
    filed = conn.execute(select(Record.patient_id).where(Record.record_id == record_id)).scalar()
    if filed is not None and filed != (patient_id or record_id):
        # A derived id is one patient's: filed under another, the file was edited (records.patient_id).
        # Saving would seal this patient's words under the other; refused, nothing written.
        raise StoreDamaged(
            f"This patient's {kind} record is filed under another patient in this store: the store file was "
            "altered. Nothing was saved. Ask an administrator to run 'perfectcare-admin verify'."
        )
    if filed is None:
        conn.execute(
            insert(Record.__table__),
            dict(record_id=record_id, kind=kind, patient_id=patient_id or record_id, created_at=at,
                 created_by=author_id),
        )  # fmt: skip
    return record_id


def is_head() -> ColumnElement[bool]:
    """SQL condition: no other version names this one as its parent."""
    return ~exists(select(VersionParent.version_id).where(VersionParent.parent_id == Version.version_id))


# Head counts per record over the covering index (ids only, no payload pages).
_HEADS_PER_RECORD = (
    "SELECT v.record_id, count(*) FROM versions v {index} "
    "WHERE NOT EXISTS (SELECT 1 FROM version_parents p WHERE p.parent_id = v.version_id) {where} "
    "GROUP BY v.record_id HAVING count(*) > 1"
)
# engine -> (newest version seq seen, conflicted record ids). Versions are only ever added, and a
# record's heads change only when one of its versions is, so after the first full pass only the
# records touched since are looked at again: this runs on every sync round and caseload load.
_conflict_cache: weakref.WeakKeyDictionary[Any, tuple[int, set[str]]] = weakref.WeakKeyDictionary()


def conflicted_records(conn: Connection) -> list[Any]:
    """(record_id, patient_id, kind) of every record with two or more heads: edits made on two PCs
    (or two users of one shared store) that a clinician must compare and merge."""
    upto = conn.execute(select(func.max(Version.seq))).scalar() or 0
    cached = _conflict_cache.get(conn.engine)
    if cached is not None and cached[0] == upto:
        conflicted = cached[1]
    elif cached is not None and cached[0] < upto:
        touched = set(conn.execute(select(Version.record_id).where(Version.seq > cached[0]).distinct()).scalars())
        check = sorted(touched | cached[1])
        conflicted = cached[1] - touched
        for start in range(0, len(check), 500):
            chunk = check[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = _HEADS_PER_RECORD.format(index="", where=f"AND v.record_id IN ({marks})")  # by ix_versions_record
            conflicted |= {r[0] for r in conn.exec_driver_sql(sql, tuple(chunk))}
    else:
        sql = _HEADS_PER_RECORD.format(index="INDEXED BY ix_versions_heads", where="")  # covering: no payloads
        conflicted = {r[0] for r in conn.exec_driver_sql(sql)}
    _conflict_cache[conn.engine] = (upto, conflicted)
    if not conflicted:
        return []
    q = select(Record.record_id, Record.patient_id, Record.kind).where(Record.record_id.in_(sorted(conflicted)))
    return list(conn.execute(q))


class Placed(Protocol):
    """What `in_order` needs of a version: its id, when it was saved, and the versions it follows."""

    @property
    def version_id(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def parents(self) -> Sequence[str]: ...


P = TypeVar("P", bound=Placed)


def in_order(items: Iterable[P]) -> list[P]:
    """A record's versions in the one order every PC shows, whatever order they arrived in.

    Causal first: a version comes after every version it descends from (a revision, a merge), even
    when its PC's clock said earlier, since it was made from them. Among the versions ready to come
    next (all their parents placed), the earliest saved goes first, ties by id: the lexicographically
    smallest topological order by (created_at, version_id), a function of the set of versions alone.
    So a clock running fast decides only between versions made without sight of each other."""
    by_id = {v.version_id: v for v in items}
    waiting: dict[str, int] = {}
    children: dict[str, list[str]] = {}
    for v in by_id.values():
        known = {p for p in v.parents if p in by_id}  # a parent is always here; tolerate a partial set
        waiting[v.version_id] = len(known)
        for p in known:
            children.setdefault(p, []).append(v.version_id)
    ready = [(v.created_at, v.version_id) for v in by_id.values() if not waiting[v.version_id]]
    heapq.heapify(ready)
    out: list[P] = []
    while ready:
        _, vid = heapq.heappop(ready)
        out.append(by_id[vid])
        for child in children.get(vid, ()):
            waiting[child] -= 1
            if not waiting[child]:
                heapq.heappush(ready, (by_id[child].created_at, child))
    return out  # complete: parents are sealed into a version made after them, so there is no cycle


@dataclass(frozen=True)
class _Placed:
    version_id: str
    created_at: datetime
    parents: tuple[str, ...]


def orders_of(conn: Connection, record_ids: Iterable[str]) -> dict[str, list[str]]:
    """record id -> its version ids in the one order, from clear metadata (no payload is read)."""
    ids = sorted(set(record_ids))
    out: dict[str, list[str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            select(Version.version_id, Version.record_id, Version.created_at).where(Version.record_id.in_(chunk))
        ).all()
        parents = _parents_of(conn, [r.version_id for r in rows])
        per_record: dict[str, list[_Placed]] = {}
        for r in rows:
            per_record.setdefault(r.record_id, []).append(_Placed(r.version_id, r.created_at, parents[r.version_id]))
        out |= {rid: [v.version_id for v in in_order(placed)] for rid, placed in per_record.items()}
    return out


def changed_records(conn: Connection, kinds: Sequence[str], known: dict[str, Iterable[str]]) -> list[str]:
    """Records of these kinds whose heads are not the ones a cache was built from (`known`: record id ->
    head version ids then). Decided from the parent links, not from `seq`: an edited arrival number can
    neither hide a saved version from a cache nor make an older one look newest. Ids only, over the
    covering index, compared as (record, head) pairs: cheap enough for every unlock."""
    q = select(Version.record_id, Version.version_id).where(Version.kind.in_(kinds), is_head())
    now = {(rid, vid) for rid, vid in conn.execute(q).all()}
    then = {(rid, vid) for rid, ids in known.items() for vid in ids}
    return sorted({rid for rid, _ in now ^ then})


def head_ids(conn: Connection, record_id: str) -> list[str]:
    """The record's heads in the one order: the last is the newest."""
    heads = list(conn.execute(select(Version.version_id).where(Version.record_id == record_id, is_head())).scalars())
    if len(heads) < 2:
        return heads
    # Heads never descend from one another, but their order still depends on their ancestors' times.
    rank = {vid: i for i, vid in enumerate(orders_of(conn, [record_id])[record_id])}
    return sorted(heads, key=rank.__getitem__)


def patient_of(conn: Connection, record_id: str) -> str:
    """The patient a record is filed under (a patient record's own id for a patient record)."""
    found = conn.execute(select(Record.patient_id).where(Record.record_id == record_id)).scalar()
    if found is None:
        raise NotFound("That record does not exist in this store.")
    return found


def append(
    conn: Connection, dek: DataKey, new: NewVersion, author_id: str, at: datetime, parents: list[str] | None = None
) -> str:
    """Append one version inside the caller's transaction. Parents default to the current heads."""
    data = payloads.encode(new.payload)  # validates size before anything is written
    patient_id = patient_of(conn, new.record_id)
    if parents is None:
        parents = head_ids(conn, new.record_id)
    version_id = new_id()
    values = dict(
        version_id=version_id,
        record_id=new.record_id,
        kind=new.kind,
        author_id=author_id,
        created_at=at,
        signed=new.signed,
        status=new.status,
        review_due=new.review_due,
        followup_due=new.followup_due,
    )
    sealed = dek.seal(
        data, PAYLOAD_TABLE, new.record_id, version_id, *bound_metadata(SimpleNamespace(**values), parents, patient_id)
    )
    conn.execute(insert(Version.__table__), {**values, "payload": sealed})
    if parents:
        conn.execute(insert(VersionParent.__table__), [{"version_id": version_id, "parent_id": p} for p in parents])
    outbox.queue(conn, outbox.VERSION, version_id, at)
    return version_id


# What a version row holds besides its local arrival number: what sync copies from PC to PC.
STORED_COLUMNS = (
    "version_id", "record_id", "kind", "author_id", "created_at", "signed", "status", "review_due", "followup_due",
    "payload",
)  # fmt: skip


def open_bound(dek: DataKey, row: Any, parents: Iterable[str], patient_id: str) -> tuple[bytes, bool]:
    """(plaintext, whether the patient was sealed in) of a version row, checking its metadata, parents
    and patient are the ones sealed. A version written before the patient was bound opens under the
    older binding; one written since never does (its tag covers the patient), so an SQL edit cannot
    pass a new version off as an old one. Raises DecryptionError when neither authenticates."""
    parents = list(parents)
    try:
        return dek.open(row.payload, PAYLOAD_TABLE, row.record_id, row.version_id,
                        *bound_metadata(row, parents, patient_id)), True  # fmt: skip
    except DecryptionError:
        legacy = dek.open(row.payload, PAYLOAD_TABLE, row.record_id, row.version_id, *bound_metadata(row, parents))
        return legacy, False


def open_payload(dek: DataKey, row: Any, parents: Iterable[str], patient_id: str) -> bytes:
    """Decrypt a version row's payload, checking its metadata, parents and patient are the ones sealed."""
    return open_bound(dek, row, parents, patient_id)[0]


def _info(dek: DataKey, row: Any, parents: tuple[str, ...], patient_id: str) -> VersionInfo:
    data = open_payload(dek, row, parents, patient_id)
    return VersionInfo(
        row.version_id,
        row.record_id,
        row.kind,
        row.author_id,
        row.created_at,
        row.signed,
        row.status,
        row.review_due,
        row.followup_due,
        parents,
        payloads.decode(data),
    )


def _parents_of(conn: Connection, version_ids: list[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {v: [] for v in version_ids}
    for chunk_start in range(0, len(version_ids), 500):
        chunk = version_ids[chunk_start : chunk_start + 500]
        rows = conn.execute(select(VersionParent.__table__).where(VersionParent.version_id.in_(chunk)))
        for vp in rows:
            out[vp.version_id].append(vp.parent_id)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def history(conn: Connection, dek: DataKey, record_id: str) -> list[VersionInfo]:
    """Every version of a record in the one order (`in_order`: oldest first, the same on every PC),
    decrypted — including ones marked entered in error."""
    rows = conn.execute(select(Version.__table__).where(Version.record_id == record_id)).all()
    if not rows:
        raise NotFound("That record does not exist in this store.")
    patient_id = patient_of(conn, record_id)
    parents = _parents_of(conn, [r.version_id for r in rows])
    return in_order(_info(dek, r, parents[r.version_id], patient_id) for r in rows)


def withdrawn_ids(versions: Iterable[VersionInfo]) -> set[str]:
    """Ids of the versions marked "entered in error" (the notes name the version they withdraw)."""
    # A note without "marks" (never written so; a damaged or forged one) withdraws nothing.
    return {str(v.payload["marks"]) for v in versions if v.status == ENTERED_IN_ERROR and v.payload.get("marks")}


def current(versions: list[VersionInfo]) -> VersionInfo | None:
    """The version whose content is current: the newest content version not marked entered in error.
    `versions` in the one order (as `history` gives them).

    "Entered in error" versions are annotations naming the version they withdraw, so marking the
    latest content version reverts to the one before; marking them all withdraws the record.
    """
    withdrawn = withdrawn_ids(versions)
    for v in reversed(versions):
        if v.status != ENTERED_IN_ERROR and v.version_id not in withdrawn:
            return v
    return None


def heads_of_kind(conn: Connection, kind: str) -> list[Any]:
    """Head version rows of every record of a kind, in one query (the caseload's main read). A record's
    heads come in the one order (its newest last); the rare record with two is ordered from its chain."""
    # Version.kind repeats its record's kind; the record is joined for the patient sealed into each version.
    q = (
        select(
            Record.patient_id,
            Version.version_id,
            Version.record_id,
            Version.seq,
            Version.status,
            Version.created_at,
            Version.payload,
            Version.review_due,
            Version.followup_due,
            Version.signed,
            Version.author_id,
            Version.kind,
            select(func.group_concat(VersionParent.parent_id))
            .where(VersionParent.version_id == Version.version_id)
            .scalar_subquery()
            .label("parents"),
        )
        .join(Record, Record.record_id == Version.record_id)
        .where(Version.kind == kind, is_head())
        .order_by(Version.seq)  # only the covering index's order, cheapest to read: no record's head depends on it
    )
    rows = list(conn.execute(q))
    by_record: dict[str, list[Any]] = {}
    for row in rows:
        by_record.setdefault(row.record_id, []).append(row)
    split = [rid for rid, heads in by_record.items() if len(heads) > 1]
    if not split:
        return rows
    orders = orders_of(conn, split)
    for rid in split:
        rank = {vid: i for i, vid in enumerate(orders[rid])}
        by_record[rid].sort(key=lambda r: rank[r.version_id])
    return [row for heads in by_record.values() for row in heads]


def decrypt_row(dek: DataKey, row: Any) -> dict[str, Any]:
    """Decrypt a row from heads_of_kind (which carries its parents as a comma-joined `parents`)."""
    parents = row.parents.split(",") if row.parents else []
    return payloads.decode(open_payload(dek, row, parents, row.patient_id))
