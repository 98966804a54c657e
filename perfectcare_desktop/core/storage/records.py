"""What a patient's clinical record (a safety plan, a safety formulation) looks like when read, and
the one way a new version is added to it. Plans and formulations add their own rules on top."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, literal_column, select

from ...errors import InvalidInput, NotFound
from ...store.models import Record, Version
from . import audit, versions

if TYPE_CHECKING:  # the session makes its records manager: a type, not a dependency of behaviour
    from ..access.session import Session

PATIENT = "patient"


@dataclass(frozen=True)
class RecordState:
    """A record as read from the store (all of it: nothing is hidden, only ordered).

    `history` is in the one order every PC shows (`versions.in_order`), so what is current, in use or
    superseded is the same on every PC, whatever order the versions arrived in."""

    record_id: str | None
    history: tuple[versions.VersionInfo, ...]  # oldest first, including entered-in-error notes
    heads: tuple[str, ...]  # in the same order: the newest last

    @property
    def withdrawn(self) -> set[str]:
        return versions.withdrawn_ids(self.history)

    @property
    def current(self) -> versions.VersionInfo | None:
        return versions.current(list(self.history))

    def after(self, v: versions.VersionInfo) -> tuple[versions.VersionInfo, ...]:
        """The versions that come after `v` in the one order (not by their clocks: a revision saved on a
        PC whose clock is slow still comes after the version it was made from)."""
        ids = [w.version_id for w in self.history]
        return self.history[ids.index(v.version_id) + 1 :] if v.version_id in ids else ()

    @property
    def status(self) -> str:
        current = self.current
        return current.status if current else "none"

    @property
    def in_conflict(self) -> bool:
        return len(self.heads) > 1


def read_record(session: Session, patient_id: str, kind: str, *, audit_view: bool) -> tuple[Any, ...]:
    """(record_id, history, heads) of the patient's record of `kind`, or (None, (), ())."""
    found = [rid for rid, _ in session.records.of_patient(patient_id, kind)]
    if not found:
        return None, (), ()
    # The patient's own (derived) record first: another's filed here by an edit of the file is never shown.
    own = versions.one_per_patient_id(kind, patient_id)
    record_id = own if own in found else found[0]
    history = session.records.history(record_id)
    if audit_view:
        session.record_event("view", patient_id=patient_id, target_id=history[-1].version_id, detail=kind)
    return record_id, tuple(history), tuple(session.records.head_ids(record_id))


def append(session: Session, kind: str, patient_id: str, state: RecordState, payload: dict[str, Any],
           base_version_id: str | None, merge_of: tuple[str, ...] | None = None, **meta: Any) -> str:  # fmt: skip
    """A new version (the record is created with the first). Its parent is the version the clinician
    started from: if someone else saved meanwhile (another PC, via sync), the record gets two heads
    and both are kept for the clinician to compare. `merge_of` names the versions a merge follows
    (the heads the clinician compared): the new version has them all as parents, so it is the one
    head again. Nothing merged is changed or hidden: every version stays in the history."""
    if merge_of is not None:
        check_merge(state, merge_of)
        return session.records.append(state.record_id or "", payload, parents=sorted(set(merge_of)), **meta)
    if state.record_id is None:
        return session.records.create(kind, patient_id, payload, one_per_patient=True, **meta)[1]
    # No base: the clinician began before there was any version here (another PC's first version came
    # by sync since). Theirs is a first version too, a second head to merge: never silently on top.
    parents = [base_version_id] if base_version_id else []
    return session.records.append(state.record_id, payload, parents=parents, **meta)


def check_merge(state: RecordState, merge_of: tuple[str, ...]) -> None:
    """A merge follows two or more versions of this very record, as read before saving."""
    known = {v.version_id for v in state.history}
    if state.record_id is None or len(set(merge_of)) < 2 or not set(merge_of) <= known:
        raise InvalidInput(
            "A merge must follow two or more saved versions of this record; nothing was saved. "
            "Open the patient again and compare the versions afresh."
        )


