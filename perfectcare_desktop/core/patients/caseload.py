"""The team's caseload: each patient with their plan's state and the dates that need acting on.

Built from decrypted patient details (held in memory after unlock) and the clear metadata of plan
and formulation heads (status, review dates), so it needs no decryption of plans. A discharge record
is read whole when it changes (its exact due time and contacts are sealed) and kept in the sealed
snapshot. There is no notion of risk here, deliberately: rows sort and filter by state and dates only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ...crypto.vault import DataKey
from ...store.models import Record, Version
from ..access.session import Session
from ..clinical.discharge import DISCHARGE_KIND, Discharge, discharge_from_history, uk_local
from ..clinical.formulations import FORMULATION_KIND, FormulationState
from ..clinical.plans import DECLINED, PLAN_KIND, REVISION, STATUS_LABELS, PlanState
from ..clinical.statuses import ENTERED_IN_ERROR
from ..storage import versions
from . import snapshot as patient_snapshot
from .details import PatientSummary

# Plan states as a clinician reads them (the plan's own labels); "none": no plan offered or written
# yet; on the caseload a revision says first that an agreed plan is in use.
PLAN_STATE_LABELS = {**STATUS_LABELS, "none": "No plan", REVISION: "Agreed, revision in draft"}


@dataclass(frozen=True)
class Followup:
    """The 72-hour follow-up of a patient's newest discharge, as the caseload needs it."""

    due_at: datetime  # naive UTC: discharge time + 72 hours
    open: bool  # owed, and nothing yet says it was made or declined
    attempts: int
    next_attempt_due: datetime | None  # naive UTC
    done: str  # what closed it, in words ("" while open)

    def missed(self, now: datetime) -> bool:
        return self.open and now > self.due_at

    @classmethod
    def of(cls, d: Discharge) -> Followup | None:
        if not d.applies:
            return None
        made, declined = d.made, d.declined
        done = "made" if made else "declined" if declined else ""
        return cls(d.followup_due_at, d.open, len(d.attempts), d.next_attempt_due, done)

    def to_json(self) -> list:
        nxt = self.next_attempt_due.isoformat() if self.next_attempt_due else None
        return [self.due_at.isoformat(), self.open, self.attempts, nxt, self.done]

    @classmethod
    def from_json(cls, data: list) -> Followup:
        due, is_open, attempts, nxt, done = data
        return cls(datetime.fromisoformat(due), bool(is_open), int(attempts),
                   datetime.fromisoformat(nxt) if nxt else None, str(done))  # fmt: skip


@dataclass(frozen=True)
class CaseloadRow:
    patient: PatientSummary
    plan_state: str
    plan_updated_at: datetime | None
    review_due: date | None
    followup_due: date | None
    needs_attention: bool  # a record with two heads (saved on two PCs), or an NHS number another patient has
    shares_nhs_number: bool = False
    followup: Followup | None = None  # from the discharge record; None: no discharge, or a transfer
    formulation_review_due: date | None = None  # the signed formulation in force
    as_of: datetime | None = None  # when the rows were read (naive UTC): "missed" is judged against it too

    @property
    def record_id(self) -> str:
        return self.patient.record_id

    @property
    def plan_state_label(self) -> str:
        return PLAN_STATE_LABELS.get(self.plan_state, self.plan_state)

    @property
    def reoffer(self) -> bool:
        """The plan was offered and declined: its date is when to offer it again, not a review."""
        return self.plan_state == DECLINED

    def _dates(self) -> list[date]:
        return [d for d in (self.review_due, self.formulation_review_due) if d is not None]

    def review_overdue(self, today: date) -> bool:
        """The plan's review (or re-offer) or the formulation's review is past."""
        return any(d < today for d in self._dates())

    def review_due_within(self, today: date, days: int) -> bool:
        return any((d - today).days <= days for d in self._dates())

    def followup_pending(self, today: date) -> bool:
        """Discharged, and the 72-hour follow-up is owed: due, or missed. A missed one stays until someone
        records what was done (it used to drop off a week after it was due)."""
        if self.followup is not None:
            return self.followup.open
        # A due date on a plan version and no discharge record (only demo data writes one): there is no
        # follow-up to record against it, so it keeps its old week of grace rather than stay forever.
        return self.followup_due is not None and self.followup_due >= today - _LEGACY_GRACE

    def followup_missed(self, today: date) -> bool:
        """Past the 72 hours with nothing recorded: judged at the time the rows were read, and by the day
        after (a caseload left open over a night still says so)."""
        f = self.followup
        if f is None or not f.open:
            return False
        return (self.as_of is not None and f.missed(self.as_of)) or today > uk_local(f.due_at).date()


_LEGACY_GRACE = timedelta(days=7)


@dataclass(frozen=True)
class _PlanHead:
    status: str
    created_at: datetime
    review_due: date | None
    followup_due: date | None


# 2: one entry per record, read in the history's one order; 1 (heads by arrival here) is rebuilt.
# 3: discharge entries carry the follow-up (exact due time, contacts); formulations are read too.
HEADS_SNAPSHOT = "caseload_heads/3"
_KINDS = (PLAN_KIND, DISCHARGE_KIND, FORMULATION_KIND)
_BULK = 200  # past this many changed records, one full read is cheaper than reading each


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _entry(status: str, v: Any, review: date | None, extra: list | None = None) -> list:
    return [status, v.created_at.isoformat(), _iso(review), _iso(v.followup_due), extra]


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
    if kind == FORMULATION_KIND:  # the signed formulation in force, even while a review is drafted
        in_use = FormulationState(record_id, history, ()).in_use
        return _entry(v.status, v, in_use.review_due if in_use is not None and in_use.signed else None)
    if kind == DISCHARGE_KIND:
        d = discharge_from_history(list(history))
        f = Followup.of(d) if d is not None else None
        return _entry(v.status, v, None, f.to_json() if f is not None else None)
    return _entry(v.status, v, v.review_due)


