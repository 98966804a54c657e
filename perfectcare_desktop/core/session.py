"""An unlocked session: one signed-in user and the data key. The API the UI and the CLI call.

Every method that reads or writes patient data checks the session is unlocked; every write is
one transaction that appends versions and the audit entry recording it.
"""

from __future__ import annotations

import dataclasses
import gc
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, literal_column, select, update

from ..crypto import vault
from ..errors import InvalidInput, LoginFailed, NotAllowed, NotFound, SessionLocked
from ..store.models import BlindIndex, KeyWrap, Record, User, Version
from . import arrivals, audit, outbox, patient_snapshot, versions
from .patients import PatientDetails, PatientSummary, validated
from .search_index import PatientIndex
from .store import Store, add_user_row, check_new_password, set_password

PATIENT = "patient"


@dataclass(frozen=True)
class UserInfo:
    user_id: str
    username: str
    display_name: str
    role: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class Session:
    def __init__(self, store: Store, user_id: str, dek: vault.DataKey) -> None:
        self.store = store
        self._dek: vault.DataKey | None = dek
        with store.reading() as conn:
            user = conn.execute(select(User.__table__).where(User.user_id == user_id)).one()
        self.user = _user_info(user)
        self._summaries: dict[str, PatientSummary] | None = None
        self._index = PatientIndex()
        # lock() adds one; work on another thread that began under an older generation (a caseload load,
        # a save) never writes the patient cache after the lock that emptied it. The guard makes the
        # check and the write one step.
        self._generation = 0
        self._cache_guard = threading.Lock()

    # --- lock state ----------------------------------------------------------------------------
    @property
    def locked(self) -> bool:
        return self._dek is None

    @property
    def dek(self) -> vault.DataKey:
        if self._dek is None:
            raise SessionLocked("The session is locked: sign in again to continue.")
        return self._dek

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"

    @property
    def generation(self) -> int:
        """How many times this session has locked: a result from work begun under another is stale."""
        return self._generation

    def lock(self) -> None:
        """Forget the key and every decrypted detail held in memory; a load in flight publishes nothing."""
        dek = self._dek
        if dek is None:
            return
        # Forgotten first, then audited: a slow or failing audit write must not keep the key or details.
        with self._cache_guard:
            self._generation += 1
            self._dek = None
            self._summaries = None
            self._index.clear()
        with self.store.writing() as conn:
            audit.append(conn, dek, self.store.clock.now(), "lock", user_id=self.user.user_id)

    def unlock(self, password: str) -> None:
        """Unlock as the same user (lockout rules apply as at login)."""
        user_id, dek = self.store._authenticate(self.user.username, password, action="unlock")
        if user_id != self.user.user_id:  # pragma: no cover - same username, same id
            raise LoginFailed("The user name or password is not right.")
        self._dek = dek

    def _now(self) -> datetime:
        return self.store.clock.now()

    def _today(self) -> date:
        return self._now().date()

    def _require_admin(self) -> None:
        # Checked against the store, not the role cached at sign-in: an admin disabled or demoted
        # meanwhile (on another PC, say) loses admin powers at once.
        with self.store.reading() as conn:
            row = conn.execute(select(User.role, User.active).where(User.user_id == self.user.user_id)).one()
        if row.role != "admin" or not row.active:
            raise NotAllowed("Only an administrator can do that.")

    # --- audit ---------------------------------------------------------------------------------
    def record_event(
        self, action: str, *, patient_id: str | None = None, target_id: str | None = None, detail: str = ""
    ) -> None:
        """Audit an event that changes no record (view, print, export)."""
        dek = self.dek
        with self.store.writing() as conn:
            audit.append(
                conn,
                dek,
                self._now(),
                action,
                user_id=self.user.user_id,
                patient_id=patient_id,
                target_id=target_id,
                detail=detail,
            )

    def audit_trail(
        self,
        *,
        username: str | None = None,
        patient_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 1000,
    ) -> list[audit.AuditRecord]:
        self._require_admin()
        dek = self.dek
        with self.store.reading() as conn:
            user_id = None
            if username:
                user = self.store.user_by_name(conn, username)
                if user is None:
                    raise NotFound(f"There is no user called {username!r}.")
                user_id = user.user_id
            return audit.read(
                conn, dek, user_id=user_id, patient_id=patient_id, action=action, since=since, until=until, limit=limit
            )

    # --- generic records -----------------------------------------------------------------------
    def create_record(
        self,
        kind: str,
        patient_id: str | None,
        payload: dict[str, Any],
        *,
        status: str = "current",
        signed: bool = False,
        review_due: date | None = None,
        followup_due: date | None = None,
        one_per_patient: bool = False,
    ) -> tuple[str, str]:
        """Create a record with its first version. Returns (record_id, version_id).

        `one_per_patient`: the patient has one record of this kind (plan, formulation, discharge); its
        id is derived from the patient, so the same record begun on two PCs is one record."""
        dek, now = self.dek, self._now()
        with self.store.writing() as conn:
            if one_per_patient and not patient_id:
                raise ValueError("a one-per-patient record needs its patient")
            derived = versions.one_per_patient_id(kind, patient_id) if one_per_patient and patient_id else None
            record_id = versions.create_record(conn, kind, patient_id, self.user.user_id, now, record_id=derived)
            new = versions.NewVersion(record_id, kind, payload, status, signed, review_due, followup_due)
            version_id = versions.append(conn, dek, new, self.user.user_id, now, parents=[])
            audit.append(
                conn,
                dek,
                now,
                "create",
                user_id=self.user.user_id,
                patient_id=patient_id or record_id,
                target_id=version_id,
                detail=kind,
            )
            if signed:
                audit.append(
                    conn,
                    dek,
                    now,
                    "sign",
                    user_id=self.user.user_id,
                    patient_id=patient_id or record_id,
                    target_id=version_id,
                )
        return record_id, version_id

    def append_version(
        self,
        record_id: str,
        payload: dict[str, Any],
        *,
        status: str = "current",
        signed: bool = False,
        review_due: date | None = None,
        followup_due: date | None = None,
        parents: list[str] | None = None,
    ) -> str:
        """Save a new version on top of the current heads (or the given parents, for a merge)."""
        dek, now = self.dek, self._now()
        with self.store.writing() as conn:
            record = self._record(conn, record_id)
            if parents is not None:
                self._check_parents(conn, record_id, parents)
            new = versions.NewVersion(record_id, record.kind, payload, status, signed, review_due, followup_due)
            version_id = versions.append(conn, dek, new, self.user.user_id, now, parents)
            audit.append(
                conn,
                dek,
                now,
                "update",
                user_id=self.user.user_id,
                patient_id=record.patient_id,
                target_id=version_id,
                detail=record.kind,
            )
            if signed:
                audit.append(
                    conn,
                    dek,
                    now,
                    "sign",
                    user_id=self.user.user_id,
                    patient_id=record.patient_id,
                    target_id=version_id,
                )
        return version_id

    def mark_entered_in_error(self, version_id: str, reason: str) -> str:
        """Withdraw a version with a reason. The version stays, readable in history and export."""
        reason = unicodedata.normalize("NFC", reason.strip())
        if not reason:
            raise InvalidInput("Say why this was entered in error; the reason is kept with the record.")
        dek, now = self.dek, self._now()
        with self.store.writing() as conn:
            row = conn.execute(select(Version.__table__).where(Version.version_id == version_id)).one_or_none()
            if row is None:
                raise NotFound("That version does not exist in this store.")
            if row.status == versions.ENTERED_IN_ERROR:
                raise InvalidInput("That entry is itself an 'entered in error' note; it cannot be withdrawn.")
            record = self._record(conn, row.record_id)
            payload = {"schema": "entered_in_error/1", "marks": version_id, "reason": reason}
            new = versions.NewVersion(row.record_id, record.kind, payload, status=versions.ENTERED_IN_ERROR)
            new_id = versions.append(conn, dek, new, self.user.user_id, now)
            audit.append(
                conn,
                dek,
                now,
                "entered_in_error",
                user_id=self.user.user_id,
                patient_id=record.patient_id,
                target_id=version_id,
                detail=reason,
            )
        if record.kind == PATIENT:
            self._refresh_patient(record.record_id)
        return new_id

    def history(self, record_id: str) -> list[versions.VersionInfo]:
        dek = self.dek
        with self.store.reading() as conn:
            return versions.history(conn, dek, record_id)

    def head_ids(self, record_id: str) -> list[str]:
        """The record's head versions (two or more: edits on two PCs that sync must reconcile)."""
        self.dek  # noqa: B018 - refuses when locked
        with self.store.reading() as conn:
            return versions.head_ids(conn, record_id)

    def records_of_patient(self, patient_id: str, kind: str | None = None) -> list[tuple[str, str]]:
        """(record_id, kind) of every record about a patient, oldest first."""
        self.dek  # noqa: B018 - refuses when locked
        with self.store.reading() as conn:
            q = select(Record.record_id, Record.kind).where(Record.patient_id == patient_id)
            if kind:
                q = q.where(Record.kind == kind)
            # The patient's own details first, then their records in the order they were made; within
            # one second, in the order they reached this store (SQLite's rowid), not by random id.
            order = (Record.kind != PATIENT, Record.created_at, literal_column("records.rowid"))
            return [tuple(r) for r in conn.execute(q.order_by(*order))]

    def _record(self, conn: Connection, record_id: str) -> Record:
        record = conn.execute(select(Record.__table__).where(Record.record_id == record_id)).one_or_none()
        if record is None:
            raise NotFound("That record does not exist in this store.")
        return record

    def _check_parents(self, conn: Connection, record_id: str, parents: list[str]) -> None:
        found = (
            conn.execute(
                select(Version.version_id).where(Version.version_id.in_(parents), Version.record_id == record_id)
            )
            .scalars()
            .all()
        )
        if len(set(found)) != len(set(parents)):
            raise InvalidInput("A merge can only name versions of the same record as its parents.")

    # --- patients ------------------------------------------------------------------------------
    def add_patient(self, details: PatientDetails) -> str:
        generation = self._generation
        clean = validated(details, self._today())
        dek, now = self.dek, self._now()
        digest = dek.blind_index("nhs", clean.nhs_number)
        with self.store.writing() as conn:
            for other in _indexed_nhs(conn, digest):
                if self._current_nhs(conn, other) == clean.nhs_number:
                    raise InvalidInput(
                        f"A patient with NHS number {clean.nhs_number_formatted} is already registered; "
                        "open that record instead."
                    )
            record_id = versions.create_record(conn, PATIENT, None, self.user.user_id, now,
                                               record_id=self._new_patient_id(conn, clean))  # fmt: skip
            version_id = versions.append(
                conn, dek, versions.NewVersion(record_id, PATIENT, clean.to_payload()), self.user.user_id, now, []
            )
            conn.execute(insert(BlindIndex.__table__), dict(kind="nhs", digest=digest, record_id=record_id))
            audit.append(
                conn,
                dek,
                now,
                "create",
                user_id=self.user.user_id,
                patient_id=record_id,
                target_id=version_id,
                detail=PATIENT,
            )
        self._put_summary(PatientSummary(record_id, clean, version_id, now, False), generation)
        return record_id

    def _new_patient_id(self, conn: Connection, clean: PatientDetails) -> str:
        """The derived id for a new patient, unless a record here has it already: that one's NHS number
        was corrected away from this one (a current match is refused before), so this person is new."""
        derived = versions.patient_record_id(self.dek, clean.nhs_number, clean.date_of_birth)
        return versions.new_id() if versions.record_exists(conn, derived) else derived

    def update_patient(self, record_id: str, details: PatientDetails) -> str:
        """Save changed details as a new version; the earlier ones stay in history."""
        clean = validated(details, self._today())
        dek, now = self.dek, self._now()
        digest = dek.blind_index("nhs", clean.nhs_number)
        with self.store.writing() as conn:
            record = self._record(conn, record_id)
            if record.kind != PATIENT:
                raise NotFound("That record is not a patient.")
            for other in _indexed_nhs(conn, digest):
                if other != record_id and self._current_nhs(conn, other) == clean.nhs_number:
                    raise InvalidInput(f"Another patient already has NHS number {clean.nhs_number_formatted}.")
            version_id = versions.append(
                conn, dek, versions.NewVersion(record_id, PATIENT, clean.to_payload()), self.user.user_id, now
            )
            indexed = conn.execute(
                select(BlindIndex.record_id).where(
                    BlindIndex.kind == "nhs", BlindIndex.digest == digest, BlindIndex.record_id == record_id
                )
            ).first()
            if indexed is None:  # a changed NHS number: index the new one too (rows are never removed)
                conn.execute(insert(BlindIndex.__table__), dict(kind="nhs", digest=digest, record_id=record_id))
            audit.append(
                conn,
                dek,
                now,
                "update",
                user_id=self.user.user_id,
                patient_id=record_id,
                target_id=version_id,
                detail=PATIENT,
            )
        self._refresh_patient(record_id)
        return version_id

    def _current_nhs(self, conn: Connection, record_id: str) -> str | None:
        current = versions.current(versions.history(conn, self.dek, record_id))
        return current.payload.get("nhs_number") if current else None

    def get_patient(self, record_id: str, *, audit_view: bool = True) -> PatientSummary:
        """A patient's current details; opening a record is a 'view' in the audit trail."""
        summary = self._load_patient(record_id)
        if summary is None:
            raise NotFound("That patient record was entered in error and withdrawn; see its history.")
        if audit_view:
            self.record_event("view", patient_id=record_id, target_id=summary.version_id)
        return summary

    def _load_patient(self, record_id: str) -> PatientSummary | None:
        dek = self.dek
        with self.store.reading() as conn:
            record = self._record(conn, record_id)
            if record.kind != PATIENT:
                raise NotFound("That record is not a patient.")
            history = versions.history(conn, dek, record_id)
            heads = versions.head_ids(conn, record_id)
        current = versions.current(history)
        if current is None:
            return None
        return PatientSummary(
            record_id,
            PatientDetails.from_payload(current.payload),
            current.version_id,
            current.created_at,
            len(heads) > 1,
        )

    def _refresh_patient(self, record_id: str) -> None:
        generation = self._generation
        if self._summaries is None or self._dek is None:
            return  # not loaded, or locked since the save: the next load reads it
        summary = self._load_patient(record_id)
        with self._cache_guard:
            if self._summaries is None or generation != self._generation:
                return
            if summary is None:
                self._summaries.pop(record_id, None)
                self._index.remove(record_id)
            else:
                _put(self._summaries, self._index, summary)

    def _put_summary(self, s: PatientSummary, generation: int) -> None:
        with self._cache_guard:
            if self._summaries is None or generation != self._generation:
                return  # not loaded yet (the load will include it), or locked since the save began
            _put(self._summaries, self._index, s)

    @property
    def patients_loaded(self) -> bool:
        """Whether the patient list is in memory (list_patients would not decrypt anything)."""
        return self._summaries is not None

    def list_patients(self) -> list[PatientSummary]:
        """Every current patient, decrypted into memory once per unlock (then kept up to date)."""
        summaries = self._summaries
        if summaries is None:
            summaries = self._load_all_patients()
        return list(summaries.values())

    def sharing_nhs_number(self) -> dict[str, tuple[str, ...]]:
        """Current patients whose NHS number another current patient has too -> those others' ids.

        Registering a taken number is refused here, and the same person registered on two PCs while
        offline is one record (see `versions.patient_record_id`); this catches what that cannot: the
        same number with another date of birth, or records from before sync."""
        patients = self.list_patients()
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
        summaries = self._summaries
        if summaries is None:
            summaries = self._load_all_patients()
        mine = summaries.get(record_id)
        if mine is None:
            return ()
        nhs = mine.details.nhs_number
        with self.store.reading() as conn:
            candidates = _indexed_nhs(conn, self.dek.blind_index("nhs", nhs))
        return tuple(
            c for c in candidates if c != record_id and c in summaries and summaries[c].details.nhs_number == nhs
        )

    def reload(self) -> None:
        """Re-read the store (after another process or the sync worker changed it)."""
        with self._cache_guard:
            self._summaries = None
            self._index.clear()
        self._load_all_patients()

    def _load_all_patients(self) -> dict[str, PatientSummary]:
        # Building 10,000 small objects triggers many pointless cyclic-GC passes (a fifth of the time).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._load_all_patients_now()
        finally:
            if gc_was_enabled:
                gc.enable()

    def _load_all_patients_now(self) -> dict[str, PatientSummary]:
        generation, dek = self._generation, self.dek
        with self.store.reading() as conn:
            upto = conn.execute(select(func.max(Version.seq))).scalar() or 0
            snap = patient_snapshot.read(conn, dek)
            if snap is not None:
                changed = versions.changed_records(conn, [PATIENT], {s.record_id: [s.version_id] for s in snap[1]})
                # Reading a record's chain costs far more than one row of the bulk read: past a few
                # hundred changes (an import, a first sync), start again from the heads.
                if len(changed) > 200:
                    snap = None
            if snap is None:
                rows = versions.heads_of_kind(conn, PATIENT)
        # Built aside and published only if no lock came meanwhile: a load begun before lock() must not
        # refill the cache the lock emptied (issue 17).
        summaries: dict[str, PatientSummary] = {}
        index = PatientIndex()
        if snap is not None:
            for summary in snap[1]:
                _put(summaries, index, summary)
            for record_id in changed:  # saved since the snapshot, here or by sync: read from the record
                fresh = self._load_patient(record_id)
                if fresh is None:
                    summaries.pop(record_id, None)
                    index.remove(record_id)
                else:
                    _put(summaries, index, fresh)
        else:
            self._load_from_heads(dek, rows, summaries, index)
        with self._cache_guard:
            if generation != self._generation:
                raise SessionLocked("The session was locked while the patient list was read.")
            self._summaries, self._index = summaries, index
        if snap is None or changed:
            with self.store.writing() as conn:
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
                summary = self._load_patient(record_id)  # rare: walk the chain to find current content
                if summary is None:
                    continue
            else:
                details = PatientDetails.from_payload(versions.decrypt_row(dek, head))
                summary = PatientSummary(record_id, details, head.version_id, head.created_at, len(heads) > 1)
            _put(summaries, index, summary)

    def search_patients(self, query: str, limit: int | None = 200) -> list[PatientSummary]:
        """Name fragment(s) or NHS digits, with or without spaces; accents and case ignored."""
        summaries = self._summaries
        if summaries is None:
            summaries = self._load_all_patients()
        return [summaries[r] for r in self._index.search(query, limit) if r in summaries]

    def search_patient_ids(self, query: str) -> list[str]:
        """Like search_patients, as record ids only (the caseload filters its own rows with them)."""
        if self._summaries is None:
            self._load_all_patients()
        return self._index.search(query)  # emptied if a lock came since: nothing found

    def find_by_nhs_number(self, nhs_number: str) -> PatientSummary | None:
        """Exact lookup through the keyed blind index: no plaintext NHS number in the store."""
        from .nhs_number import InvalidNhsNumber, normalise_nhs_number

        try:
            digits = normalise_nhs_number(nhs_number)
        except InvalidNhsNumber as exc:
            raise InvalidInput(str(exc)) from exc
        dek = self.dek
        with self.store.reading() as conn:
            candidates = _indexed_nhs(conn, dek.blind_index("nhs", digits))
        for record_id in candidates:
            summary = self._load_patient(record_id)
            if summary and summary.details.nhs_number == digits:
                return summary
        return None

    # --- bulk import (demo data, migration) --------------------------------------------------------
    def import_batch(self, items: Iterable[tuple[PatientDetails, list[tuple[str, list[versions.NewVersion]]]]]) -> int:
        """Add patients with their other records' version chains in ONE transaction (demo data, migration).

        Each item: (details, [(kind, [NewVersion, ...]), ...]), one chain per kind (the patient's one
        record of that kind); each NewVersion's record_id is filled in here. Returns patients added.
        """
        dek, now, uid = self.dek, self._now(), self.user.user_id
        added = 0
        imported: list[str] = []
        with self.store.writing() as conn:
            for details, records in items:
                clean = validated(details, self._today())
                pid = versions.create_record(conn, PATIENT, None, uid, now, record_id=self._new_patient_id(conn, clean))
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
        self._summaries = None
        return added

    # --- users ---------------------------------------------------------------------------------
    def staff_names(self) -> dict[str, str]:
        """user id -> display name, for attributing versions in history (any signed-in user)."""
        self.dek  # noqa: B018 - refuses when locked
        with self.store.reading() as conn:
            return {r.user_id: r.display_name for r in conn.execute(select(User.user_id, User.display_name))}

    def list_users(self) -> list[UserInfo]:
        self._require_admin()
        with self.store.reading() as conn:
            return [_user_info(u) for u in conn.execute(select(User.__table__).order_by(User.username)).all()]

    def add_user(self, username: str, role: str, password: str, display_name: str = "") -> str:
        self._require_admin()
        dek, now = self.dek, self._now()
        with self.store.writing() as conn:
            user_id = add_user_row(conn, dek, username, display_name, role, password, now)
            audit.append(
                conn,
                dek,
                now,
                "user_add",
                user_id=self.user.user_id,
                target_id=user_id,
                detail=f"{username.strip()} as {role}",
            )
        return user_id

    def disable_user(self, username: str) -> None:
        """Stop a user signing in. Everything they wrote stays, attributed to them."""
        self._require_admin()
        dek, now = self.dek, self._now()
        with self.store.writing() as conn:
            user = self.store.user_by_name(conn, username)
            if user is None:
                raise NotFound(f"There is no user called {username!r}.")
            if user.user_id == self.user.user_id:
                raise NotAllowed("You cannot disable your own account.")
            if not user.active:
                raise InvalidInput(f"{user.username!r} is already disabled.")
            if user.role == "admin" and _active_admins(conn) <= 1:
                raise NotAllowed("This is the last active administrator; add another before disabling it.")
            conn.execute(update(User).where(User.user_id == user.user_id).values(active=False, disabled_at=now))
            # Their copy of the data key goes too, so the account is closed by cryptography, not a flag.
            conn.execute(KeyWrap.__table__.delete().where(KeyWrap.user_id == user.user_id))
            outbox.queue(conn, outbox.USER, user.user_id, now)  # disabled on every PC at its next sync
            audit.append(
                conn, dek, now, "user_disable", user_id=self.user.user_id, target_id=user.user_id, detail=user.username
            )

    def enable_user(self, username: str, new_password: str) -> None:
        """Re-enable a disabled user with a new password (their old key wrap was destroyed)."""
        self._require_admin()
        dek, now = self.dek, self._now()
        with self.store.writing() as conn:
            user = self.store.user_by_name(conn, username)
            if user is None:
                raise NotFound(f"There is no user called {username!r}.")
            if user.active:
                raise InvalidInput(f"{user.username!r} is already enabled.")
            check_new_password(new_password, user.username)
            conn.execute(
                update(User)
                .where(User.user_id == user.user_id)
                .values(active=True, disabled_at=None, failed_attempts=0, locked_until=None)
            )
            set_password(conn, dek, user.user_id, new_password, now)
            audit.append(
                conn, dek, now, "user_enable", user_id=self.user.user_id, target_id=user.user_id, detail=user.username
            )

    def change_password(self, old_password: str, new_password: str) -> None:
        """Re-wrap the data key under a new password; nothing else changes."""
        check_new_password(new_password, self.user.username)
        try:
            self.store._authenticate(self.user.username, old_password, action="unlock")
        except LoginFailed as exc:
            raise LoginFailed("The current password is not right; the password was not changed.") from exc
        dek, now = self.dek, self._now()
        with self.store.writing() as conn:
            set_password(conn, dek, self.user.user_id, new_password, now)
            audit.append(conn, dek, now, "password_change", user_id=self.user.user_id, target_id=self.user.user_id)


def _put(summaries: dict[str, PatientSummary], index: PatientIndex, s: PatientSummary) -> None:
    summaries[s.record_id] = s
    d = s.details
    index.put(s.record_id, [d.given_name, d.preferred_name, d.family_name, d.local_id], d.nhs_number)


def _active_admins(conn: Connection) -> int:
    return len(conn.execute(select(User.user_id).where(User.role == "admin", User.active)).all())


def _user_info(u: User) -> UserInfo:
    return UserInfo(u.user_id, u.username, u.display_name, u.role, u.active, u.created_at, u.last_login_at)


def _indexed_nhs(conn: Connection, digest: bytes) -> list[str]:
    """Records ever indexed under this NHS-number digest. Rows are never removed (a changed number is
    indexed anew), so callers check each one's current number."""
    return list(
        conn.execute(
            select(BlindIndex.record_id).where(BlindIndex.kind == "nhs", BlindIndex.digest == digest)
        ).scalars()
    )
