"""The phone copy, read back from the PDF: phone-shaped pages in large type (nothing under its minimum,
the header, the footer and a draft's mark included), the crisis numbers opening page 1 with 999 first,
every number a tel: link and Shout an sms: link, nothing running off the page, no name, and any plan
made in seconds."""

from __future__ import annotations

import dataclasses
import io
import re
import time
from itertools import pairwise

from export_helpers import CLINICIAN_NOTE, DECLINED_REASON, SAMPLES, Sample, _content, add_sample, pdf_text
from pypdf import PageObject, PdfReader
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.crisis_directory import CrisisContact, load_directory
from perfectcare_desktop.core.clinical.plan_content import SectionContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.export.fonts import load_fonts
from perfectcare_desktop.export.service import patient_pdf

PHONE = "phone"
PAGE_W, MIN_PAGE_H = 90 * mm, 180 * mm
# A viewer fits the page's width to a phone screen about 65 mm wide: type is seen at 65/90 of its size.
# Large print on paper: body 16 pt, nothing under 14 pt. Seen on the phone, at least as large:
BODY = 16 * 90 / 65  # 22.2 pt on the page
SMALLEST = 14 * 90 / 65  # 19.4 pt on the page
EDGE = 2 * mm  # no text closer than this to the page's left or right edge
LOCAL = [{"key": f"local{n}", "name": f"Mersey Care crisis line {n}", "how": f"Call 0800 145 657{n} (free)",
          "phone": f"0800 145 657{n}", "when": "Any time"} for n in range(4)]  # fmt: skip


def pages_of(data: bytes) -> list[PageObject]:
    return list(PdfReader(io.BytesIO(data)).pages)


def font_sizes(page: PageObject) -> set[float]:
    """Every size set with a Tf operator in the page's content stream ("/F1+0 22.5 Tf")."""
    return {float(s) for s in re.findall(r"/F[\d+]+ ([\d.]+) Tf", page.get_contents().get_data().decode("latin-1"))}


def text_sizes(page: PageObject) -> list[tuple[str, float]]:
    """Each piece of text with the size it is drawn at."""
    out: list[tuple[str, float]] = []
    page.extract_text(visitor_text=lambda text, cm, tm, font, size: out.append((text.strip(), size)))
    return out


def link_uris(page: PageObject) -> list[str]:
    return [str(a.get_object()["/A"]["/URI"]) for a in page.get("/Annots", [])]


def flat(text: str) -> str:
    return " ".join(text.split())


def phone_copy(session: Session, nhs: str, key: str = "latin", **sections: list[dict[str, str]]) -> bytes:
    content = _content(SAMPLES[key], load_catalogue().latest())
    for name, entries in sections.items():
        content.sections[name] = SectionContent(entries)
    return patient_pdf(session, add_sample(session, key, nhs=nhs, content=content).patient_id, PHONE).data


def test_large_type_on_phone_shaped_pages(session: Session, samples: dict[str, Sample]) -> None:
    for sample in samples.values():
        pages = pages_of(patient_pdf(session, sample.patient_id, PHONE).data)
        assert len(pages) > 1
        for page in pages:
            assert round(float(page.mediabox.width), 1) == round(PAGE_W, 1)
            assert float(page.mediabox.height) >= MIN_PAGE_H - 0.1
            sizes = font_sizes(page)
            # Everything: the header, the footer, "checked on", the notes.
            assert min(sizes) >= SMALLEST, (sample.key, sizes)
        # The person's words: "Put my headphones on ...", "Mynd am dro ...", "Walk to the mosque ...".
        entry = SAMPLES[sample.key]["coping_alone"][1].split()[0]
        assert max(size for page in pages for text, size in text_sizes(page) if text.startswith(entry)) >= BODY


def test_crisis_numbers_open_page_1_with_999_first_each_a_link(session: Session, samples: dict[str, Sample]) -> None:
    first = pages_of(patient_pdf(session, samples["latin"].patient_id, PHONE).data)[0]
    text = flat(first.extract_text())
    # Only the header's "My safety plan" comes before the numbers.
    assert text.index("Help now") < text.index("Emergency services") < text.index("Call 999")
    assert text.index("Call 999") < text.index("Call 111") < text.index("Call 116 123") < text.index("85258")
    assert text.index("Help now") < 20 and "checked on 1 November 2026" in text
    # A link wrapped onto two lines is two annotations with the same URI.
    assert list(dict.fromkeys(link_uris(first)))[:4] == ["tel:999", "tel:111", "tel:116123", "sms:85258?&body=SHOUT"]