def _read_heads(session: Session) -> dict[str, list]:
    """record id -> [patient id, kind, record created, head count, [status, created, review, followup],
    head ids] for every plan and discharge record: from a snapshot, updated with the records whose heads
    changed since (found from the parent links: an edited `seq` hides nothing)."""
    q = (
        select(Record.patient_id, Record.created_at.label("record_created"), Version.record_id, Version.kind,
               Version.status, Version.signed, Version.created_at, Version.review_due, Version.followup_due,
               Version.version_id)
        .join(Record, Record.record_id == Version.record_id)
        .where(Version.kind.in_(_KINDS), versions.is_head())
    )  # fmt: skip
    dek = session.require_unlocked()
    changed: list[str] = []
    with session.store.reading() as conn:
        # The newest local arrival number only labels the snapshot; what changed is read from the heads.
        upto = conn.execute(select(func.max(Version.seq))).scalar() or 0
        cached = patient_snapshot.read_blob(conn, dek, HEADS_SNAPSHOT)
        records: dict[str, list] = {}
        if cached is not None and isinstance(cached[1], dict):
            records = cached[1]
            # A row cached before head ids were kept (five items) counts as changed.
            known = {rid: row[5] if len(row) > 5 else () for rid, row in records.items()}
            changed = versions.changed_records(conn, _KINDS, known)
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
            # A discharge is read whole (its contacts and exact time are sealed); so is a formulation whose
            # head is not the signed version in force (a review being drafted).
            simple = head.kind == PLAN_KIND or (head.kind == FORMULATION_KIND and head.signed)
            if len(found) == 1 and head.status != ENTERED_IN_ERROR and simple:
                entry = _entry(head.status, head, head.review_due)
            else:
                entry = _from_history(conn, dek, record_id, head.kind)
            records[record_id] = [head.patient_id, head.kind, head.record_created.isoformat(), len(found), entry,
                                  sorted(r.version_id for r in found)]  # fmt: skip
    if cached is None or changed:
        with session.store.writing() as conn:
            patient_snapshot.write_blob(conn, dek, HEADS_SNAPSHOT, upto, records)
    return records


@dataclass
class _Heads:
    plans: dict[str, _PlanHead]
    conflicted: set[str]
    followup_due: dict[str, date | None]
    followups: dict[str, Followup | None]
    formulation_reviews: dict[str, date | None]


def _plan_heads(session: Session) -> _Heads:
    """The plan in use per patient, patients whose plan has two heads (needs attention), the follow-up
    from each patient's discharge record and their formulation's review date. A patient with two
    records of a kind (from before their ids were derived) is shown by the first made, as their page
    shows it."""
    heads: dict[str, _PlanHead] = {}
    first: dict[tuple[str, str], tuple[str, str]] = {}
    conflicted: set[str] = set()
    followups: dict[str, date | None] = {}
    followup: dict[str, Followup | None] = {}
    reviews: dict[str, date | None] = {}
    for record_id, (patient_id, kind, record_created, head_count, entry, *_) in _read_heads(session).items():
        if head_count > 1:
            conflicted.add(patient_id)
        made = (record_created, record_id)
        if (patient_id, kind) in first and first[(patient_id, kind)] <= made:
            continue
        first[(patient_id, kind)] = made
        status, created, review, due, extra = entry
        if kind == DISCHARGE_KIND:
            followups[patient_id] = date.fromisoformat(due) if due else None
            followup[patient_id] = Followup.from_json(extra) if extra else None
        elif kind == FORMULATION_KIND:
            reviews[patient_id] = date.fromisoformat(review) if review else None
        else:
            heads[patient_id] = _PlanHead(
                status,
                datetime.fromisoformat(created),
                date.fromisoformat(review) if review else None,
                date.fromisoformat(due) if due else None,
            )
    return _Heads(heads, conflicted, followups, followup, reviews)


def caseload(session: Session) -> list[CaseloadRow]:
    found = _plan_heads(session)
    heads, conflicted, followups = found.plans, found.conflicted, found.followup_due
    now = session.store.clock.now()
    with session.store.reading() as conn:  # a formulation, an addendum, ... saved on two PCs too
        conflicted |= {row.patient_id for row in versions.conflicted_records(conn)}
    shared = session.patients.sharing_nhs_number()
    rows = []
    for p in session.patients.all():
        h = heads.get(p.record_id)
        followup = followups.get(p.record_id, h.followup_due if h else None)
        status = found.followups.get(p.record_id)
        if status is not None and not status.open:
            followup = None  # done: the date stays in the record, not on the caseload
        rows.append(
            CaseloadRow(
                patient=p,
                plan_state=h.status if h else "none",
                plan_updated_at=h.created_at if h else None,
                review_due=h.review_due if h else None,
                followup_due=followup,
                needs_attention=p.needs_attention or p.record_id in conflicted or p.record_id in shared,
                shares_nhs_number=p.record_id in shared,
                followup=status,
                formulation_review_due=found.formulation_reviews.get(p.record_id),
                as_of=now,
            )
        )
    return rows
