"""The clinician record identifies the person on every page (issue 15, hazard 9: the footer showed the
preferred name only, no date of birth), and carries each discharge with its 72-hour follow-up: every
contact and attempt, and a missed follow-up said in words."""

from __future__ import annotations

import io
import os
from datetime import date, datetime
from pathlib import Path

from export_helpers import add_formulation, add_sample, pdf_text, render_png
from pypdf import PdfReader
from stratification import rates_risk

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical import plans
from perfectcare_desktop.core.clinical.discharge import (
    ATTEMPTED,
    DISCHARGE_KIND,
    SELF_DISCHARGE,
    record_discharge,
    record_followup,
)
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.export.service import CLINICIAN_RECORD, patient_pdf

SHOTS = os.environ.get("FOLLOWUP_SHOTS")  # a folder: the pages are rendered there to look at


def pages(data: bytes) -> list[str]:
    return [" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(data)).pages]


def long_record(session: Session, nhs_numbers, clock) -> str:  # noqa: ANN001
    """Jo (legal name Joanne Bloggs): a formulation, a plan saved many times, and a discharge with two
    attempts that did not reach her, followed up after the 72 hours."""
    sample = add_sample(session, "latin", nhs=next(nhs_numbers))
    pid = sample.patient_id
    add_formulation(session, pid)
    layout = load_catalogue().latest()
    content = plans.load_plan(session, pid, audit_view=False).current
    assert content is not None
    from perfectcare_desktop.core.clinical.plan_content import PlanContent

    for _ in range(30):  # a long version history: the record runs over several pages
        plans.save_draft(session, pid, layout, PlanContent.from_payload(content.payload), None)
    clock.current = datetime(2026, 11, 27, 15, 0)
    record_discharge(session, pid, datetime(2026, 11, 23, 16, 0), discharge_type=SELF_DISCHARGE,
                     owner_text="Home treatment team, Bangor", note="Left before the ward round")  # fmt: skip
    record_followup(session, pid, datetime(2026, 11, 24, 10, 0), "No answer", outcome=ATTEMPTED,
                    next_attempt_due=datetime(2026, 11, 25, 10, 0))  # fmt: skip
    record_followup(session, pid, datetime(2026, 11, 25, 10, 30), "Not at home; card left", outcome=ATTEMPTED,
                    next_attempt_due=datetime(2026, 11, 26, 10, 0))  # fmt: skip
    return pid


def test_every_page_carries_legal_name_date_of_birth_and_nhs_number(session: Session, nhs_numbers, clock) -> None:  # noqa: ANN001
    pid = long_record(session, nhs_numbers, clock)
    nhs = session.patients.get(pid, audit_view=False).details.nhs_number_formatted
    data = patient_pdf(session, pid, CLINICIAN_RECORD).data
    texts = pages(data)
    assert len(texts) >= 3
    for n, text in enumerate(texts, 1):
        assert "Joanne Bloggs" in text, n  # the legal name, not only "Jo Bloggs"
        assert "born 4 May 1980" in text, n
        assert f"NHS number {nhs}" in text, n
        assert "known as Jo Bloggs" in text, n
        assert "CONFIDENTIAL" in text, n
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        render_png(data, Path(SHOTS) / "clinician_record")


def test_the_discharge_and_every_follow_up_attempt_are_in_the_record(
    session: Session,
    nhs_numbers,
    clock,  # noqa: ANN001
) -> None:
    pid = long_record(session, nhs_numbers, clock)
    flat = " ".join(pdf_text(patient_pdf(session, pid, CLINICIAN_RECORD).data).split())
    assert "Discharge and 72-hour follow-up" in flat
    assert "Discharged 16:00 on 23 November 2026 (UK time)" in flat
    assert "Self-discharge / left against advice" in flat and "Home treatment team, Bangor" in flat
    assert "72-hour follow-up due by 16:00 on 26 November 2026" in flat
    assert "72-hour follow-up missed" in flat and "2 attempts — not reached" in flat
    assert "No answer" in flat and "Not at home; card left" in flat
    assert "Attempted — not reached; next attempt due 10:00 on Thu 26 Nov 2026" in flat
    assert "Left before the ward round" in flat
    assert "(95 hours after the discharge)" in flat  # recorded late: said so
    record_followup(session, pid, datetime(2026, 11, 27, 14, 0), "Seen at home")
    flat = " ".join(pdf_text(patient_pdf(session, pid, CLINICIAN_RECORD).data).split())
    assert "Followed up 14:00 on Fri 27 Nov 2026 (after the 72 hours)" in flat and "Seen at home" in flat
    assert not rates_risk(flat)


def test_an_old_discharge_record_and_a_re_offer_date_print(session: Session, nhs_numbers) -> None:  # noqa: ANN001
    pid = add_sample(session, "welsh", nhs=next(nhs_numbers), sign=False).patient_id
    old = {"schema": "discharge/1", "discharged_on": "2026-11-20", "note": "Home to her flat"}
    record_id, _ = session.records.create(DISCHARGE_KIND, pid, old, followup_due=date(2026, 11, 23),
                                         one_per_patient=True)  # fmt: skip
    session.records.append(record_id, old | {"followup_done_on": "2026-11-22"})
    draft = plans.load_plan(session, pid, audit_view=False).current
    assert draft is not None
    plans.record_declined_offer(session, pid, date(2026, 11, 26), "Not today", draft.version_id,
                                reoffer_on=date(2026, 12, 10))  # fmt: skip
    flat = " ".join(pdf_text(patient_pdf(session, pid, CLINICIAN_RECORD).data).split())
    assert "Discharged 20 November 2026 (time not recorded)" in flat and "Home to her flat" in flat
    assert "Followed up 00:00 on Sun 22 Nov 2026" in flat and "Kind of discharge Not recorded" in flat
    assert "Offer again by 10 December 2026" in flat
