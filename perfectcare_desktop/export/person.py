"""The person's copy of their safety plan: standard A4, large print, easy read.

Built only from a `PersonCopy`, whose sections come from `core.plan_content.person_view` (the one
place that decides what the person sees), so nothing meant only for clinicians can reach it: no
clinician notes, no reasons a section was declined, no NHS number.

- standard: A4, body 12 pt, numbered headings, the person's entries as a list.
- large print: the same at body 16 pt (headings 20 pt).
- easy read: body 16 pt (at least 14 pt), a picture beside each section (resources/icons), a short
  plain introduction; the person's entries as they wrote them.

Every copy: the plan's agreed and review dates (or "Draft — not yet agreed" across each page), the
crisis numbers of the CURRENT directory with its "checked on" date, the trust's branding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reportlab.graphics.shapes import Drawing, Group
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from ..core.crisis_directory import CrisisDirectory
from ..core.plan_content import PersonSection
from ..core.plan_layout import PlanLayout
from ..core.wording import long_date
from .bidi import paragraph
from .branding import Branding, section_icon
from .fonts import FontSet
from .pages import Boxed, PageDecor, Styles, WriteLines, body_width, build_pdf, make_styles

STANDARD, LARGE_PRINT, EASY_READ, WALLET_CARD = "standard", "large-print", "easy-read", "wallet-card"
BODY_SIZES = {STANDARD: 12.0, LARGE_PRINT: 16.0, EASY_READ: 16.0}
CRISIS_HEADING = "If you are in crisis now"
DRAFT_MARK = "Draft — not yet agreed"
EASY_READ_INTRO = (
    "This is my safety plan. I wrote it with my care team. It says what helps me stay safe when things get hard."
)
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

    @property
    def crisis_key(self) -> str | None:
        """The section the crisis numbers are printed in (the layout says), else none: then at the end."""
        return next((s.key for s in self.layout.sections if s.crisis_directory), None)

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


def crisis_box(copy: PersonCopy, st: Styles, fonts: FontSet, branding: Branding, width: float) -> Flowable:
    rows: list[Flowable] = [Paragraph(fonts.markup(CRISIS_HEADING, bold=True), st.heading.clone("ch", spaceBefore=0))]
    for c in copy.directory.contacts:
        line = fonts.markup(c.how, bold=True)
        line = f"{fonts.markup(c.name)}: {line}" + (f" — {fonts.markup(c.when)}" if c.when else "")
        rows.append(Paragraph(line, st.body))
    rows.append(Paragraph(fonts.markup(f"Numbers checked on {long_date(copy.directory.checked_on)}."), st.small))
    box = Boxed(rows, branding.accent, branding.primary, 4 * mm)
    return KeepTogether([Spacer(1, st.size * 0.6), box])


def _section_body(copy: PersonCopy, section: PersonSection, st: Styles, fonts: FontSet, branding: Branding,
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


def _title_block(copy: PersonCopy, st: Styles, fonts: FontSet, width: float, *, easy: bool) -> list[Flowable]:
    out: list[Flowable] = [paragraph(copy.layout.title, st.title, fonts, width, bold=True)]
    if copy.name:
        out.append(paragraph(f"Name: {copy.name}", st.body, fonts, width, ltr=True))
    dates = copy.dates_line()
    if dates:
        out.append(Paragraph(fonts.markup(dates, bold=copy.draft), st.body))
    intro = EASY_READ_INTRO if easy else copy.layout.intro
    if intro:
        out.append(paragraph(intro, st.body, fonts, width))
    return out


class _Icon(Drawing):
    """A picture that ImageAndFlowables can wrap text beside (it asks images to fit a size)."""

    def _restrictSize(self, avail_width: float, avail_height: float) -> tuple[float, float]:  # noqa: N802
        return self.width, self.height

    def _unRestrictSize(self) -> None:  # noqa: N802
        pass


def _scaled_icon(key: str, size: float, font: str) -> Drawing | None:
    icon = section_icon(key)
    if icon is None:
        return None
    scale = size / max(icon.width, icon.height)
    group = Group(*icon.contents)
    group.transform = (scale, 0, 0, scale, 0, 0)
    drawing = _Icon(size, size)
    drawing.initialFontName = font  # not Helvetica, which would be referenced unembedded
    drawing.add(group)
    drawing.hAlign = "LEFT"
    return drawing


def person_story(copy: PersonCopy, variant: str, fonts: FontSet, branding: Branding) -> list[Flowable]:
    st = make_styles(fonts, branding, BODY_SIZES[variant])
    width = body_width()
    easy = variant == EASY_READ
    story = _title_block(copy, st, fonts, width, easy=easy)
    icon_size = 22 * mm
    text_width = width - icon_size - 6 * mm if easy else width
    numbered = not easy
    for n, section in enumerate(copy.sections, start=1):
        title = f"{n}. {section.title}" if numbered else section.title
        heading = paragraph(
            title, st.heading.clone("h", spaceBefore=0) if easy else st.heading, fonts, text_width, bold=True
        )
        body = _section_body(copy, section, st, fonts, branding, text_width)
        if easy:
            # Picture on the left, the section in a column beside it; the row may split across pages
            # (splitInRow), so a long section never overflows the page.
            icon = _scaled_icon(section.key, icon_size, fonts.body) or Spacer(icon_size, icon_size)
            block = Table([[icon, [heading, *body]]], colWidths=[icon_size + 6 * mm, text_width], splitInRow=1)
            block.setStyle(TableStyle([
                ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("FONTNAME", (0, 0), (-1, -1), fonts.body),  # a table's default is Helvetica, unembedded
                ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]))  # fmt: skip
            story.append(Spacer(1, st.size * 1.0))
            story.append(block)
        else:
            story.append(heading)
            story += body
        if section.key == copy.crisis_key:
            story.append(crisis_box(copy, st, fonts, branding, width))
    if copy.crisis_key is None:  # a layout with no crisis section: the numbers still go on the copy
        story.append(crisis_box(copy, st, fonts, branding, width))
    return story


def render_person_copy(copy: PersonCopy, variant: str, fonts: FontSet, branding: Branding) -> bytes:
    """The person's copy as PDF bytes: STANDARD, LARGE_PRINT or EASY_READ."""
    if variant not in BODY_SIZES:
        raise ValueError(f"not an A4 variant of the person's copy: {variant!r}")
    decor = PageDecor(fonts, branding, copy.trust_name, copy.footer(), mark=DRAFT_MARK if copy.draft else "",
                      body_size=BODY_SIZES[variant])  # fmt: skip
    return build_pdf(person_story(copy, variant, fonts, branding), decor, title=copy.layout.title,
                     subject="Safety plan (the person's copy)")  # fmt: skip
