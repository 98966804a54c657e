"""The person's copy of their safety plan: standard A4, large print, easy read (export/easy_read.py).

Built only from a `PersonCopy`, whose sections come from `core.plan_content.person_view` (the one
place that decides what the person sees), so nothing meant only for clinicians can reach it: no
clinician notes, no reasons a section was declined, no NHS number, never the method or the means.

- standard: A4, body 12 pt, nothing under 10 pt; numbered headings, the person's entries as a list.
- large print: the same at body 16 pt (headings 20 pt), nothing under 14 pt.
- easy read: see easy_read.py.

Every copy opens with the crisis numbers on page 1, right under the plan's name and dates, 999 first,
each a tap-to-call link, with the directory's "checked on" date: the one thing that must be found in
the worst moment is never on page 2. Then the plan in the layout's order. An empty section keeps its
heading, its "write here" note and its lines together, so no page holds only lines or a stray heading.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer

from ..core.clinical.crisis_directory import CrisisContact, CrisisDirectory
from ..core.clinical.plan_content import PersonSection
from ..core.clinical.plan_layout import PlanLayout
from ..core.clinical.wording import long_date
from .bidi import paragraph
from .branding import Branding
from .fonts import FontSet
from .links import NBSP, contact_uri, link, unbroken
from .pages import Boxed, PageDecor, Styles, WriteLines, body_width, build_pdf, in_section, make_styles
from .variants import EASY_READ, LARGE_PRINT, STANDARD

BODY_SIZES = {STANDARD: 12.0, LARGE_PRINT: 16.0, EASY_READ: 16.0}
MIN_SIZES = {STANDARD: 10.0, LARGE_PRINT: 14.0, EASY_READ: 16.0}  # no type on the page is smaller
EMERGENCY = "999"
WHOLE_ACTION = 32  # characters: an action this short fits one line of every A4 copy's crisis box
CRISIS_HEADING = "If you are in crisis now"
DRAFT_MARK = "Draft — not yet agreed"
EMPTY_SECTION = "Not filled in yet. You can write here:"


@dataclass(frozen=True)
class PersonCopy:
    """Everything the person's copy may show, already decided. Plain data: no store, no session."""

    layout: PlanLayout
    sections: tuple[PersonSection, ...]  # person_view(layout, content)
    directory: CrisisDirectory  # the current crisis contacts (not the version the plan was written with)
    name: str  # the name the person goes by, printed on the A4 copies; "" leaves it out
    agreed_on: date | None
    review_due: date | None
    draft: bool  # no agreed plan in use: the current draft is printed, marked as such
    trust_name: str
    printed_on: date

    def section(self, key: str) -> PersonSection | None:
        return next((s for s in self.sections if s.key == key), None)

    def dates_line(self) -> str:
        if self.draft:
            return f"{DRAFT_MARK}. Printed on {long_date(self.printed_on)}."
        parts = []
        if self.agreed_on:
            parts.append(f"Agreed on {long_date(self.agreed_on)}")
        if self.review_due:
            parts.append(f"to be looked at again by {long_date(self.review_due)}")
        return (", ".join(parts) + ".") if parts else ""

    def footer(self) -> str:
        return (
            f"Crisis numbers checked on {long_date(self.directory.checked_on)} · Printed {long_date(self.printed_on)}"
        )


def _is_contacts(copy: PersonCopy, key: str) -> bool:
    section = copy.layout.section(key)
    return section is not None and section.kind == "contacts"


def entry_paragraph(text: str, st: Styles, fonts: FontSet, width: float, *, contacts: bool) -> Paragraph:
    """One entry as a bullet; a contact's name (before the first " — ") in bold, the number after it."""
    prefix = ""
    rest = text
    if contacts and " — " in text:
        who, rest = text.split(" — ", 1)
        prefix = fonts.markup(who, bold=True) + " — "
        if any(ch for ch in who if ord(ch) >= 0x0590):  # a right-to-left name: keep the line whole
            prefix, rest = "", text
    return paragraph(rest, st.bullet, fonts, width, prefix=prefix, bullet="•")


def crisis_contacts(copy: PersonCopy) -> list[CrisisContact]:
    """The directory's contacts with 999 first, whatever order the directory or policy gave them."""
    return sorted(copy.directory.contacts, key=lambda c: c.phone.replace(" ", "") != EMERGENCY)


def crisis_line(contact: CrisisContact, fonts: FontSet, *, when: bool = True) -> str:
    """One crisis contact as markup: its name, what to do (bold, a tap-to-call or text link, the number
    never broken across lines) and, with `when`, when to call."""
    # A short action ("Call 111 and choose option 2") is kept on one line, read at a glance; a longer
    # one wraps between words, never inside a number.
    kept = contact.how.replace(" ", NBSP) if len(contact.how) <= WHOLE_ACTION else unbroken(contact.how)
    how = link(fonts.markup(kept, bold=True), contact_uri(contact))
    shown = when and contact.when
    return f"{fonts.markup(contact.name)}: {how}" + (f" — {fonts.markup(contact.when)}" if shown else "")


