"""Fill a store with synthetic patients and safety-plan-like drafts (demos, training, benchmarks).

Each patient gets a details version and a plan record of four versions (drafted section by section,
often agreed and signed at the last; a few offered and declined), so N patients make 5N versions.
Deterministic for a seed. Refuses a store holding any real (non-test-range) patient.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache

from ...errors import NotAllowed
from ..access.session import Session
from ..clinical.crisis_directory import load_directory
from ..clinical.plan_content import SCHEMA
from ..clinical.plan_layout import DEFAULT_LAYOUT_ID
from ..clinical.plans import PLAN_KIND
from ..patients.details import PatientDetails
from ..patients.nhs_number import is_test_range
from ..storage.versions import NewVersion
from .demo_text import SECTION_KEYS, DemoPerson, DemoPlanText, demo_people, demo_plan_text

PLAN_VERSIONS = 4
BATCH = 250
Progress = Callable[[int, int], None]


def _entry(section: str, text: str) -> dict[str, str]:
    """Demo text as an entry of the default layout's section kinds."""
    if section == "professionals" and ": " in text:
        name, phone = text.rsplit(": ", 1)
        return {"name": name, "phone": phone}
    if section in ("people_to_ask", "professionals"):
        return {"name": text}
    if section == "making_safer":
        return {"steps": text}
    return {"text": text}


@lru_cache(maxsize=1)  # read once: demo plans are made by the tens of thousands
def _directory_ref() -> dict[str, str]:
    return load_directory().ref


def plan_payload(text: DemoPlanText, shown: tuple[str, ...] | list[str], with_contacts: bool) -> dict:
    """A `safety_plan/1` payload holding the given sections of the demo text."""
    sections: dict[str, dict] = {}
    for key in shown:
        entries = [_entry(key, t) for t in text.sections[key]]
        if key == "people_to_ask":
            entries = ([dict(c) for c in text.contacts] if with_contacts else []) + entries
        sections[key] = {"entries": entries, "state": "", "reason": ""}
    return {
        "schema": SCHEMA,
        "layout": {"id": DEFAULT_LAYOUT_ID, "version": 1},
        "directory": _directory_ref(),
        "sections": sections,
        "clinician_notes": "",
    }


def plan_chain(text: DemoPlanText, rng: random.Random, today: date) -> list[NewVersion]:
    """A plan's versions as a session would write them: offered and declined, or a draft growing
    section by section over PLAN_VERSIONS saves, often agreed at the last, some after a discharge."""
    roll = rng.random()
    if roll < 0.08:
        declined = plan_payload(text, (), False) | {
            "declined": {"offered_on": today.isoformat(), "reason": "Did not want a written plan today"}
        }
        return [NewVersion("", PLAN_KIND, declined, status="offered_declined", signed=True)] * PLAN_VERSIONS
    chain = []
    for step in range(1, PLAN_VERSIONS + 1):
        shown = SECTION_KEYS[: round(len(SECTION_KEYS) * step / PLAN_VERSIONS)]
        payload = plan_payload(text, shown, step > 1)
        chain.append(NewVersion("", PLAN_KIND, payload, status="draft"))
    if roll < 0.55:  # agreed: signed, with a review date (some overdue) and sometimes a discharge
        review = today + timedelta(days=rng.randint(-30, 90))
        followup = today + timedelta(days=rng.randint(-1, 3)) if rng.random() < 0.12 else None
        agreed = chain[-1].payload | {"agreed_with_person": True, "agreed_on": today.isoformat()}
        chain[-1] = dataclasses.replace(
            chain[-1], payload=agreed, status="agreed", signed=True, review_due=review, followup_due=followup
        )
    return chain


def add_demo_data(session: Session, patients: int, seed: int, progress: Progress | None = None) -> int:
    """Add `patients` synthetic people with draft plans; returns how many were added."""
    existing = session.patients.all()
    real = [p for p in existing if not is_test_range(p.details.nhs_number)]
    if real:
        raise NotAllowed(
            "This store holds real patients; demo data only goes into a training or test store. Nothing was added."
        )
    known = {p.details.nhs_number for p in existing}
    today = session.store.clock.now().date()
    rng = random.Random(seed ^ 0x5EED)
    people = [p for p in demo_people(patients, seed) if p.nhs_number not in known]
    added = 0
    for start in range(0, len(people), BATCH):
        batch = []
        for person in people[start : start + BATCH]:
            details = patient_details(person)
            chain = plan_chain(demo_plan_text(person, rng), rng, today)
            batch.append((details, [(PLAN_KIND, chain)] if chain else []))
        added += session.patients.import_batch(batch)
        if progress:
            progress(added, len(people))
    session.record_event("demo_data", detail=f"{added} synthetic patients, seed {seed}")
    return added


def patient_details(person: DemoPerson) -> PatientDetails:
    """A generated person (demo_text.demo_people) as the details a clinician would register."""
    return PatientDetails(
        person.given_name,
        person.family_name,
        person.date_of_birth,
        person.nhs_number,
        person.local_id,
        person.preferred_name,
        person.preferred_language,
        person.access_needs,
    )
