"""Bad input: empty sections, a long plan, a 2,000-character entry, a missing logo or font, an
unknown variant, a person with no plan: a clear message, and the default used where there is one."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from export_helpers import SAMPLES, _content, add_sample, pdf_text
from pypdf import PdfReader

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.plan_content import PlanContent, SectionContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.errors import InvalidInput, NotFound
from perfectcare_desktop.export import branding as branding_mod
from perfectcare_desktop.export import fonts as fonts_mod
from perfectcare_desktop.export.service import PERSON_VARIANTS, Exporter, patient_pdf


def _pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def test_plan_with_empty_sections_prints_a_place_to_write(session: Session, nhs_numbers) -> None:  # noqa: ANN001
    layout = load_catalogue().latest()
    content = PlanContent.blank(layout, {})
    content.sections["coping_alone"] = SectionContent([{"text": "Only this one entry"}])
    sample = add_sample(session, "latin", nhs=next(nhs_numbers), content=content)
    for variant in PERSON_VARIANTS:
        flat = " ".join(pdf_text(patient_pdf(session, sample.patient_id, variant).data).split())
        assert "Only this one entry" in flat
        if variant != "wallet-card":
            assert "Not filled in yet" in flat


def test_long_plan_and_2000_character_entry_flow_over_pages(session: Session, nhs_numbers) -> None:  # noqa: ANN001
    layout = load_catalogue().latest()
    content = _content(SAMPLES["urdu"], layout)
    long_entry = ("I walk along the canal to the lock and back, counting the boats. " * 32)[:2000].strip()
    content.sections["distractions"] = SectionContent(
        [{"text": long_entry}] + [{"text": f"Place {n}"} for n in range(40)]
    )
    content.sections["using_plan"] = SectionContent([{"text": "ختم " + "لفظ " * 400}])
    sample = add_sample(session, "urdu", nhs=next(nhs_numbers), content=content)
    for variant in PERSON_VARIANTS:
        data = patient_pdf(session, sample.patient_id, variant).data
        flat = " ".join(pdf_text(data).split())
        if variant == "wallet-card":
            assert _pages(data) == 1
            continue
        assert _pages(data) >= 3, variant
        assert "counting the boats" in flat and "Place 39" in flat


def test_missing_logo_uses_the_default_with_a_clear_message(tmp_path: Path) -> None:
    settings = {"format": "perfectcare.branding/1", "trust_name": "X Trust", "logo": "our-logo.png",
                "colours": {"primary": "red"}}  # fmt: skip
    (tmp_path / "branding.json").write_text(json.dumps(settings))
    result = branding_mod.load_branding(tmp_path)
    assert any("our-logo.png" in p and "default logo" in p for p in result.problems)
    assert any("'primary'" in p for p in result.problems)
    assert result.logo is not None and result.trust_name == "X Trust"


def test_broken_branding_file_uses_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "branding.json").write_text("{not json")
    result = branding_mod.load_branding(tmp_path)
    assert result.problems and "default branding" in result.problems[0]
    assert result.logo is not None


def test_missing_fonts_fall_back_with_messages_naming_them(tmp_path: Path) -> None:
    fonts = fonts_mod.load_fonts([tmp_path])  # an empty folder: no TrueType font at all
    text = " ".join(fonts.problems)
    assert "DejaVuSans.ttf" in text and "NotoNaskhArabic-Regular.ttf" in text and "Symbola" in text
    assert fonts.body == "Helvetica" and not fonts.embedded


def test_missing_fonts_still_print(session: Session, samples, tmp_path: Path) -> None:  # noqa: ANN001
    exporter = Exporter(session, fonts=fonts_mod.load_fonts([tmp_path]))
    patient = session.patients.get(samples["latin"].patient_id, audit_view=False)
    pdf = exporter.render(patient, "standard")
    assert "Helvetica" in " ".join(pdf.warnings)
    assert "Put my headphones on" in pdf_text(pdf.data)


def test_unknown_variant_and_no_plan_are_refused(session: Session, samples, nhs_numbers) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput, match="Unknown PDF variant"):
        patient_pdf(session, samples["latin"].patient_id, "poster")
    from datetime import date

    from perfectcare_desktop.core.patients.details import PatientDetails

    pid = session.patients.add(PatientDetails("No", "Plan", date(1990, 1, 1), next(nhs_numbers)))
    with pytest.raises(NotFound, match="no safety plan yet"):
        patient_pdf(session, pid, "standard")
