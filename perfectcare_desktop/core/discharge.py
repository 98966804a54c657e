"""Discharge and the 72-hour follow-up (NHS England standard): a small record per patient.

Each version holds the discharge date and, once done, when follow-up happened; its clear metadata
carries the follow-up due date (discharge + 3 days) until follow-up is recorded, so the caseload
can show who needs contact without decrypting anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ..errors import InvalidInput
from .plan_content import clean_text
from .session import Session
from .versions import current

DISCHARGE_KIND = "discharge"
FOLLOWUP_WITHIN = timedelta(days=3)  # 72 hours


@dataclass(frozen=True)
class Discharge:
    record_id: str
    version_id: str
    discharged_on: date
    followup_due: date
    followup_done_on: date | None
    note: str


def load_discharge(session: Session, patient_id: str) -> Discharge | None:
    found = session.records_of_patient(patient_id, DISCHARGE_KIND)
    if not found:
        return None
    v = current(session.history(found[0][0]))
    if v is None:
        return None
    p = v.payload
    done = p.get("followup_done_on")
    discharged = date.fromisoformat(p["discharged_on"])
    return Discharge(v.record_id, v.version_id, discharged, discharged + FOLLOWUP_WITHIN,
                     date.fromisoformat(done) if done else None, p.get("note", ""))  # fmt: skip


def record_discharge(session: Session, patient_id: str, discharged_on: date, note: str = "") -> str:
    today = session.store.clock.now().date()
    if discharged_on > today:
        raise InvalidInput("The discharge date cannot be in the future; record it on the day.")
    payload = {"schema": "discharge/1", "discharged_on": discharged_on.isoformat(), "note": clean_text(note)}
    due = discharged_on + FOLLOWUP_WITHIN
    found = session.records_of_patient(patient_id, DISCHARGE_KIND)
    if not found:
        return session.create_record(DISCHARGE_KIND, patient_id, payload, followup_due=due, one_per_patient=True)[1]
    return session.append_version(found[0][0], payload, followup_due=due)


def record_followup(session: Session, patient_id: str, done_on: date, note: str = "") -> str:
    existing = load_discharge(session, patient_id)
    if existing is None:
        raise InvalidInput("Record the discharge first; there is no discharge to follow up.")
    if done_on > session.store.clock.now().date():
        raise InvalidInput("The follow-up date cannot be in the future.")
    if done_on < existing.discharged_on:
        raise InvalidInput("The follow-up cannot be before the discharge.")
    payload = {
        "schema": "discharge/1",
        "discharged_on": existing.discharged_on.isoformat(),
        "followup_done_on": done_on.isoformat(),
        "note": clean_text(note) or existing.note,
    }
    return session.append_version(existing.record_id, payload)
