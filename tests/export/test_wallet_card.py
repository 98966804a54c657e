"""The wallet card, read back from the PDF: nothing under 9 pt, what matters most to the person on the
cover, long entries shortened at a word with the rest left to the full plan, every crisis number (999
first) a tap-to-call or text link with its checked-on date, no name and nothing for clinicians."""

from __future__ import annotations

import io
import re
import time

from export_helpers import CLINICIAN_NOTE, DECLINED_REASON, SAMPLES, URDU_LINE, Sample, _content, add_sample, pdf_text
from pypdf import PdfReader

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_content import PlanContent, SectionContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.export.service import patient_pdf

WALLET = "wallet-card"
CANAL = ("I walk along the canal to the lock and back, counting the boats, and ring Sam on 07700 900123 when I get "
         "there. ") * 20  # fmt: skip
REASONS = ["Seeing my niece grow up", "My dog Bella, who needs her walks", "میری بیٹی اور اس کی مسکراہٹ"]
LOCAL = [{"key": f"local{n}", "name": f"Mersey Care crisis line {n}", "how": f"Call 0800 145 657{n} (free)",
          "phone": f"0800 145 657{n}", "when": "Any time"} for n in range(4)]  # fmt: skip


def font_sizes(data: bytes) -> set[float]:
    """Every size set with a Tf operator in the page's content stream ("/F1+0 9 Tf")."""
    page = PdfReader(io.BytesIO(data)).pages[0]
    return {float(s) for s in re.findall(r"/F[\d+]+ ([\d.]+) Tf", page.get_contents().get_data().decode("latin-1"))}


def link_uris(data: bytes) -> list[str]:
    page = PdfReader(io.BytesIO(data)).pages[0]
    return [str(a.get_object()["/A"]["/URI"]) for a in page.get("/Annots", [])]


def flat(text: str) -> str:
    return " ".join(text.split())  # line breaks and no-break spaces as single spaces


def card_for(session: Session, nhs: str, **sections: list[dict[str, str]]) -> bytes:
    content = _content(SAMPLES["latin"], load_catalogue().latest())
    for key, entries in sections.items():
        content.sections[key] = SectionContent(entries)
    pid = add_sample(session, "latin", nhs=nhs, content=content).patient_id
    return patient_pdf(session, pid, WALLET).data


def test_no_text_on_the_card_is_under_9_pt(session: Session, samples: dict[str, Sample], nhs_numbers) -> None:  # noqa: ANN001
    long = card_for(session, next(nhs_numbers), coping_alone=[{"text": CANAL}] * 6,
                    reasons_for_living=[{"text": t} for t in REASONS])  # fmt: skip
    for data in (*(patient_pdf(session, s.patient_id, WALLET).data for s in samples.values()), long):
        sizes = font_sizes(data)
        # The body, the dates, "fold", the instructions, the footer and the trust's name: none is shrunk.
        assert 9 in sizes and min(sizes) >= 9, sizes


def test_what_matters_most_is_on_the_cover(session: Session, nhs_numbers) -> None:  # noqa: ANN001
    data = card_for(session, next(nhs_numbers), reasons_for_living=[{"text": t} for t in REASONS])
    text = flat(pdf_text(data))
    assert "What matters most to me" in text
    for reason in REASONS[:2]:
        assert text.index(reason) < text.index("Help now"), "the reasons are on the cover, before the numbers"
    assert min(font_sizes(data)) >= 9


def test_declined_reasons_leave_the_cover_as_it_was(session: Session, samples: dict[str, Sample]) -> None:
    text = flat(pdf_text(patient_pdf(session, samples["latin"].patient_id, WALLET).data))
    assert "What matters most to me" not in text and DECLINED_REASON not in text
    assert "Keep this card with you" in text


