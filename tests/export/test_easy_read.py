"""The easy-read copy (issue 14, item 4), read back from the PDF: short plain headings from the layout,
one idea a line in the person's own words, a picture beside each point and each crisis number, the
crisis box on page 1 (999 first) even with many local numbers, nothing under 16 pt, numbers never
broken, empty sections kept whole, and any plan laid out (never refused, never hanging)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace
from datetime import date

import pytest
from export_helpers import CLINICIAN_NOTE, DECLINED_REASON, URDU_LINE, Sample, pdf_text
from pypdf import PdfReader

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.crisis_directory import CrisisContact, CrisisDirectory, load_directory
from perfectcare_desktop.core.clinical.plan_content import PlanContent, SectionContent, person_view
from perfectcare_desktop.core.clinical.plan_layout import PlanLayout, load_catalogue
from perfectcare_desktop.core.demo.demo_data import add_demo_data
from perfectcare_desktop.errors import NotFound
from perfectcare_desktop.export.branding import load_branding
from perfectcare_desktop.export.copies import render_copy
from perfectcare_desktop.export.easy_read import ICON_COL, sentences
from perfectcare_desktop.export.fonts import load_fonts
from perfectcare_desktop.export.pages import MARGIN, PAGE_W
from perfectcare_desktop.export.person import EMPTY_SECTION, PersonCopy
from perfectcare_desktop.export.service import patient_pdf
from perfectcare_desktop.export.variants import EASY_READ

LAYOUT = load_catalogue().latest()
LONG_ENTRY = (
    "I stop eating. I don't want to see anyone, not even my sister! Then the bad times go round and round in "
    "my head until I can't think straight."
)


def make_copy(entries: dict[str, list[dict[str, str]]], *, layout: PlanLayout = LAYOUT,
              directory: CrisisDirectory | None = None) -> PersonCopy:  # fmt: skip
    directory = directory or load_directory()
    content = PlanContent.blank(layout, directory.ref)
    for key, items in entries.items():
        content.sections[key] = SectionContent(items)
    return PersonCopy(layout, tuple(person_view(layout, content)), directory, "Jo", date(2026, 11, 20),
                      date(2027, 2, 20), False, "Test NHS Trust", date(2026, 12, 3))  # fmt: skip


def easy_read(copy: PersonCopy) -> bytes:
    return render_copy(copy, EASY_READ, load_fonts(), load_branding())


FULL = {
    "warning_signs": [{"text": "I stop answering messages and stay in bed 😔"}, {"text": LONG_ENTRY}],
    "coping_alone": [{"text": "Put my headphones on and walk to the park"}, {"text": URDU_LINE}],
    "people_to_ask": [{"name": "Sam", "relationship": "sister", "phone": "07700 900123"}],
    "professionals": [{"name": "Crisis team", "phone": "0800 132 737", "notes": "Any time. Ask for the duty nurse."}],
    "making_safer": [{"method": "Tablets at home", "access": "In the kitchen drawer",
                      "steps": "My partner keeps them locked away", "helper": "Chris"}],
}  # fmt: skip


@dataclass(frozen=True)
class Line:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Page:
    lines: list[Line]  # each text run drawn, with where it starts
    points: list[tuple[float, float]]  # every point of every path drawn (the pictures, rules, boxes)
    sizes: set[float]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def line(self, fragment: str) -> Line:
        found = [line for line in self.lines if fragment in line.text]
        assert found, f"{fragment!r} is not on the page"
        return found[0]

    def picture_beside(self, line: Line, *, right: bool = False) -> bool:
        """A drawing in the picture column (left, or right for right-to-left text) level with the line."""
        left_col = (MARGIN - 1, MARGIN + ICON_COL + 12)
        right_col = (PAGE_W - MARGIN - ICON_COL - 12, PAGE_W - MARGIN + 1)
        lo, hi = right_col if right else left_col
        return any(lo <= x <= hi and line.y - 24 <= y <= line.y + 30 for x, y in self.points)


def read_pages(data: bytes) -> list[Page]:
    pages = []
    for page in PdfReader(io.BytesIO(data)).pages:
        lines: list[Line] = []
        points: list[tuple[float, float]] = []

        def before(op: bytes, args: list, cm: list, tm: list) -> None:
            if op in (b"m", b"l", b"c", b"re") and len(args) >= 2:
                x, y = float(args[0]), float(args[1])
                points.append((cm[0] * x + cm[2] * y + cm[4], cm[1] * x + cm[3] * y + cm[5]))  # noqa: B023

        def text(t: str, cm: list, tm: list, font: object, size: float) -> None:
            if t.strip():
                x, y = tm[4] * cm[0] + tm[5] * cm[2] + cm[4], tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                lines.append(Line(x, y, t.strip()))  # noqa: B023

        page.extract_text(visitor_operand_before=before, visitor_text=text)
        stream = page.get_contents().get_data().decode("latin-1")
        sizes = {float(s) for s in re.findall(r"/F[\d+]+ ([\d.]+) Tf", stream)}
        pages.append(Page(lines, points, sizes))
    return pages


def test_short_plain_headings_from_the_layout_and_a_plain_introduction() -> None:
    text = " ".join(pdf_text(easy_read(make_copy(FULL))).split())
    for section in LAYOUT.sections:
        assert section.easy_read in text
    for hard in ("When to use this plan: my warning signs", "Making my situation safer", "If you are in crisis"):
        assert hard not in text
    assert "This is my safety plan. I made it with my care team." in text


def test_a_trust_layout_without_easy_read_headings_prints_its_titles() -> None:
    layout = replace(LAYOUT, sections=tuple(replace(s, easy_read="") for s in LAYOUT.sections))
    text = " ".join(pdf_text(easy_read(make_copy(FULL, layout=layout))).split())
    assert "When to use this plan: my warning signs" in text and "Signs I am not OK" not in text


def test_one_idea_a_line_in_the_persons_own_words() -> None:
    pages = read_pages(easy_read(make_copy(FULL)))
    lines = [line.text for page in pages for line in page.lines]
    # A long entry: a line per sentence, every word as written; nothing cut.
    for sentence in ("I stop eating.", "I don't want to see anyone, not even my sister!"):
        assert sentence in lines
    words = " ".join(lines).split()
    for word in LONG_ENTRY.split():
        assert word in words
    # A contact's name, number and notes each on a line; the agreed step and who helps too.
    for line in ("Sam (sister)", "07700 900123", "Crisis team", "0800 132 737", "Any time.", "Ask for the duty nurse.",
                 "My partner keeps them locked away", "Who will help: Chris"):  # fmt: skip
        assert line in lines, line


def test_sentences_split_only_at_sentence_ends_and_keep_every_word() -> None:
    assert sentences("I stop eating. I stay in bed!  Then I cry?") == [
        "I stop eating.",
        "I stay in bed!",
        "Then I cry?",
    ]
    assert sentences("See Dr. Jones or Mrs. Khan, e.g. Tesco. Then home") == [
        "See Dr. Jones or Mrs. Khan, e.g. Tesco.",
        "Then home",
    ]
    assert sentences("walk the dog. then tea") == ["walk the dog. then tea"]  # unsure: left whole
    assert sentences("One\nTwo ") == ["One", "Two"]
    urdu = "میں چائے پیوں گی۔ میں امی کو فون کروں گی"
    assert sentences(urdu) == ["میں چائے پیوں گی۔", "میں امی کو فون کروں گی"]
    for text in (LONG_ENTRY, urdu, "x" * 4000, "Ring 07700 900123. Or 0800 132 737."):
        assert " ".join(sentences(text)).split() == text.split()


def test_a_picture_beside_each_point_and_each_crisis_number() -> None:
    pages = read_pages(easy_read(make_copy(FULL)))
    first = pages[0]
    for number in ("Call 999", "Call 111 and choose option 2", "Call 116 123 (free)", "Text SHOUT to 85258 (free)"):
        assert first.picture_beside(first.line(number)), number
    points = ("Put my headphones on and walk to the park", "I stop eating.", "Sam (sister)", "Crisis team",
              "My partner keeps them locked away", "This is my safety plan.")  # fmt: skip
    beside = {line.text: page.picture_beside(line) for page in pages for line in page.lines if line.text in points}
    assert beside == dict.fromkeys(points, True)
    # Right-to-left: the picture on the right, where the line starts.
    urdu = [(page, line) for page in pages for line in page.lines if any(0xFB50 <= ord(c) <= 0xFEFF for c in line.text)]
    assert urdu and all(page.picture_beside(line, right=True) for page, line in urdu)
    assert not any(page.picture_beside(line) for page, line in urdu)


def test_nothing_under_16_pt_on_any_page() -> None:
    for page in read_pages(easy_read(make_copy(FULL))):
        assert page.sizes and min(page.sizes) >= 16, page.sizes


def local_numbers(count: int) -> tuple[CrisisContact, ...]:
    """Trust-local crisis lines from policy, each name long enough to take two lines of the box."""
    return tuple(
        CrisisContact(f"local{n}", f"Mersey and Cheshire crisis line {n} (adults)", f"Call 0800 145 65{n:02d}",
                      f"0800 145 65{n:02d}", "24 hours a day, 7 days a week", local=True)
        for n in range(count)
    )  # fmt: skip


def test_the_crisis_box_stays_on_page_one_with_many_local_numbers() -> None:
    national = load_directory()
    # 999 last in the directory: the box still puts it first.
    directory = replace(national, contacts=(*national.contacts[1:], *local_numbers(8), national.contacts[0]))
    pages = read_pages(easy_read(make_copy(FULL, directory=directory)))
    flat = " ".join(pages[0].text.split())
    assert "If you need help now" in flat
    for contact in directory.contacts:
        assert contact.how in flat, contact.how
        assert all(contact.how not in page.text for page in pages[1:])
    assert flat.index("Call 999") < flat.index("Call 111") < flat.index("Call 0800 145 6507")
    assert "checked on 1 November 2026" in flat
    assert pages[0].picture_beside(pages[0].line("Call 0800 145 6507"))


def test_a_box_of_more_numbers_than_a_page_holds_is_split_after_999_never_refused() -> None:
    national = load_directory()
    directory = replace(national, contacts=(*national.contacts, *local_numbers(40)))
    pages = read_pages(easy_read(make_copy(FULL, directory=directory)))
    assert "Call 999" in pages[0].text and "If you need help now" in pages[0].text
    text = " ".join(" ".join(page.text for page in pages).split())
    assert all(contact.how in text for contact in directory.contacts)


def test_phone_numbers_never_break_across_lines() -> None:
    # The number falls at every point of the line in turn; it is always drawn whole on one line.
    entries = [{"text": "Ring " + "my friend " * n + "on 07700 900123 or the line on 0800 132 737 any time"}
               for n in range(12)]  # fmt: skip
    lines = [line.text for page in read_pages(easy_read(make_copy({"coping_alone": entries}))) for line in page.lines]
    text = "\n".join(lines)
    assert text.count("07700\u00a0900123") + text.count("07700 900123") >= 12
    assert text.count("0800\u00a0132\u00a0737") + text.count("0800 132 737") >= 12
    for line in lines:
        assert not re.search(r"(07700|0800( 132)?)$", line), line


def test_an_empty_section_keeps_its_heading_note_and_lines_together() -> None:
    pages = read_pages(easy_read(make_copy({})))
    headings = [s.easy_read for s in LAYOUT.sections]
    found = 0
    for page in pages:
        body = [line.text for line in page.lines if "checked on" not in line.text and not line.text.startswith("Page")]
        body = [t for t in body if t != "Test NHS Trust"]
        assert body, "a page with nothing to read on it"
        assert body[-1] not in headings, "a heading alone at the foot of a page"
        for n, text in enumerate(body):
            if text == EMPTY_SECTION:
                found += 1
                assert n and body[n - 1] in headings
    assert found == len(LAYOUT.sections)


def test_any_plan_is_laid_out() -> None:
    entries = {
        "warning_signs": [{"text": f"Sign number {n}. It is mine 🙂"} for n in range(200)],
        "coping_alone": [{"text": "x" * 4000}],
        "distractions": [{"text": " ".join([URDU_LINE] * 40)}, {"text": "🎧🐕🌧️" * 50}],
        "people_to_ask": [{"name": "فاطمہ", "relationship": "بہن", "phone": "07700 900345"}],
    }
    data = easy_read(make_copy(entries))
    text = pdf_text(data)
    assert "Sign number 199." in text and "Call 999" in read_pages(data)[0].text


def test_nothing_meant_for_clinicians(session: Session, samples: dict[str, Sample]) -> None:
    text = pdf_text(patient_pdf(session, samples["latin"].patient_id, EASY_READ).data)
    for hidden in (CLINICIAN_NOTE, DECLINED_REASON, "Tablets at home", "Method discussed", "Access"):
        assert hidden not in text
    assert "My partner keeps them locked away" in text


@pytest.mark.parametrize("key", ["latin", "welsh", "urdu"])
def test_every_sample_has_its_entries_and_the_numbers_on_page_one(
    session: Session, samples: dict[str, Sample], key: str
) -> None:
    data = patient_pdf(session, samples[key].patient_id, EASY_READ).data
    first = read_pages(data)[0]
    assert "Call 999" in first.text and "116 123" in first.text
    if key != "urdu":  # Urdu comes back in visual order; the right-to-left tests read it
        text = pdf_text(data)
        for entry in samples[key].entries:
            for word in entry.split():
                if word.isascii():
                    assert word in text


def test_every_easy_read_copy_of_the_demo_data_is_made(session: Session) -> None:
    """`demo-data --patients 40 --seed 7`: the easy-read copies that hung, then were refused, are made."""
    add_demo_data(session, 40, seed=7)
    made = 0
    for p in session.patients.all():
        try:
            data = patient_pdf(session, p.record_id, EASY_READ, action="view").data
        except NotFound:
            continue  # an offer declined: nothing to print
        assert data.startswith(b"%PDF")
        made += 1
    assert made >= 35
