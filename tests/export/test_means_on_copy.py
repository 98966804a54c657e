"""Means safety on the person's copy shows only what was agreed (issue 14, item 3): the steps and who
helps, in the person's words. The method and where the means are stay in the clinician record; an
entry with no agreed step prints nothing on the copy, and the sign checklist says so."""

from __future__ import annotations

from datetime import date

import pytest
from export_helpers import SAMPLES, _content, pdf_text

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical import plans
from perfectcare_desktop.core.clinical.plan_content import PlanContent, SectionContent, person_view
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plan_prompts import plan_prompts
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.export.service import CLINICIAN_RECORD, PERSON_VARIANTS, patient_pdf

METHOD, ACCESS = "Hanging", "Belts and ties in the wardrobe"
STEPS, HELPER = "Give the belts to my brother tonight", "Dai"
UNAGREED_METHOD, UNAGREED_ACCESS = "Overdose", "Paracetamol in the kitchen drawer"


@pytest.fixture
def patient(session: Session) -> str:
    layout = load_catalogue().latest()
    content = _content(SAMPLES["latin"], layout)
    content.sections["making_safer"] = SectionContent(
        [
            {"method": METHOD, "access": ACCESS, "steps": STEPS, "helper": HELPER},
            {"method": UNAGREED_METHOD, "access": UNAGREED_ACCESS},  # discussed, no step agreed yet
        ]
    )
    pid = session.patients.add(PatientDetails("Joanne", "Bloggs", date(1980, 5, 4), "9434765919"))
    plans.sign_plan(session, pid, layout, content, None, agreed_with_person=True, agreed_on=date(2026, 11, 20),
                    review_due=date(2027, 2, 20))  # fmt: skip
    return pid


@pytest.mark.parametrize("variant", PERSON_VARIANTS)
def test_the_persons_copy_shows_the_agreed_steps_never_the_method_or_the_means(
    session: Session, patient: str, variant: str
) -> None:
    text = " ".join(pdf_text(patient_pdf(session, patient, variant, action="view").data).split())
    for hidden in (METHOD, ACCESS, UNAGREED_METHOD, UNAGREED_ACCESS, "wardrobe", "Paracetamol"):
        assert hidden not in text, f"{hidden!r} printed on the {variant} copy"
    if variant != "wallet-card":  # the card carries what fits; the A4 copies carry every agreed step
        assert "Give the belts to my brother" in text and "Dai" in text


def test_the_clinician_record_keeps_the_whole_means_discussion(session: Session, patient: str) -> None:
    text = " ".join(pdf_text(patient_pdf(session, patient, CLINICIAN_RECORD, action="view").data).split())
    assert "Belts and ties in the wardrobe" in text and "Paracetamol in the kitchen drawer" in text


def test_present_mode_and_history_views(session: Session, patient: str) -> None:
    state = plans.load_plan(session, patient, audit_view=False)
    layout = load_catalogue().latest()
    content = PlanContent.from_payload(state.current.payload)
    shown = {s.key: s.lines for s in person_view(layout, content)}  # the copy and present mode
    assert shown["making_safer"] == (f"{STEPS} — Who will help: {HELPER}",)
    detail = {s.key: s.lines for s in person_view(layout, content, means_detail=True)}  # history, for clinicians
    assert any(ACCESS in line for line in detail["making_safer"])


def test_the_sign_checklist_says_an_entry_without_steps_is_left_off_the_copy(session: Session, patient: str) -> None:
    state = plans.load_plan(session, patient, audit_view=False)
    prompts = [p.text for p in plan_prompts(load_catalogue().latest(), PlanContent.from_payload(state.current.payload))]
    assert any("Overdose" in p and "left off the person's copy" in p for p in prompts)
