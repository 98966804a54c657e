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
from .patients import PatientSummary
from .session import Session

PLAN_KIND = "safety_plan"

# Plan states as a clinician reads them; "none" means no plan was offered or written yet.
PLAN_STATE_LABELS = {
    "none": "No plan",
    "offered_declined": "Offered, declined",
    "draft": "Draft",
    "agreed": "Agreed",
    "superseded": "Superseded",
    "ended": "Ended",
    "current": "Draft",
}


@dataclass(frozen=True)
class CaseloadRow:
    patient: PatientSummary
    plan_state: str
    plan_updated_at: datetime | None
    review_due: date | None
    followup_due: date | None
    needs_attention: bool

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


PLAN_SNAPSHOT = "plan_heads"
_BULK = 200  # past this many changed plans, one full read is cheaper than reading each


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _plan_heads(session: Session) -> tuple[dict[str, _PlanHead], set[str]]:
    """Newest plan head per patient, and patients whose plan has two heads (needs attention).

    Read from a snapshot of every plan record's heads, updated with the plans saved since."""
    q = (
        select(Record.patient_id, Version.record_id, Version.seq, Version.status, Version.created_at,
               Version.review_due, Version.followup_due)
        .join(Record, Record.record_id == Version.record_id)
        .where(Version.kind == PLAN_KIND, versions.is_head())
        .order_by(Version.seq)
    )  # fmt: skip
    dek = session.dek
    changed: list[str] = []
    with session.store.reading() as conn:
        upto = conn.execute(select(func.max(Version.seq))).scalar() or 0
        cached = patient_snapshot.read_blob(conn, dek, PLAN_SNAPSHOT)
        records: dict[str, list] = {}
        if cached is not None and isinstance(cached[1], dict):
            records = cached[1]
            changed = list(
                conn.execute(
                    select(Version.record_id).where(Version.kind == PLAN_KIND, Version.seq > cached[0]).distinct()
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
        entry = records.setdefault(row.record_id, [row.patient_id, []])
        entry[1].append([row.seq, row.status, row.created_at.isoformat(), _iso(row.review_due), _iso(row.followup_due)])
    if cached is None or changed:
        with session.store.writing() as conn:
            patient_snapshot.write_blob(conn, dek, PLAN_SNAPSHOT, upto, records)
    heads: dict[str, _PlanHead] = {}
    newest: dict[str, int] = {}
    conflicted: set[str] = set()
    for patient_id, record_heads in records.values():
        if len(record_heads) > 1:
            conflicted.add(patient_id)
        for seq, status, created, review, followup in record_heads:
            if seq > newest.get(patient_id, -1):
                newest[patient_id] = seq
                heads[patient_id] = _PlanHead(
                    status,
                    datetime.fromisoformat(created),
                    date.fromisoformat(review) if review else None,
                    date.fromisoformat(followup) if followup else None,
                )
    return heads, conflicted


def caseload(session: Session) -> list[CaseloadRow]:
    heads, conflicted = _plan_heads(session)
    rows = []
    for p in session.list_patients():
        h = heads.get(p.record_id)
        rows.append(
            CaseloadRow(
                patient=p,
                plan_state=h.status if h else "none",
                plan_updated_at=h.created_at if h else None,
                review_due=h.review_due if h else None,
                followup_due=h.followup_due if h else None,
                needs_attention=p.needs_attention or p.record_id in conflicted,
            )
        )
    return rows
