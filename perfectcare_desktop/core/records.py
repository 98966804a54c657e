"""What a patient's clinical record (a safety plan, a safety formulation) looks like when read, and
the one way a new version is added to it. Plans and formulations add their own rules on top."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from . import versions
from .session import Session


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
    found = [rid for rid, _ in session.records_of_patient(patient_id, kind)]
    if not found:
        return None, (), ()
    # The patient's own (derived) record first: another's filed here by an edit of the file is never shown.
    own = versions.one_per_patient_id(kind, patient_id)
    record_id = own if own in found else found[0]
    history = session.history(record_id)
    if audit_view:
        session.record_event("view", patient_id=patient_id, target_id=history[-1].version_id, detail=kind)
    return record_id, tuple(history), tuple(session.head_ids(record_id))


def append(session: Session, kind: str, patient_id: str, state: RecordState, payload: dict[str, Any],
           base_version_id: str | None, merge_of: tuple[str, ...] | None = None, **meta: Any) -> str:  # fmt: skip
    """A new version (the record is created with the first). Its parent is the version the clinician
    started from: if someone else saved meanwhile (another PC, via sync), the record gets two heads
    and both are kept for the clinician to compare. `merge_of` names the versions a merge follows
    (the heads the clinician compared): the new version has them all as parents, so it is the one
    head again. Nothing merged is changed or hidden: every version stays in the history."""
    if merge_of is not None:
        check_merge(state, merge_of)
        return session.append_version(state.record_id or "", payload, parents=sorted(set(merge_of)), **meta)
    if state.record_id is None:
        return session.create_record(kind, patient_id, payload, one_per_patient=True, **meta)[1]
    # No base: the clinician began before there was any version here (another PC's first version came
    # by sync since). Theirs is a first version too, a second head to merge: never silently on top.
    parents = [base_version_id] if base_version_id else []
    return session.append_version(state.record_id, payload, parents=parents, **meta)


def check_merge(state: RecordState, merge_of: tuple[str, ...]) -> None:
    """A merge follows two or more versions of this very record, as read before saving."""
    known = {v.version_id for v in state.history}
    if state.record_id is None or len(set(merge_of)) < 2 or not set(merge_of) <= known:
        raise InvalidInput(
            "A merge must follow two or more saved versions of this record; nothing was saved. "
            "Open the patient again and compare the versions afresh."
        )