def test_a_nations_and_a_trusts_numbers_are_all_on_page_1(session: Session, nhs_numbers) -> None:  # noqa: ANN001
    directory = load_directory(nation="wales", local_entries=LOCAL)
    pid = add_sample(session, "welsh", nhs=next(nhs_numbers)).patient_id
    pages = pages_of(patient_pdf(session, pid, PHONE, directory=directory).data)
    text = flat(pages[0].extract_text())
    for contact in directory.contacts:
        assert flat(contact.how) in text, contact.name
    assert "checked on" in text
    uris = link_uris(pages[0])
    assert uris[0] == "tel:999" and "sms:81066?&body=HELP" in uris and "tel:08001456573" in uris
    assert all(min(font_sizes(p)) >= SMALLEST for p in pages)


def test_every_number_is_a_link_and_no_text_runs_off_the_page(session: Session, samples: dict[str, Sample]) -> None:
    data = patient_pdf(session, samples["latin"].patient_id, PHONE).data
    pages = pages_of(data)
    uris = {uri for p in pages for uri in link_uris(p)}
    assert {"tel:999", "tel:111", "tel:116123", "sms:85258?&body=SHOUT", "tel:07700900123", "tel:01134960123"} <= uris
    fonts = load_fonts()
    runs: list[tuple[str, float, float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: dict | None, size: float) -> None:
        name = str((font or {}).get("/BaseFont", ""))
        if text.strip() and "DejaVuSans" in name:  # Latin text, measured in the font it is drawn in
            face = fonts.bold if "Bold" in name else fonts.body
            runs.append((text.strip(), cm[4] + tm[4], cm[5] + tm[5], stringWidth(text.strip(), face, size)))

    for n, page in enumerate(pages, start=1):
        runs.clear()
        page.extract_text(visitor_text=visit)
        for text, x, _, width in runs:  # the header's name, the footer, the body: all inside the page
            assert x >= EDGE and x + width <= PAGE_W - EDGE, (n, text, x, width)
        footer = sorted((x, x + width, y) for _, x, y, width in runs if y < 20 * mm)
        for (_, end, y), (start, _, y2) in pairwise(footer):  # nothing drawn over "Page n of m"
            assert abs(y - y2) > 1 or end <= start, (n, footer)
        assert f"Page {n} of {len(pages)}" in flat(page.extract_text())


def test_no_name_and_nothing_for_clinicians(session: Session, samples: dict[str, Sample]) -> None:
    text = flat(pdf_text(patient_pdf(session, samples["latin"].patient_id, PHONE).data))
    for secret in ("Joanne", "Bloggs", "Name:", CLINICIAN_NOTE, DECLINED_REASON, "Tablets at home", "NHS number"):
        assert secret not in text
    assert "My partner keeps them locked away" in text  # the agreed step, as on every person's copy
    assert "Mersey Care" in text or "NHS" in text  # the trust, under the numbers


def test_any_plan_is_made_in_seconds_in_large_type(session: Session, nhs_numbers) -> None:  # noqa: ANN001
    steps = [{"text": "x" * 4000}, {"text": "ختم " + "لفظ " * 400}, {"text": "🐶🎧💙 " * 50}]
    steps += [{"text": f"Entry {n} walk the dog"} for n in range(200)]
    started = time.monotonic()
    data = phone_copy(session, next(nhs_numbers), "urdu", coping_alone=steps)
    assert time.monotonic() - started < 30
    pages = pages_of(data)
    text = flat(pdf_text(data))
    assert "Entry 0 walk the dog" in text and "Entry 199 walk the dog" in text
    assert all(min(font_sizes(p)) >= SMALLEST for p in pages)


def test_a_draft_is_marked_with_nothing_under_the_minimum(session: Session, nhs_numbers) -> None:  # noqa: ANN001
    pid = add_sample(session, "latin", nhs=next(nhs_numbers), sign=False).patient_id
    data = patient_pdf(session, pid, PHONE).data
    assert "Draft — not yet agreed" in flat(pdf_text(data))
    for page in pages_of(data):
        assert min(font_sizes(page)) >= SMALLEST  # the diagonal mark too


def test_a_directory_longer_than_any_page_runs_on_to_page_2(session: Session, samples: dict[str, Sample]) -> None:
    national = load_directory()
    extra = tuple(CrisisContact(f"l{n}", f"Local line {n}", f"Call 0800 000 {n:04d}", f"0800 000 {n:04d}", "Any time",
                                local=True) for n in range(150))  # fmt: skip
    directory = dataclasses.replace(national, contacts=(*national.contacts, *extra))
    pages = pages_of(patient_pdf(session, samples["latin"].patient_id, PHONE, directory=directory).data)
    assert float(pages[0].mediabox.height) <= 14_400  # 200 inches, the largest page viewers open
    assert link_uris(pages[0])[0] == "tel:999"
    assert "tel:08000000149" in {uri for p in pages for uri in link_uris(p)}
