"""Fill a store with synthetic patients and safety-plan-like drafts (demos, training, benchmarks).

Each patient gets a details version and a draft plan written up over four versions, so N patients
make 5N versions. Deterministic for a seed. Refuses a store holding any real (non-test-range) patient.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ..errors import NotAllowed
from .demo_text import SECTION_KEYS, DemoPlanText, demo_people, demo_plan_text
from .nhs_number import is_test_range
from .patients import PatientDetails
from .session import Session

PLAN_KIND = "safety_plan"
PLAN_VERSIONS = 4
BATCH = 250
Progress = Callable[[int, int], None]


def plan_draft_payloads(text: DemoPlanText) -> list[dict[str, Any]]:
    """A draft growing section by section over PLAN_VERSIONS saves, as a session would write it."""
    out = []
    for step in range(1, PLAN_VERSIONS + 1):
        shown = SECTION_KEYS[: round(len(SECTION_KEYS) * step / PLAN_VERSIONS)]
        out.append(
            {
                "schema": "safety_plan_draft/0",
                "sections": {k: text.sections[k] for k in shown},
                "contacts": text.contacts if step > 1 else [],
            }
        )
    return out


def add_demo_data(session: Session, patients: int, seed: int, progress: Progress | None = None) -> int:
    """Add `patients` synthetic people with draft plans; returns how many were added."""
    existing = session.list_patients()
    real = [p for p in existing if not is_test_range(p.details.nhs_number)]
    if real:
        raise NotAllowed(
            "This store holds real patients; demo data only goes into a training or test store. Nothing was added."
        )
    known = {p.details.nhs_number for p in existing}
    rng = random.Random(seed ^ 0x5EED)
    people = [p for p in demo_people(patients, seed) if p.nhs_number not in known]
    added = 0
    for start in range(0, len(people), BATCH):
        batch = []
        for person in people[start : start + BATCH]:
            details = PatientDetails(
                person.given_name,
                person.family_name,
                person.date_of_birth,
                person.nhs_number,
                person.local_id,
                person.preferred_name,
                person.preferred_language,
                person.access_needs,
            )
            batch.append((details, [(PLAN_KIND, plan_draft_payloads(demo_plan_text(person, rng)))]))
        added += session.import_batch(batch)
        if progress:
            progress(added, len(people))
    session.record_event("demo_data", detail=f"{added} synthetic patients, seed {seed}")
    return added
