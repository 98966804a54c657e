"""The team's caseload: each patient with their plan's state and the dates that need acting on.

Built from decrypted patient details (held in memory after unlock) and the clear metadata of plan
heads (status, review and follow-up due dates), so it needs no decryption of plans. There is no
notion of risk here, deliberately: rows sort and filter by plan state and dates only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from ..store.models import Record, Version
from . import patient_snapshot, versions
from .discharge import DISCHARGE_KIND
from .patients import PatientSummary
from .plans import PLAN_KIND, REVISION, STATUS_LABELS
from .session import Session

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


HEADS_SNAPSHOT = "caseload_heads"
_KINDS = (PLAN_KIND, DISCHARGE_KIND)
_BULK = 200  # past this many changed records, one full read is cheaper than reading each


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _read_heads(session: Session) -> dict[str, list]:
    """record id -> [patient id, kind, [[seq, status, created, review, followup], ...]] for every
    plan and discharge record's heads: from a snapshot, updated with the records saved since."""
    q = (
        select(Record.patient_id, Version.record_id, Version.kind, Version.seq, Version.status, Version.created_at,
               Version.review_due, Version.followup_due)
        .join(Record, Record.record_id == Version.record_id)
        .where(Version.kind.in_(_KINDS), versions.is_head())
        .order_by(Version.seq)
    )  # fmt: skip
    dek = session.dek
    changed: list[str] = []
    with session.store.reading() as conn:
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
    for row in rows:
        entry = records.setdefault(row.record_id, [row.patient_id, row.kind, []])
        entry[2].append([row.seq, row.status, row.created_at.isoformat(), _iso(row.review_due), _iso(row.followup_due)])
    if cached is None or changed:
        with session.store.writing() as conn:
            patient_snapshot.write_blob(conn, dek, HEADS_SNAPSHOT, upto, records)
    return records


def _plan_heads(session: Session) -> tuple[dict[str, _PlanHead], set[str], dict[str, date | None]]:
    """Newest plan head per patient, patients whose plan has two heads (needs attention), and the
    follow-up due from each patient's discharge record."""
    heads: dict[str, _PlanHead] = {}
    newest: dict[tuple[str, str], int] = {}
    conflicted: set[str] = set()
    followups: dict[str, date | None] = {}
    for patient_id, kind, record_heads in _read_heads(session).values():
        if len(record_heads) > 1:
            conflicted.add(patient_id)
        for seq, status, created, review, followup in record_heads:
            if seq <= newest.get((patient_id, kind), -1):
                continue
            newest[(patient_id, kind)] = seq
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
