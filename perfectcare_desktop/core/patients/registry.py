"""The patients of a session: registering and correcting them, the list held in memory once per
unlock (with its search index), NHS-number checks through the keyed blind index, and bulk import.

The list is decrypted once and kept up to date by this session's own saves; `reload()` re-reads it
after another process or sync changed the store. `Session.lock()` empties it (`forget`) under the
session's guard, and a load begun before the lock publishes nothing."""

from __future__ import annotations

import dataclasses
import gc
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, insert, select

from ...crypto import vault
from ...errors import InvalidInput, NotFound, SessionLocked
from ...store.models import BlindIndex, Version
from ..storage import arrivals, audit, versions
from ..storage.records import PATIENT, record_row
from . import snapshot as patient_snapshot
from .details import PatientDetails, PatientSummary, validated
from .nhs_number import InvalidNhsNumber, normalise_nhs_number
from .search_index import PatientIndex

if TYPE_CHECKING:  # the session makes its registry: a type, not a dependency of behaviour
    from ..access.session import Session

# Reading a record's chain costs far more than one row of the bulk read: past this many changes since
# the snapshot (an import, a first sync), the list is read again from the heads.
_SNAPSHOT_CATCH_UP = 200


class PatientRegistry:
    def __init__(self, session: Session) -> None:
        self._session = session
        self._summaries: dict[str, PatientSummary] | None = None
        self._index = PatientIndex()

    def forget(self) -> None:
        """Drop every decrypted detail (called by Session.lock under its guard)."""
        self._summaries = None
        self._index.clear()

    @property
    def loaded(self) -> bool:
        """Whether the patient list is in memory (all() would not decrypt anything)."""
        return self._summaries is not None

    # --- registering and correcting --------------------------------------------------------------
    def add(self, details: PatientDetails) -> str:
        s = self._session
        generation = s.generation
        clean = validated(details, s.today())
        dek, now = s.require_unlocked(), s.now()
        digest = dek.blind_index("nhs", clean.nhs_number)
        with s.store.writing() as conn:
            for other in _indexed_nhs(conn, digest):
                if self._current_nhs(conn, other) == clean.nhs_number:
                    raise InvalidInput(
                        f"A patient with NHS number {clean.nhs_number_formatted} is already registered; "
                        "open that record instead."
                    )
            record_id = versions.create_record(conn, PATIENT, None, s.user.user_id, now,
                                               record_id=self._new_patient_id(conn, dek, clean))  # fmt: skip
            version_id = versions.append(
                conn, dek, versions.NewVersion(record_id, PATIENT, clean.to_payload()), s.user.user_id, now, []
            )
            conn.execute(insert(BlindIndex.__table__), dict(kind="nhs", digest=digest, record_id=record_id))
            audit.append(conn, dek, now, "create", user_id=s.user.user_id, patient_id=record_id,
                         target_id=version_id, detail=PATIENT)  # fmt: skip
        self._put_summary(PatientSummary(record_id, clean, version_id, now, False), generation)
        return record_id

    def _new_patient_id(self, conn: Connection, dek: vault.DataKey, clean: PatientDetails) -> str:
        """The derived id for a new patient, unless a record here has it already: that one's NHS number
        was corrected away from this one (a current match is refused before), so this person is new."""
        derived = versions.patient_record_id(dek, clean.nhs_number, clean.date_of_birth)
        return versions.new_id() if versions.record_exists(conn, derived) else derived

    def update(self, record_id: str, details: PatientDetails) -> str:
        """Save changed details as a new version; the earlier ones stay in history."""
        s = self._session
        clean = validated(details, s.today())
        dek, now = s.require_unlocked(), s.now()
        digest = dek.blind_index("nhs", clean.nhs_number)
        with s.store.writing() as conn:
            record = record_row(conn, record_id)
            if record.kind != PATIENT:
                raise NotFound("That record is not a patient.")
            for other in _indexed_nhs(conn, digest):
                if other != record_id and self._current_nhs(conn, other) == clean.nhs_number:
                    raise InvalidInput(f"Another patient already has NHS number {clean.nhs_number_formatted}.")
            version_id = versions.append(
                conn, dek, versions.NewVersion(record_id, PATIENT, clean.to_payload()), s.user.user_id, now
            )
            indexed = conn.execute(
                select(BlindIndex.record_id).where(
                    BlindIndex.kind == "nhs", BlindIndex.digest == digest, BlindIndex.record_id == record_id
                )
            ).first()
            if indexed is None:  # a changed NHS number: index the new one too (rows are never removed)
                conn.execute(insert(BlindIndex.__table__), dict(kind="nhs", digest=digest, record_id=record_id))
            audit.append(conn, dek, now, "update", user_id=s.user.user_id, patient_id=record_id,
                         target_id=version_id, detail=PATIENT)  # fmt: skip
        self.refresh(record_id)
        return version_id

    def _current_nhs(self, conn: Connection, record_id: str) -> str | None:
        current = versions.current(versions.history(conn, self._session.require_unlocked(), record_id))
        return current.payload.get("nhs_number") if current else None

    # --- one patient ---------------------------------------------------------------------------
    def get(self, record_id: str, *, audit_view: bool = True) -> PatientSummary:
        """A patient's current details; opening a record is a 'view' in the audit trail."""
        summary = self._load_one(record_id)
        if summary is None:
            raise NotFound("That patient record was entered in error and withdrawn; see its history.")
        if audit_view:
            self._session.record_event("view", patient_id=record_id, target_id=summary.version_id)
        return summary

    def _load_one(self, record_id: str) -> PatientSummary | None:
        dek = self._session.require_unlocked()
        with self._session.store.reading() as conn:
            record = record_row(conn, record_id)
            if record.kind != PATIENT:
                raise NotFound("That record is not a patient.")
            history = versions.history(conn, dek, record_id)
            heads = versions.head_ids(conn, record_id)
        current = versions.current(history)
        if current is None:
            return None
        details = PatientDetails.from_payload(current.payload)
        return PatientSummary(record_id, details, current.version_id, current.created_at, len(heads) > 1)

    def refresh(self, record_id: str) -> None:
        """Re-read one patient into the list after a change to their record (a save, entered in error)."""
        s = self._session
        generation = s.generation
        if self._summaries is None or s.locked:
            return  # not loaded, or locked since the save: the next load reads it
        summary = self._load_one(record_id)
        with s.cache_guard:
            if self._summaries is None or generation != s.generation:
                return
            if summary is None:
                self._summaries.pop(record_id, None)
                self._index.remove(record_id)
            else:
                _put(self._summaries, self._index, summary)

    def _put_summary(self, summary: PatientSummary, generation: int) -> None:
        with self._session.cache_guard:
            if self._summaries is None or generation != self._session.generation:
                return  # not loaded yet (the load will include it), or locked since the save began
            _put(self._summaries, self._index, summary)

    # --- the whole list ------------------------------------------------------------------------
    def all(self) -> list[PatientSummary]:
        """Every current patient, decrypted into memory once per unlock (then kept up to date)."""
        return list(self._loaded().values())

    def _loaded(self) -> dict[str, PatientSummary]:
        summaries = self._summaries
        return summaries if summaries is not None else self._load_all()

    def sharing_nhs_number(self) -> dict[str, tuple[str, ...]]:
        """Current patients whose NHS number another current patient has too -> those others' ids.

        Registering a taken number is refused here, and the same person registered on two PCs while
        offline is one record (see `versions.patient_record_id`); this catches what that cannot: the
        same number with another date of birth, or records from before sync."""
        patients = self.all()
        counts = Counter(p.details.nhs_number for p in patients)  # one cheap pass; sharing is rare
        shared = {n for n, c in counts.items() if c > 1}
        by_number: dict[str, list[str]] = {}
        for p in patients:
            if p.details.nhs_number in shared:
                by_number.setdefault(p.details.nhs_number, []).append(p.record_id)
        return {rid: tuple(o for o in ids if o != rid) for ids in by_number.values() for rid in ids}

    def others_with_nhs_number(self, record_id: str) -> tuple[str, ...]:
        """Other current patients with this patient's NHS number (one patient's share of the above,
        through the blind index rather than a pass over everyone)."""
        summaries = self._loaded()
        mine = summaries.get(record_id)
        if mine is None:
            return ()
        nhs = mine.details.nhs_number
        with self._session.store.reading() as conn:
            candidates = _indexed_nhs(conn, self._session.require_unlocked().blind_index("nhs", nhs))
        return tuple(
            c for c in candidates if c != record_id and c in summaries and summaries[c].details.nhs_number == nhs
        )

    def reload(self) -> None:
        """Re-read the store (after another process or the sync worker changed it)."""
        with self._session.cache_guard:
            self.forget()
        self._load_all()

    def _load_all(self) -> dict[str, PatientSummary]:
        # Building 10,000 small objects triggers many pointless cyclic-GC passes (a fifth of the time).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._load_all_now()
        finally:
            if gc_was_enabled:
                gc.enable()

    def _load_all_now(self) -> dict[str, PatientSummary]:
        s = self._session
        generation, dek = s.generation, s.require_unlocked()
        changed: list[str] = []
        with s.store.reading() as conn:
            upto = conn.execute(select(func.max(Version.seq))).scalar() or 0
            snap = patient_snapshot.read(conn, dek)
            if snap is not None:
                changed = versions.changed_records(conn, [PATIENT], {s.record_id: [s.version_id] for s in snap[1]})
                if len(changed) > _SNAPSHOT_CATCH_UP:
                    snap = None
            if snap is None:
                rows = versions.heads_of_kind(conn, PATIENT)
        # Built aside and published only if no lock came meanwhile: a load begun before lock() must not
        # refill the list the lock emptied (issue 17).
        summaries: dict[str, PatientSummary] = {}
        index = PatientIndex()
        if snap is not None:
            for summary in snap[1]:
                _put(summaries, index, summary)
            for record_id in changed:  # saved since the snapshot, here or by sync: read from the record
                fresh = self._load_one(record_id)
                if fresh is None:
                    summaries.pop(record_id, None)
                    index.remove(record_id)
                else:
                    _put(summaries, index, fresh)
        else:
            self._load_from_heads(dek, rows, summaries, index)
        with s.cache_guard:
            if generation != s.generation:
                raise SessionLocked("The session was locked while the patient list was read.")
            self._summaries, self._index = summaries, index
        if snap is None or changed:
            with s.store.writing() as conn:
                patient_snapshot.write(conn, dek, upto, list(summaries.values()))
        return summaries

    def _load_from_heads(self, dek: vault.DataKey, rows: list[Any], summaries: dict[str, PatientSummary],
                         index: PatientIndex) -> None:  # fmt: skip
        by_record: dict[str, list[Any]] = {}
        for row in rows:
            by_record.setdefault(row.record_id, []).append(row)
        for record_id, heads in by_record.items():
            head = heads[-1]
            if head.status == versions.ENTERED_IN_ERROR:
                summary = self._load_one(record_id)  # rare: walk the chain to find current content
                if summary is None:
                    continue
            else:
                details = PatientDetails.from_payload(versions.decrypt_row(dek, head))
                summary = PatientSummary(record_id, details, head.version_id, head.created_at, len(heads) > 1)
            _put(summaries, index, summary)

    # --- finding -------------------------------------------------------------------------------
    def search(self, query: str, limit: int | None = 200) -> list[PatientSummary]:
        """Name fragment(s) or NHS digits, with or without spaces; accents and case ignored."""
        summaries = self._loaded()
        return [summaries[r] for r in self._index.search(query, limit) if r in summaries]

    def search_ids(self, query: str) -> list[str]:
        """Like search, as record ids only (the caseload filters its own rows with them)."""
        self._loaded()
        return self._index.search(query)  # emptied if a lock came since: nothing found

    def find_by_nhs_number(self, nhs_number: str) -> PatientSummary | None:
        """Exact lookup through the keyed blind index: no plaintext NHS number in the store."""
        try:
            digits = normalise_nhs_number(nhs_number)
        except InvalidNhsNumber as exc:
            raise InvalidInput(str(exc)) from exc
        dek = self._session.require_unlocked()
        with self._session.store.reading() as conn:
            candidates = _indexed_nhs(conn, dek.blind_index("nhs", digits))
        for record_id in candidates:
            summary = self._load_one(record_id)
            if summary and summary.details.nhs_number == digits:
                return summary
        return None

    # --- bulk import (demo data, migration) --------------------------------------------------------
    def import_batch(self, items: Iterable[tuple[PatientDetails, list[tuple[str, list[versions.NewVersion]]]]]) -> int:
        """Add patients with their other records' version chains in ONE transaction (demo data, migration).

        Each item: (details, [(kind, [NewVersion, ...]), ...]), one chain per kind (the patient's one
        record of that kind); each NewVersion's record_id is filled in here. Returns patients added.
        """
        s = self._session
        dek, now, uid = s.require_unlocked(), s.now(), s.user.user_id
        added = 0
        imported: list[str] = []
        with s.store.writing() as conn:
            for details, records in items:
                clean = validated(details, s.today())
                pid = versions.create_record(
                    conn, PATIENT, None, uid, now, record_id=self._new_patient_id(conn, dek, clean)
                )
                imported.append(
                    versions.append(conn, dek, versions.NewVersion(pid, PATIENT, clean.to_payload()), uid, now, [])
                )
                conn.execute(
                    insert(BlindIndex.__table__),
                    dict(kind="nhs", digest=dek.blind_index("nhs", clean.nhs_number), record_id=pid),
                )
                if len({kind for kind, _ in records}) < len(records):
                    raise ValueError("one chain per kind: each is the patient's one record of that kind")
                for kind, chain in records:
                    rid = versions.create_record(
                        conn, kind, pid, uid, now, record_id=versions.one_per_patient_id(kind, pid)
                    )
                    parent: list[str] = []
                    for item in chain:
                        new = dataclasses.replace(item, record_id=rid, kind=kind)
                        parent = [versions.append(conn, dek, new, uid, now, parent)]
                        imported.append(parent[0])
                added += 1
            arrivals.note(conn, dek, imported)  # one audit entry (the caller's) covers the import
        with s.cache_guard:
            self.forget()
        return added


def _put(summaries: dict[str, PatientSummary], index: PatientIndex, s: PatientSummary) -> None:
    summaries[s.record_id] = s
    d = s.details
    index.put(s.record_id, [d.given_name, d.preferred_name, d.family_name, d.local_id], d.nhs_number)


def _indexed_nhs(conn: Connection, digest: bytes) -> list[str]:
    """Records ever indexed under this NHS-number digest. Rows are never removed (a changed number is
    indexed anew), so callers check each one's current number."""
    return list(
        conn.execute(
            select(BlindIndex.record_id).where(BlindIndex.kind == "nhs", BlindIndex.digest == digest)
        ).scalars()
    )