class Records:
    """A session's clinical records (plans, formulations, discharges, the patient's own details):
    their versions are only ever added; a withdrawn one stays, marked entered in error."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def create(
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
        s = self._session
        dek, now, uid = s.require_unlocked(), s.now(), s.user.user_id
        if one_per_patient and not patient_id:
            raise ValueError("a one-per-patient record needs its patient")
        with s.store.writing() as conn:
            derived = versions.one_per_patient_id(kind, patient_id) if one_per_patient and patient_id else None
            record_id = versions.create_record(conn, kind, patient_id, uid, now, record_id=derived)
            new = versions.NewVersion(record_id, kind, payload, status, signed, review_due, followup_due)
            version_id = versions.append(conn, dek, new, uid, now, parents=[])
            about = patient_id or record_id
            audit.append(conn, dek, now, "create", user_id=uid, patient_id=about, target_id=version_id, detail=kind)
            if signed:
                audit.append(conn, dek, now, "sign", user_id=uid, patient_id=about, target_id=version_id)
        return record_id, version_id

    def append(
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
        s = self._session
        dek, now, uid = s.require_unlocked(), s.now(), s.user.user_id
        with s.store.writing() as conn:
            record = record_row(conn, record_id)
            if parents is not None:
                _check_parents(conn, record_id, parents)
            new = versions.NewVersion(record_id, record.kind, payload, status, signed, review_due, followup_due)
            version_id = versions.append(conn, dek, new, uid, now, parents)
            about = record.patient_id
            audit.append(conn, dek, now, "update", user_id=uid, patient_id=about, target_id=version_id,
                         detail=record.kind)  # fmt: skip
            if signed:
                audit.append(conn, dek, now, "sign", user_id=uid, patient_id=about, target_id=version_id)
        return version_id

    def mark_entered_in_error(self, version_id: str, reason: str) -> str:
        """Withdraw a version with a reason. The version stays, readable in history and export."""
        reason = unicodedata.normalize("NFC", reason.strip())
        if not reason:
            raise InvalidInput("Say why this was entered in error; the reason is kept with the record.")
        s = self._session
        dek, now, uid = s.require_unlocked(), s.now(), s.user.user_id
        with s.store.writing() as conn:
            row = conn.execute(select(Version.__table__).where(Version.version_id == version_id)).one_or_none()
            if row is None:
                raise NotFound("That version does not exist in this store.")
            if row.status == versions.ENTERED_IN_ERROR:
                raise InvalidInput("That entry is itself an 'entered in error' note; it cannot be withdrawn.")
            record = record_row(conn, row.record_id)
            payload = {"schema": "entered_in_error/1", "marks": version_id, "reason": reason}
            new = versions.NewVersion(row.record_id, record.kind, payload, status=versions.ENTERED_IN_ERROR)
            new_id = versions.append(conn, dek, new, uid, now)
            audit.append(conn, dek, now, "entered_in_error", user_id=uid, patient_id=record.patient_id,
                         target_id=version_id, detail=reason)  # fmt: skip
        if record.kind == PATIENT:
            s.patients.refresh(record.record_id)
        return new_id

    def history(self, record_id: str) -> list[versions.VersionInfo]:
        dek = self._session.require_unlocked()
        with self._session.store.reading() as conn:
            return versions.history(conn, dek, record_id)

    def head_ids(self, record_id: str) -> list[str]:
        """The record's head versions (two or more: edits on two PCs that sync must reconcile)."""
        self._session.require_unlocked()
        with self._session.store.reading() as conn:
            return versions.head_ids(conn, record_id)

    def of_patient(self, patient_id: str, kind: str | None = None) -> list[tuple[str, str]]:
        """(record_id, kind) of every record about a patient, oldest first."""
        self._session.require_unlocked()
        with self._session.store.reading() as conn:
            q = select(Record.record_id, Record.kind).where(Record.patient_id == patient_id)
            if kind:
                q = q.where(Record.kind == kind)
            # The patient's own details first, then their records in the order they were made; within
            # one second, in the order they reached this store (SQLite's rowid), not by random id.
            q = q.order_by(Record.kind != PATIENT, Record.created_at, literal_column("records.rowid"))
            return [(r.record_id, r.kind) for r in conn.execute(q)]


def record_row(conn: Connection, record_id: str) -> Any:
    """The record's row, or NotFound in words."""
    record = conn.execute(select(Record.__table__).where(Record.record_id == record_id)).one_or_none()
    if record is None:
        raise NotFound("That record does not exist in this store.")
    return record


def _check_parents(conn: Connection, record_id: str, parents: list[str]) -> None:
    found = (
        conn.execute(select(Version.version_id).where(Version.version_id.in_(parents), Version.record_id == record_id))
        .scalars()
        .all()
    )
    if len(set(found)) != len(set(parents)):
        raise InvalidInput("A merge can only name versions of the same record as its parents.")
