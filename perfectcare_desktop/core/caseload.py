"""The team's caseload: each patient with their plan's state and the dates that need acting on.

Built from decrypted patient details (held in memory after unlock) and the clear metadata of plan
heads (status, review and follow-up due dates), so it needs no decryption of plans. There is no
notion of risk here, deliberately: rows sort and filter by plan state and dates only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ..crypto.vault import DataKey
from ..store.models import Record, Version
from . import patient_snapshot, versions
from .discharge import DISCHARGE_KIND
from .patients import PatientSummary
from .plans import PLAN_KIND, REVISION, STATUS_LABELS, PlanState
from .session import Session
from .statuses import ENTERED_IN_ERROR

# Plan states as a clinician reads them (the plan's own labels); "none": no plan offered or written
# yet; on the caseload a revision says first that an agreed plan is in use.
PLAN_STATE_LABELS = {**STATUS_LABELS, "none": "No plan", REVISION: "Agreed, revision in draft"}


@dataclass(frozen=True)
class CaseloadRow:
    patient: PatientSummary
    plan_state: str
    plan_updated_at: datetime | None
    review_due: date | None
    followup_due: date | None
    needs_attention: bool  # a record with two heads (saved on two PCs), or an NHS number another patient has
    shares_nhs_number: bool = False

    @property
    def record_id(self) -> str:
        return self.patient.record_id

    @property
    def plan_state_label(self) -> str:
        return PLAN_STATE_LABELS.get(self.plan_state, self.plan_state)

    def review_overdue(self, today: date) -> bool:
        return self.review_due is not None and self.review_due < today

    def review_due_within(self, today: date, days: int) -> bool:
        return self.review_due is not None and (self.review_due - today).days <= days

    def followup_pending(self, today: date) -> bool:
        """Discharged, with the 72-hour follow-up due (or missed within the last week)."""
        return self.followup_due is not None and self.followup_due >= today - _GRACE


# A follow-up due date stays on the caseload for a week after it passes, so a missed one is seen.
_GRACE = timedelta(days=7)


@dataclass(frozen=True)
class _PlanHead:
    status: str
    created_at: datetime
    review_due: date | None
    followup_due: date | None


# 2: one entry per record, read in the history's one order; 1 (heads by arrival here) is rebuilt.
HEADS_SNAPSHOT = "caseload_heads/2"
_KINDS = (PLAN_KIND, DISCHARGE_KIND)
_BULK = 200  # past this many changed records, one full read is cheaper than reading each


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _entry(status: str, v: Any, review: date | None) -> list:
    return [status, v.created_at.isoformat(), _iso(review), _iso(v.followup_due)]


def _from_history(conn: Connection, dek: DataKey, record_id: str, kind: str) -> list:
    """[status, created, review, followup] of what the record's page shows in use, from its whole chain:
    for the rare record with two heads (whose newest depends on every version's place in the one
    order, not on which arrived here last) or ending in an entered-in-error mark."""
    history = tuple(versions.history(conn, dek, record_id))
    if kind == PLAN_KIND:
        shown = PlanState(record_id, history, ()).shown
        assert shown is not None  # a record has at least its first version
        return _entry(*shown)
    v = versions.current(list(history)) or history[-1]
    return _entry(v.status, v, v.review_due)


def _read_heads(session: Session) -> dict[str, list]:
    """record id -> [patient id, kind, record created, head count, [status, created, review, followup]]
    for every plan and discharge record: from a snapshot, updated with the records saved since."""
    q = (
        select(Record.patient_id, Record.created_at.label("record_created"), Version.record_id, Version.kind,
               Version.status, Version.created_at, Version.review_due, Version.followup_due)
        .join(Record, Record.record_id == Version.record_id)
        .where(Version.kind.in_(_KINDS), versions.is_head())
    )  # fmt: skip
    dek = session.dek
    changed: list[str] = []
    with session.store.reading() as conn:
        # Local arrival numbers say only what changed since the snapshot, never which version is newest.
        upto = conn.execute(select(func.max(Version.seq))).scalar() or 0
        cached = patient_snapshot.read_blob(conn, dek, HEADS_SNAPSHOT)
        records: dict[str, list] = {}
        if cached is not None and isinstance(cached[1], dict):
            records = cached[1]
            changed = list(
                conn.execute(
                    select(Version.record_id).where(Version.kind.in_(_KINDS), Version.seq > cached[0]).distinct()
                ).scalars()
            )
            if len(changed) > _BULK:
                cached = None
        else:
            cached = None
        if cached is None:
            records = {}
            rows = list(conn.execute(q))
        else:
            rows = list(conn.execute(q.where(Version.record_id.in_(changed)))) if changed else []
            for record_id in changed:
                records.pop(record_id, None)
        heads: dict[str, list[Any]] = {}
        for row in rows:
            heads.setdefault(row.record_id, []).append(row)
        for record_id, found in heads.items():
            head = found[0]
            if len(found) == 1 and head.status != ENTERED_IN_ERROR:
                entry = _entry(head.status, head, head.review_due)
            else:
                entry = _from_history(conn, dek, record_id, head.kind)
            records[record_id] = [head.patient_id, head.kind, head.record_created.isoformat(), len(found), entry]
    if cached is None or changed:
        with session.store.writing() as conn:
            patient_snapshot.write_blob(conn, dek, HEADS_SNAPSHOT, upto, records)
    return records


def _plan_heads(session: Session) -> tuple[dict[str, _PlanHead], set[str], dict[str, date | None]]:
    """The plan in use per patient, patients whose plan has two heads (needs attention), and the
    follow-up due from each patient's discharge record. A patient with two records of a kind (from
    before their ids were derived) is shown by the first made, as their page shows it."""
    heads: dict[str, _PlanHead] = {}
    first: dict[tuple[str, str], tuple[str, str]] = {}
    conflicted: set[str] = set()
    followups: dict[str, date | None] = {}
    for record_id, (patient_id, kind, record_created, head_count, entry) in _read_heads(session).items():
        if head_count > 1:
            conflicted.add(patient_id)
        made = (record_created, record_id)
        if (patient_id, kind) in first and first[(patient_id, kind)] <= made:
            continue
        first[(patient_id, kind)] = made
        status, created, review, followup = entry
        if kind == DISCHARGE_KIND:
            followups[patient_id] = date.fromisoformat(followup) if followup else None
        else:
            heads[patient_id] = _PlanHead(
                status,
                datetime.fromisoformat(created),
                date.fromisoformat(review) if review else None,
                date.fromisoformat(followup) if followup else None,
            )
    return heads, conflicted, followups


def caseload(session: Session) -> list[CaseloadRow]:
    heads, conflicted, followups = _plan_heads(session)
    with session.store.reading() as conn:  # a formulation, an addendum, ... saved on two PCs too
        conflicted |= {row.patient_id for row in versions.conflicted_records(conn)}
    shared = session.sharing_nhs_number()
    rows = []
    for p in session.list_patients():
        h = heads.get(p.record_id)
        followup = followups.get(p.record_id, h.followup_due if h else None)
        rows.append(
            CaseloadRow(
                patient=p,
                plan_state=h.status if h else "none",
                plan_updated_at=h.created_at if h else None,
                review_due=h.review_due if h else None,
                followup_due=followup,
                needs_attention=p.needs_attention or p.record_id in conflicted or p.record_id in shared,
                shares_nhs_number=p.record_id in shared,
            )
        )
    return rows