def test_long_entries_are_shortened_at_a_word_and_the_rest_left_to_the_full_plan(
    session: Session,
    nhs_numbers,  # noqa: ANN001
) -> None:
    steps = [{"text": CANAL}, {"text": "x" * 4000}, {"text": "ختم " + "لفظ " * 400}, {"text": "🐶🎧💙" * 50}]
    steps += [{"text": f"Entry {n} walk the dog"} for n in range(200)]
    people = [{"name": f"Friend {n}", "relationship": "friend", "phone": f"07700 900{n:03d}",
               "notes": "Call after six in the evening, or text if it is late. " * 5} for n in range(30)]  # fmt: skip
    started = time.monotonic()
    data = card_for(session, next(nhs_numbers), coping_alone=steps, people_to_ask=people,
                    reasons_for_living=[{"text": f"Reason {n}"} for n in range(200)])  # fmt: skip
    assert time.monotonic() - started < 30
    assert len(PdfReader(io.BytesIO(data)).pages) == 1
    text = flat(pdf_text(data))
    assert "…see your full plan" in text and "…more in your full plan" in text
    # The canal entry: its start, up to a whole word, then the note. Never a word cut in two.
    shown = text[text.index("I walk along") : text.index("…see your full plan")].strip()
    original = flat(CANAL)
    assert len(shown) > 20 and original.startswith(shown) and original[len(shown)] == " ", shown
    assert "xxxxx" not in text  # one 4,000-letter word: no piece of it, only the note
    assert "Friend 0 (friend)" in text and "tel:07700900000" in link_uris(data)
    assert "Reason 0" in text and "Reason 199" not in text
    assert min(font_sizes(data)) >= 9


def test_crisis_numbers_999_first_each_a_link_with_the_checked_on_date(
    session: Session, samples: dict[str, Sample]
) -> None:
    data = patient_pdf(session, samples["latin"].patient_id, WALLET).data
    text = flat(pdf_text(data))
    assert text.index("Emergency services: Call 999") < text.index("NHS 111") < text.index("Samaritans")
    assert "Numbers checked on 1 November 2026" in text
    uris = link_uris(data)
    for uri in ("tel:999", "tel:111", "tel:116123", "sms:85258?&body=SHOUT", "tel:07700900123", "tel:01134960123"):
        assert uri in uris, (uri, uris)
    assert uris.index("tel:999") < uris.index("tel:111")
    # With room to spare, the numbers are set larger than the minimum.
    sizes: list[tuple[str, float]] = []
    PdfReader(io.BytesIO(data)).pages[0].extract_text(visitor_text=lambda t, cm, tm, f, size: sizes.append((t, size)))
    assert min(size for text, size in sizes if "Call 999" in text) >= 11
    assert "Joanne" not in text and "Bloggs" not in text  # no name on a card that may be lost


def test_a_nations_and_a_trusts_numbers_are_all_on_the_card(session: Session, nhs_numbers) -> None:  # noqa: ANN001
    directory = load_directory(nation="wales", local_entries=LOCAL)
    pid = add_sample(session, "welsh", nhs=next(nhs_numbers)).patient_id
    data = patient_pdf(session, pid, WALLET, directory=directory).data
    text = flat(pdf_text(data))
    for contact in directory.contacts:
        assert flat(contact.how) in text, contact.name
    uris = link_uris(data)
    assert "tel:0800132737" in uris and "sms:81066?&body=HELP" in uris and "tel:08001456573" in uris
    assert "checked on" in text and min(font_sizes(data)) >= 9
    assert "Dw i'n teimlo'n unig" not in text  # warning signs are not on the card; coping steps are
    assert "Mynd am dro gyda'r ci ar hyd y traeth" in text


def test_no_name_nothing_for_clinicians_and_a_draft_is_marked(session: Session, nhs_numbers) -> None:  # noqa: ANN001
    layout = load_catalogue().latest()
    content: PlanContent = _content(SAMPLES["urdu"], layout)
    content.sections["coping_alone"] = SectionContent([{"text": URDU_LINE}, {"text": "Walk to the mosque"}])
    pid = add_sample(session, "urdu", nhs=next(nhs_numbers), content=content, sign=False).patient_id
    text = flat(pdf_text(patient_pdf(session, pid, WALLET).data))
    assert "Draft — not yet agreed" in text
    for secret in ("عائشہ", "خان", CLINICIAN_NOTE, DECLINED_REASON, "Tablets at home", "NHS number"):
        assert secret not in text
    assert "My partner keeps them locked away" not in text  # means steps are on the A4 copies, not the card
