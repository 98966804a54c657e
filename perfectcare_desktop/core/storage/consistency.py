"""Cross-checks that no single MAC covers: records against their versions, the version graph, and the
versions against the audit entries that record their saving.

Each version's AEAD covers its own row, but a row can still be deleted, and `records` rows carry no MAC
of their own. So `verify` also checks that the pieces fit together: every record is filed where its
versions were sealed, every parent exists in the same record, the graph has no loop and a first
version, every version saved here has its audit entry and every such entry's version is here.
Sentences name records, versions and audit entries by their random ids only, never a patient detail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ..clinical.statuses import ENTERED_IN_ERROR
from .versions import one_per_patient_id

PATIENT = "patient"
SAVES = ("create", "update")  # audit actions that name the version saved
WITHDRAWAL = "entered_in_error"  # the audit action naming the version withdrawn


@dataclass(frozen=True)
class RecordRow:
    record_id: str
    kind: str
    patient_id: str


@dataclass(frozen=True)
class SeenVersion:
    """What verify learnt of one version row: its clear metadata and, when it opened, what it withdraws."""

    version_id: str
    seq: int  # local arrival number
    record_id: str
    kind: str
    status: str
    created_at: datetime
    parents: tuple[str, ...]
    opened: bool
    marks: str | None  # the version an "entered in error" version withdraws


@dataclass(frozen=True)
class AuditRef:
    seq: int
    action: str
    target_id: str | None


def owners(records: Iterable[RecordRow]) -> dict[str, str]:
    """record id -> the patient its derived id was made for (plans, formulations, discharges): the
    record id itself says whose it is, and it is sealed into every version, so an edited
    `records.patient_id` shows even on versions written before the patient was sealed in."""
    rows = list(records)
    patients = [r.record_id for r in rows if r.kind == PATIENT]
    kinds = {r.kind for r in rows if r.kind != PATIENT}
    return {one_per_patient_id(kind, p): p for kind in kinds for p in patients}


def record_problems(records: dict[str, RecordRow], seen: list[SeenVersion], owner: dict[str, str]) -> list[str]:
    problems: list[str] = []
    with_versions = {v.record_id for v in seen}
    for r in records.values():
        what = f"record {r.record_id} ({r.kind})"
        if r.kind == PATIENT and r.patient_id != r.record_id:
            problems.append(f"patient {what} is filed under another patient's id: records.patient_id was edited")
        elif r.kind != PATIENT and (made_for := owner.get(r.record_id)) not in (None, r.patient_id):
            problems.append(
                f"{what} was made for patient {made_for} but is filed under patient {r.patient_id}: it was moved to "
                "another patient by an edit of the file (records.patient_id); its versions open only under the first"
            )
        elif r.kind != PATIENT and r.patient_id not in records:
            problems.append(f"{what} is filed under {r.patient_id}, which is no patient in this store")
        if r.record_id not in with_versions:
            problems.append(f"{what} has no versions: they were deleted from the file")
    for v in seen:
        record = records.get(v.record_id)
        if record is not None and record.kind != v.kind:
            problems.append(
                f"version {v.version_id} is sealed as a {v.kind} but its record {v.record_id} says {record.kind}: "
                "records.kind was edited"
            )
    return problems


def graph_problems(seen: list[SeenVersion]) -> list[str]:
    """Every parent exists in the same record and arrived before its child, no loop, and each record has a
    first version. (Two first versions are no damage: one record begun on two PCs offline.)"""
    by_id = {v.version_id: v for v in seen}
    per_record: dict[str, list[SeenVersion]] = {}
    problems: list[str] = []
    for v in seen:
        per_record.setdefault(v.record_id, []).append(v)
        for p in v.parents:
            parent = by_id.get(p)
            if parent is None:
                problems.append(
                    f"version {v.version_id} of record {v.record_id} follows version {p}, which is not in the store: "
                    "it was deleted"
                )
            elif parent.record_id != v.record_id:
                problems.append(f"version {v.version_id} of record {v.record_id} names a parent from another record")
            elif parent.seq > v.seq:
                # A version is only ever written here after its parents (saved on top of them, or pulled once
                # they are here), so a lower arrival number than a parent's means `seq` was edited. What is
                # current does not depend on it; the edit is named so the file can be investigated.
                problems.append(
                    f"version {v.version_id} of record {v.record_id} is numbered as arriving before version {p}, "
                    "which it follows: the local arrival numbers (versions.seq) were edited"
                )
    for record_id, chain in per_record.items():
        if not any(not v.parents for v in chain):
            problems.append(f"record {record_id} has no first version (one with no parent): it was deleted")
        if looped := _in_loop(chain):
            listed = ", ".join(sorted(looped)[:5]) + (" and more" if len(looped) > 5 else "")
            problems.append(f"versions of record {record_id} follow one another in a loop ({listed})")
    return problems


def _in_loop(chain: list[SeenVersion]) -> set[str]:
    """The versions a topological walk cannot place (parents outside the record are ignored)."""
    ids = {v.version_id for v in chain}
    waiting = {v.version_id: sum(p in ids for p in v.parents) for v in chain}
    children: dict[str, list[str]] = {}
    for v in chain:
        for p in v.parents:
            if p in ids:
                children.setdefault(p, []).append(v.version_id)
    ready = [vid for vid, n in waiting.items() if not n]
    while ready:
        for child in children.get(ready.pop(), ()):
            waiting[child] -= 1
            if not waiting[child]:
                ready.append(child)
    return {vid for vid, n in waiting.items() if n}


def audit_problems(seen: list[SeenVersion], entries: list[AuditRef], arrived: set[str]) -> list[str]:
    """Each version saved here is named by its audit entry (a save names the version; an "entered in
    error" entry names the version withdrawn) and each such entry's version is here."""
    by_id = {v.version_id: v for v in seen}
    withdrawn_by = {v.marks: v for v in seen if v.status == ENTERED_IN_ERROR and v.marks}
    saved = {e.target_id for e in entries if e.action in SAVES}
    withdrawals = {e.target_id for e in entries if e.action == WITHDRAWAL}
    problems: list[str] = []
    for e in entries:
        if e.target_id is None:
            continue
        if e.action in SAVES and e.target_id not in by_id:
            problems.append(
                f"audit entry {e.seq} ({e.action}) records the saving of version {e.target_id}, which is not in the "
                "store: the version was deleted"
            )
        elif e.action == WITHDRAWAL and e.target_id not in withdrawn_by:
            problems.append(
                f"audit entry {e.seq} records version {e.target_id} marked entered in error, but the 'entered in "
                "error' version is not in the store: it was deleted, so withdrawn content could show as current"
            )
    for vid in sorted(arrived - by_id.keys()):
        problems.append(f"version {vid}, received from the hub or imported, is no longer in the store: it was deleted")
    for v in seen:
        if v.version_id in arrived or not v.opened:
            continue  # from the hub or an import (audited as such); one that does not open is named already
        named = v.marks in withdrawals if v.status == ENTERED_IN_ERROR else v.version_id in saved
        if not named:
            problems.append(
                f"version {v.version_id} of record {v.record_id} ({v.kind}, saved {v.created_at:%Y-%m-%d %H:%M}) has "
                "no audit entry recording it: the newest audit entries were cut, or the version was added to the file"
            )
    return problems
