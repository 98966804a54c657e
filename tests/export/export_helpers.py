"""Helpers for the export tests: sample people with signed plans in English, Welsh and Urdu, a
formulation with addenda, written through the real core services into the real encrypted store."""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical import formulations, plans
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_content import DECLINED, PlanContent, SectionContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.patients.details import PatientDetails

CLINICIAN_NOTE = "CLINICIAN-ONLY note: discussed with the team"
DECLINED_REASON = "SECRET-REASON did not want to talk about family today"
URDU_LINE = "میں اپنی امی کو فون کروں گی اور چائے پیوں گی"
SAMPLES = {
    "latin": {
        "name": ("Joanne", "Bloggs", "Jo"),
        "warning_signs": ["I stop answering messages and stay in bed 😔", "I can't sleep and feel wound up"],
        "coping_alone": ["Put my headphones on and walk to the park 🎧", "Have a hot shower and a brew"],
        "people": [("Sam", "sister", "07700 900123")],
    },
    "welsh": {
        "name": ("Gwenllian", "Prydderch", ""),
        "warning_signs": ["Dw i'n teimlo'n unig ac yn drist", "Dw i ddim eisiau gweld neb yn yr ŵyl"],
        "coping_alone": ["Mynd am dro gyda'r ci ar hyd y traeth", "Gwrando ar gerddoriaeth y côr"],
        "people": [("Dafydd", "brawd", "07700 900234")],
    },
    "urdu": {
        "name": ("عائشہ", "خان", ""),
        "warning_signs": ["میں کسی سے بات نہیں کرتی اور کمرے میں رہتی ہوں", "مجھے نیند نہیں آتی"],
        "coping_alone": [URDU_LINE, "Walk to the mosque and sit in the garden"],
        "people": [("فاطمہ", "بہن", "07700 900345")],
    },
}


@dataclass(frozen=True)
class Sample:
    patient_id: str
    key: str
    entries: tuple[str, ...]


def _content(sample: dict, layout) -> PlanContent:  # noqa: ANN001
    content = PlanContent.blank(layout, load_directory().ref)
    content.sections["warning_signs"] = SectionContent([{"text": t} for t in sample["warning_signs"]])
    content.sections["coping_alone"] = SectionContent([{"text": t} for t in sample["coping_alone"]])
    content.sections["people_to_ask"] = SectionContent(
        [{"name": n, "relationship": r, "phone": p} for n, r, p in sample["people"]]
    )
    content.sections["professionals"] = SectionContent([{"name": "Care coordinator Alex", "phone": "0113 496 0123"}])
    content.sections["making_safer"] = SectionContent(
        [{"method": "Tablets at home", "steps": "My partner keeps them locked away", "helper": "Chris"}]
    )
    content.sections["reasons_for_living"] = SectionContent(state=DECLINED, reason=DECLINED_REASON)
    content.clinician_notes = CLINICIAN_NOTE
    return content


def add_sample(session: Session, key: str, *, nhs: str, needs: tuple[str, ...] = (), sign: bool = True,
               content: PlanContent | None = None) -> Sample:  # fmt: skip
    sample = SAMPLES[key]
    given, family, preferred = sample["name"]
    pid = session.patients.add(PatientDetails(given, family, date(1980, 5, 4), nhs, preferred_name=preferred,
                                             access_needs=needs))  # fmt: skip
    layout = load_catalogue().latest()
    content = content or _content(sample, layout)
    if sign:
        plans.sign_plan(session, pid, layout, content, None, agreed_with_person=True, agreed_on=date(2026, 11, 20),
                        review_due=date(2027, 2, 20))  # fmt: skip
    else:
        plans.save_draft(session, pid, layout, content, None)
    entries = tuple(sample["warning_signs"] + sample["coping_alone"])
    return Sample(pid, key, entries)


def add_formulation(session: Session, pid: str) -> str:
    flayout = load_catalogue(layout_type=formulations.FORMULATION_LAYOUTS).latest()
    content = PlanContent.blank(flayout, {}, schema=formulations.SCHEMA)
    content.sections["current_thoughts"] = SectionContent([{"text": "FORMULATION-TEXT fleeting thoughts"}])
    content.sections["judgement"] = SectionContent([{"text": "JUDGEMENT-TEXT in words, no category"}])
    vid = formulations.sign_formulation(session, pid, flayout, content, None, review_due=date(2027, 1, 10))
    formulations.add_note(session, pid, vid, formulations.ADDENDUM, "ADDENDUM-TEXT spoke with GP")
    return vid


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def render_png(data: bytes, out: Path, dpi: int = 60) -> list[Path]:
    """pdftoppm, from a PDF written to the test's own temporary folder (deleted by pytest)."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm is not installed (apt-get install poppler-utils)")
    src = out.with_suffix(".pdf")
    src.write_bytes(data)
    subprocess.run([pdftoppm, "-r", str(dpi), "-png", str(src), str(out)], check=True, timeout=60)
    return sorted(out.parent.glob(out.name + "-*.png"))