def crisis_box(copy: PersonCopy, st: Styles, fonts: FontSet, branding: Branding) -> Flowable:
    """The crisis numbers, 999 first, each with when to call; where that does not fit page 1 under
    the title (a nation's five or six numbers and the trust's own, in large print), only 999 keeps
    its "when", so every number is still on page 1."""
    heading = Paragraph(fonts.markup(CRISIS_HEADING, bold=True), st.heading.clone("ch", spaceBefore=0))
    checked = Paragraph(fonts.markup(f"Numbers checked on {long_date(copy.directory.checked_on)}."), st.small)
    contacts = crisis_contacts(copy)
    full = [Paragraph(crisis_line(c, fonts), st.body) for c in contacts]
    tight = st.body.clone("ct", spaceAfter=st.size * 0.15)
    short = [Paragraph(crisis_line(c, fonts, when=c.phone.replace(" ", "") == EMERGENCY), tight) for c in contacts]
    return Boxed([heading, *full, checked], branding.accent, branding.primary, 4 * mm,
                 compact=[heading, *short, checked])  # fmt: skip


def section_body(copy: PersonCopy, section: PersonSection, st: Styles, fonts: FontSet,
                 width: float) -> list[Flowable]:  # fmt: skip
    out: list[Flowable] = []
    contacts = _is_contacts(copy, section.key)
    for line in section.lines:
        out.append(entry_paragraph(line, st, fonts, width, contacts=contacts))
    if section.note:
        out.append(paragraph(section.note, st.note, fonts, width))
    if not section.lines and not section.note:
        out.append(Paragraph(fonts.markup(EMPTY_SECTION), st.note))
        out.append(WriteLines(2, st.size * 2.0))
    return out


def section_block(heading: Flowable, body: list[Flowable]) -> list[Flowable]:
    """A section's heading and body; a short one (an empty section's note and write-on lines) is kept
    whole, so no page starts with two lines to write on or ends with a heading alone."""
    return [KeepTogether([heading, *body])] if len(body) <= 3 else [heading, *body]


def title_block(copy: PersonCopy, st: Styles, fonts: FontSet, width: float) -> list[Flowable]:
    """The plan's name, the person's name and the dates: what goes above the crisis box on page 1."""
    out: list[Flowable] = [paragraph(copy.layout.title, st.title, fonts, width, bold=True)]
    if copy.name:
        out.append(paragraph(f"Name: {copy.name}", st.body, fonts, width, ltr=True))
    dates = copy.dates_line()
    if dates:
        out.append(Paragraph(fonts.markup(dates, bold=copy.draft), st.body))
    return out


def person_story(copy: PersonCopy, variant: str, fonts: FontSet, branding: Branding, width: float | None = None,
                 sizes: tuple[float, float] | None = None) -> list[Flowable]:  # fmt: skip
    """Standard or large print: the title, the crisis box, the layout's introduction, then each
    section numbered, in the layout's order. `width` and `sizes` (body, minimum) for other pages."""
    body, minimum = sizes or (BODY_SIZES[variant], MIN_SIZES[variant])
    st = make_styles(fonts, branding, body, minimum)
    width = width or body_width()
    story = title_block(copy, st, fonts, width)
    story += [Spacer(1, st.size * 0.4), crisis_box(copy, st, fonts, branding)]
    if copy.layout.intro:
        story += [Spacer(1, st.size * 0.6), paragraph(copy.layout.intro, st.body, fonts, width)]
    for n, section in enumerate(copy.sections, start=1):
        heading = paragraph(f"{n}. {section.title}", st.heading, fonts, width, bold=True)
        story += in_section(section_block(heading, section_body(copy, section, st, fonts, width)), section.title)
    return story


def render_person_copy(copy: PersonCopy, variant: str, fonts: FontSet, branding: Branding,
                       story: list[Flowable] | None = None) -> bytes:  # fmt: skip
    """The person's copy on A4 as PDF bytes: STANDARD or LARGE_PRINT laid out here; EASY_READ with the
    story easy_read.py lays out (copies.render_copy passes it: person.py does not import easy_read)."""
    if variant not in BODY_SIZES:
        raise ValueError(f"not an A4 variant of the person's copy: {variant!r}")
    if story is None and variant == EASY_READ:
        raise ValueError("the easy-read copy's story comes from easy_read.easy_read_story")
    decor = PageDecor(fonts, branding, copy.trust_name, copy.footer(), mark=DRAFT_MARK if copy.draft else "",
                      body_size=BODY_SIZES[variant], min_size=MIN_SIZES[variant])  # fmt: skip
    story = story if story is not None else person_story(copy, variant, fonts, branding)
    return build_pdf(story, decor, title=copy.layout.title, subject="Safety plan (the person's copy)")
