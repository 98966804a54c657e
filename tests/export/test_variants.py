"""Every variant of the PDF, read back with pypdf: the person's words, the crisis numbers and the
checked-on date are there; what is meant only for clinicians is not; fonts are embedded; A4."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from export_helpers import CLINICIAN_NOTE, DECLINED_REASON, Sample, add_sample, pdf_text, render_png
from pypdf import PdfReader
from stratification import rates_risk

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.storage.audit import read as read_audit
from perfectcare_desktop.export.person import LARGE_PRINT
from perfectcare_desktop.export.service import CLINICIAN_RECORD, PERSON_VARIANTS, patient_pdf, variant_for

A4_POINTS = (595.28, 841.89)
CHECKED = "1 November 2026"  # resources/crisis_contacts/national.json checked_on, as printed


def embedded_fonts(data: bytes) -> tuple[set[str], set[str]]:
    """(fonts with a /FontFile2 stream, fonts without any embedded file) over every page."""
    embedded, bare = set(), set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            desc = (descendants[0].get_object() if descendants else font).get("/FontDescriptor")
            name = str(font["/BaseFont"])
            if desc is not None and "/FontFile2" in desc.get_object():
                embedded.add(name)
            else:
                bare.add(name)
    return embedded, bare


def assert_a4(data: bytes) -> None:
    for page in PdfReader(io.BytesIO(data)).pages:
        box = page.mediabox
        assert (round(float(box.width), 2), round(float(box.height), 2)) == A4_POINTS


@pytest.mark.parametrize("variant", PERSON_VARIANTS)
def test_person_copy_has_their_words_and_current_crisis_numbers_and_nothing_for_clinicians(
    session: Session, samples: dict[str, Sample], variant: str
) -> None:
    sample = samples["latin"]
    pdf = patient_pdf(session, sample.patient_id, variant)
    text = pdf_text(pdf.data)
    flat = " ".join(text.split())
    # Their own words: the wallet card carries the first coping steps; the A4 copies everything.
    wanted = sample.entries if variant != "wallet-card" else ("Put my headphones on and walk to the park",)
    for entry in wanted:
        assert entry.split(" 😔")[0].split(" 🎧")[0] in flat, entry
    for number in ("999", "116 123", "85258", "111"):
        assert number in flat
    assert f"checked on {CHECKED}" in flat
    assert "Sam (sister)" in flat and "07700 900123" in flat
    for secret in (CLINICIAN_NOTE, DECLINED_REASON, "SECRET-REASON", "CLINICIAN-ONLY", "NHS number"):
        assert secret not in flat
    assert "Confidential" not in flat and "CONFIDENTIAL" not in flat
    if variant != "wallet-card":
        assert "Agreed on 20 November 2026" in flat and "20 February 2027" in flat
    embedded, bare = embedded_fonts(pdf.data)
    assert embedded and not bare, bare
    if variant != "phone":  # a phone-shaped page: tests/export/test_phone_copy.py
        assert_a4(pdf.data)
    assert pdf.warnings == ()


def test_no_risk_rating_on_any_copy(session: Session, samples: dict[str, Sample]) -> None:
    """Rule 1: no score, no low/medium/high, no RAG, on any variant (the shared guard's definition)."""
    for key in ("latin", "urdu"):
        for variant in (*PERSON_VARIANTS, CLINICIAN_RECORD):
            for line in pdf_text(patient_pdf(session, samples[key].patient_id, variant).data).splitlines():
                assert not rates_risk(line), (variant, line)


def test_clinician_record_is_confidential_and_complete(session: Session, samples: dict[str, Sample]) -> None:
    pid = samples["latin"].patient_id
    pdf = patient_pdf(session, pid, CLINICIAN_RECORD)
    flat = " ".join(pdf_text(pdf.data).split())
    assert "CONFIDENTIAL" in flat
    assert "Joanne Bloggs" in flat and "4 May 1980" in flat
    nhs = session.patients.get(pid, audit_view=False).details.nhs_number_formatted
    assert nhs in flat
    for text in ("FORMULATION-TEXT", "JUDGEMENT-TEXT", "ADDENDUM-TEXT", CLINICIAN_NOTE, DECLINED_REASON):
        assert text in flat, text
    assert "Signed by admin1" in flat
    embedded, bare = embedded_fonts(pdf.data)
    assert embedded and not bare


def test_entered_in_error_version_is_marked_on_the_clinician_record(
    session: Session, samples: dict[str, Sample]
) -> None:
    from perfectcare_desktop.core.clinical.plans import load_plan

    pid = samples["welsh"].patient_id
    first = load_plan(session, pid, audit_view=False).history[0].version_id
    session.records.mark_entered_in_error(first, "Wrong patient's plan typed here")
    flat = " ".join(pdf_text(patient_pdf(session, pid, CLINICIAN_RECORD).data).split())
    assert "Entered in error" in flat and "Wrong patient's plan typed here" in flat


def test_draft_is_marked_and_has_no_agreed_date(session: Session, nhs_numbers) -> None:  # noqa: ANN001
    sample = add_sample(session, "latin", nhs=next(nhs_numbers), sign=False)
    flat = " ".join(pdf_text(patient_pdf(session, sample.patient_id, "standard").data).split())
    assert "Draft — not yet agreed" in flat
    assert "Agreed on" not in flat


def test_variant_from_accessible_information_needs(session: Session, nhs_numbers) -> None:  # noqa: ANN001
    sample = add_sample(session, "welsh", nhs=next(nhs_numbers), needs=("large print",))
    patient = session.patients.get(sample.patient_id, audit_view=False)
    assert variant_for(patient.details) == LARGE_PRINT
    pdf = patient_pdf(session, sample.patient_id, "auto")
    assert pdf.variant == LARGE_PRINT
    # Large print: the body text at 16 pt, and nothing on any page under 14 pt, the header's name, the
    # footer and the "checked on" line included (reportlab writes "/F1 16 Tf"-style operators).
    for page in PdfReader(io.BytesIO(pdf.data)).pages:
        sizes = {
            float(size)
            for size in re.findall(r"/F[\d+]+ ([\d.]+) Tf", page.get_contents().get_data().decode("latin-1"))
        }
        assert 16 in sizes and min(sizes) >= 14, sizes


def test_every_print_is_audited_with_the_variant_never_the_content(
    session: Session, samples: dict[str, Sample]
) -> None:
    pid = samples["latin"].patient_id
    patient_pdf(session, pid, "easy-read", action="print")
    with session.store.reading() as conn:
        entries = read_audit(conn, session.require_unlocked(), patient_id=pid, action="print")
    assert entries and entries[-1].detail == "pdf easy-read"


def test_current_directory_is_printed_even_if_the_plan_used_an_older_one(session: Session, nhs_numbers) -> None:  # noqa: ANN001
    from export_helpers import SAMPLES, _content

    from perfectcare_desktop.core.clinical.plan_content import PlanContent
    from perfectcare_desktop.core.clinical.plan_layout import load_catalogue

    content: PlanContent = _content(SAMPLES["latin"], load_catalogue().latest())
    content.directory = {"id": "uk-national", "version": "2020-01-01", "checked_on": "2020-01-01"}
    sample = add_sample(session, "latin", nhs=next(nhs_numbers), content=content)
    flat = " ".join(pdf_text(patient_pdf(session, sample.patient_id, "standard").data).split())
    assert CHECKED in flat and "2020" not in flat
    assert load_directory().checked_on.isoformat() == "2026-11-01"


def test_every_variant_renders_with_pdftoppm(session: Session, samples: dict[str, Sample], tmp_path: Path) -> None:
    for key in ("latin", "welsh", "urdu"):
        for variant in (*PERSON_VARIANTS, CLINICIAN_RECORD):
            data = patient_pdf(session, samples[key].patient_id, variant).data
            pngs = render_png(data, tmp_path / f"{key}-{variant}", dpi=30)
            assert pngs, (key, variant)
