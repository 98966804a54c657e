"""The easy-read copy of the person's plan, laid out as NHS and Mencap easy-read guides ask:

- nothing on any page under 16 pt; pictures down the left, the words beside them (an entry written
  in Urdu or Arabic has its picture on the right, where it starts);
- page 1: the plan's name and dates, then the numbers to call in a box, 999 first with an ambulance
  beside it and a phone (or a text message) beside each other number; the box is made more compact
  (fewer words, smaller pictures) until it fits on page 1, so a trust's many local numbers never
  push it over; then three short lines saying what the plan is;
- each section under a short heading in plain words (the layout's `easy_read` heading, else its
  title) with the section's picture beside it;
- one idea a line, a picture beside each point: each entry on its own, a long one split at its
  sentence ends into lines (the person's own words, never changed or cut), a contact's name, number
  and notes each on a line; a phone beside a contact with a number, a person beside one without,
  a house beside a step that keeps the person safe at home, the section's picture beside the rest;
- an empty section: its heading, "Not filled in yet. You can write here:" and lines to write on,
  kept together on one page.

Built only from `PersonCopy.sections` (core.plan_content.person_view decides what the person sees:
never the method or the means). No reportlab Table: one that cannot split loops for ever; the rows
here split between points and inside a point's lines, so any plan can be laid out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from reportlab.graphics.shapes import Drawing, Group
from reportlab.lib.colors import Color
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, Paragraph, Spacer

from ..core.clinical.crisis_directory import CrisisContact
from ..core.clinical.plan_content import PersonSection
from ..core.clinical.wording import long_date, mainly_rtl
from .bidi import paragraph
from .branding import Branding, section_icon
from .fonts import FontSet
from .links import contact_uri
from .pages import Styles, WriteLines, body_width, draw_panel, make_styles
from .person import (
    BODY_SIZES,
    EASY_READ,
    EMPTY_SECTION,
    MIN_SIZES,
    PersonCopy,
    crisis_contacts,
    crisis_line,
    title_block,
)

CRISIS_HEADING = "If you need help now"
# What the plan is, one short line each, with its picture.
INTRO = (
    ("plan", "This is my safety plan."),
    ("people_to_ask", "I made it with my care team."),
    ("reasons_for_living", "It helps me stay safe when things get hard."),
)
ICON_COL = 44.0  # the picture column (pt): a heading's picture fills it, a point's sits in its middle
TEXT_GAP = 12.0  # between the pictures and the words
HEADING_ICON = 44.0
POINT_ICON = 30.0
SMALL_ICON = 22.0  # the crisis box made compact
TINY_ICON = 18.0  # the crisis box at its most compact
LINE_GAP = 4.0  # between the lines of one point
POINT_GAP = 10.0  # between points
SECTION_GAP = 24.0  # above a section's heading
WRITE_LINES = 3  # lines to write on under an empty section

# A sentence ends at . ! ? … or the Urdu full stop and question mark, then a closing quote or bracket.
_SENTENCE_END = re.compile(r"[.!?…\u06d4\u061f]+[\"'”’)\]]*(\s+)")
_ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "mx", "st", "tel", "e.g", "i.e", "eg", "ie", "approx"})
_PHONE_ONLY = re.compile(r"\+?[\d(][\d \u00a0()-]{4,}")


def sentences(text: str) -> list[str]:
    """The text as lines of one sentence each (and each line the person typed on its own): only the
    spaces between them go, every word stays as written. "Dr. Jones" or "e.g. Tesco" is not split."""
    out: list[str] = []
    for line in text.splitlines():
        start = 0
        for m in _SENTENCE_END.finditer(line):
            words = line[start : m.start()].split()
            word = words[-1].lower().rstrip(".") if words else ""
            after = line[m.end() : m.end() + 1]
            if not after or word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()) or after.islower():
                continue
            out.append(line[start : m.start(1)].strip())
            start = m.end()
        out.append(line[start:].strip())
    return [s for s in out if s] or [text]


def _icon(name: str, size: float, font: str, min_size: float) -> Drawing | None:
    """A picture from resources/icons scaled to `size` (the fallback picture if the file is missing)."""
    icon = section_icon(name)
    if icon is None:
        return None
    scale = size / max(icon.width, icon.height)
    group = Group(*icon.contents)
    group.transform = (scale, 0, 0, scale, 0, 0)
    drawing = Drawing(size, size)
    # A drawing starts in Helvetica at 10 pt unless told: an unembedded font, and type under 16 pt.
    # reportlab's Drawing attributes, missing from types-reportlab
    drawing.initialFontName, drawing.initialFontSize = font, min_size  # type: ignore[attr-defined]
    drawing.add(group)
    return drawing


@dataclass
class Row:
    """One point: a picture and, beside it, its lines (paragraphs, or lines to write on)."""

    items: list[Flowable]
    icon: str = ""  # a picture's name in resources/icons; "" for none
    icon_size: float = POINT_ICON
    gap: float = POINT_GAP  # space above it
    rtl: bool = False  # the picture on the right
    keep_with_next: bool = False  # a heading: never the last thing on a page
    whole: bool = False  # never split across pages
    heights: list[float] = field(default_factory=list, repr=False)


class Rows(Flowable):
    """Points one under another, each a picture beside its lines; splits between points and inside
    a point's lines (never leaving a heading last on a page), so it never needs a Table."""

    def __init__(self, rows: Sequence[Row], font: str, min_size: float) -> None:
        super().__init__()
        self.rows, self.font, self.min_size = list(rows), font, min_size
        self.spaceBefore = self.rows[0].gap if self.rows else 0.0  # dropped at the top of a page

    @staticmethod
    def text_width(width: float) -> float:
        return width - ICON_COL - TEXT_GAP

    def _offset(self, row: Row) -> float:
        """How far the first line sits below the top of its picture, so the two are centred."""
        first = row.items[0] if row.items else None
        leading = first.style.leading if isinstance(first, Paragraph) else 0.0
        return max(0.0, (row.icon_size - leading) / 2) if row.icon else 0.0

    def _row_height(self, row: Row, width: float) -> float:
        row.heights = [f.wrap(self.text_width(width), 1e6)[1] for f in row.items]
        text = sum(row.heights) + LINE_GAP * max(0, len(row.heights) - 1)
        return max(row.icon_size if row.icon else 0.0, self._offset(row) + text)

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        self._sizes = [self._row_height(row, avail_width) for row in self.rows]
        self.height = sum(
            h + (row.gap if n else 0.0) for n, (row, h) in enumerate(zip(self.rows, self._sizes, strict=True))
        )
        return self.width, self.height

    def _split_row(self, row: Row, width: float, room: float) -> tuple[list[Flowable], list[Flowable]]:
        """The lines of a point that fit in `room`, and the rest (a paragraph split between its lines)."""
        if row.icon and row.icon_size > room:
            return [], row.items
        room -= self._offset(row)
        used = 0.0
        for n, (item, height) in enumerate(zip(row.items, row.heights, strict=True)):
            gap = LINE_GAP if n else 0.0
            if used + gap + height <= room:
                used += gap + height
                continue
            left = room - used - gap
            parts = item.split(self.text_width(width), left) if left > 0 else []
            if len(parts) > 1:
                return [*row.items[:n], parts[0]], [*parts[1:], *row.items[n + 1 :]]
            return row.items[:n], row.items[n:]
        return row.items, []

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        self.wrap(avail_width, avail_height)
        placed: list[Row] = []
        rest: list[Row] = []
        used = 0.0
        for n, (row, height) in enumerate(zip(self.rows, self._sizes, strict=True)):
            gap = row.gap if n else 0.0
            if used + gap + height <= avail_height:
                placed.append(row)
                used += gap + height
                continue
            head, tail = ([], row.items) if row.whole else self._split_row(row, avail_width, avail_height - used - gap)
            if head:
                placed.append(replace(row, items=head, heights=[]))
                rest = [replace(row, items=tail, icon="", gap=0.0, heights=[])]
            else:
                rest = [row]
            rest += self.rows[n + 1 :]
            break
        while placed and placed[-1].keep_with_next:
            rest.insert(0, placed.pop())
        if not placed:
            return []  # nothing fits here: the next page (where a heading and a line always fit)
        return [Rows(part, self.font, self.min_size) for part in (placed, rest) if part]

    def draw(self) -> None:
        top = self.height
        for n, (row, height) in enumerate(zip(self.rows, self._sizes, strict=True)):
            top -= row.gap if n else 0.0
            picture = _icon(row.icon, row.icon_size, self.font, self.min_size) if row.icon else None
            if picture is not None:
                x = (ICON_COL - row.icon_size) / 2
                picture.drawOn(self.canv, self.width - ICON_COL + x if row.rtl else x, top - row.icon_size)
            y = top - self._offset(row)
            for item, item_height in zip(row.items, row.heights, strict=True):
                y -= item_height
                item.drawOn(self.canv, 0.0 if row.rtl else ICON_COL + TEXT_GAP, y)
                y -= LINE_GAP
            top -= height


class CrisisBox(Flowable):
    """The numbers to call on a tinted panel with a border: the fullest of `choices` that fits where
    it is placed (page 1, under the title); if even the last, most compact one does not fit, it is
    split between numbers, 999 in the first part, so the build always ends."""

    def __init__(self, choices: Sequence[Flowable], fill: Color, border: Color, padding: float) -> None:
        super().__init__()
        self.choices, self.fill, self.border, self.padding = list(choices), fill, border, padding
        self.chosen = self.choices[-1]

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        for rows in self.choices:
            self.chosen = rows
            height = rows.wrap(avail_width - 2 * self.padding, avail_height)[1] + 2 * self.padding
            if height <= avail_height:
                break
        self.width, self.height = avail_width, height
        return self.width, self.height

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        self.wrap(avail_width, avail_height)
        if self.height <= avail_height:
            return [self]
        parts = self.chosen.split(avail_width - 2 * self.padding, avail_height - 2 * self.padding)
        return [CrisisBox([part], self.fill, self.border, self.padding) for part in parts]

    def draw(self) -> None:
        draw_panel(self.canv, self.width, self.height, self.fill, self.border, 2)
        self.chosen.drawOn(self.canv, self.padding, self.padding)


def _flat(style: ParagraphStyle, name: str, *, right: bool = False, **changes: float) -> ParagraphStyle:
    """The style without its own spacing (the rows space their lines), right-aligned if asked."""
    out = style.clone(name, None, spaceBefore=0, spaceAfter=0, keepWithNext=0, **changes)
    if right:
        out.alignment = TA_RIGHT
    return out


def _crisis_picture(contact: CrisisContact) -> str:
    if contact.phone.replace(" ", "") == "999":
        return "ambulance"
    return "text_message" if contact_uri(contact).startswith("sms:") else "call"


def crisis_box(copy: PersonCopy, st: Styles, fonts: FontSet, branding: Branding, width: float) -> CrisisBox:
    """999 first, then each number with its picture. Three choices, the first that fits page 1 is
    printed: each number's "when" on a line of its own; 999's only, smaller pictures; none, lines
    closer together and no "checked on" line (the footer of every page gives that date)."""
    padding = 8.0
    text_width = Rows.text_width(width - 2 * padding)
    size = st.size
    tight = _flat(st.body, "ct", leading=size * 1.15)
    checked_on = f"Numbers checked on {long_date(copy.directory.checked_on)}."
    checked = Paragraph(fonts.markup(checked_on), _flat(st.small, "cs"))
    contacts = crisis_contacts(copy)
    choices = []
    for when, icon, gap, body, heading_style in (
        ("all", POINT_ICON, 8.0, _flat(st.body, "cb"), _flat(st.heading, "ch")),
        ("999", SMALL_ICON, 4.0, _flat(st.body, "cb"), _flat(st.heading, "ch")),
        ("", TINY_ICON, 1.0, tight, _flat(st.heading, "cht", fontSize=size, leading=size * 1.15)),
    ):
        heading = paragraph(CRISIS_HEADING, heading_style, fonts, text_width, bold=True)
        rows = [Row([heading], gap=0.0, keep_with_next=True, whole=True)]
        for contact in contacts:
            emergency = contact.phone.replace(" ", "") == "999"
            # crisis_line gives the tap-to-call (or text) link with the number never broken across lines.
            items: list[Flowable] = [Paragraph(crisis_line(contact, fonts, when=False), body)]
            if contact.when and (when == "all" or (when == "999" and emergency)):
                items.append(paragraph(contact.when, body, fonts, text_width))
            rows.append(Row(items, _crisis_picture(contact), icon, gap))
        if when:
            rows.append(Row([checked], gap=gap))
        choices.append(Rows(rows, fonts.body, st.small.fontSize))
    return CrisisBox(choices, branding.accent, branding.primary, padding)


def _point_picture(section_key: str, kind: str, text: str) -> str:
    if kind == "contacts":
        return "call" if re.search(r"\d{3}", text) else "person"
    return "home" if kind == "means" else section_key


def _point_lines(text: str, kind: str, style: ParagraphStyle, fonts: FontSet, width: float) -> list[Flowable]:
    """One point's lines: a contact's name (bold), its number (bold) and its notes each on a line; an
    agreed step and who helps on lines of their own; each sentence on a line."""
    parts = text.split(" — ") if kind in ("contacts", "means") else [text]
    out: list[Flowable] = []
    for n, part in enumerate(parts):
        if _PHONE_ONLY.fullmatch(part.strip()) or (kind == "contacts" and n == 0):
            out.append(paragraph(part, style, fonts, width, bold=True))
        else:
            out += [paragraph(line, style, fonts, width) for line in sentences(part)]
    return out


def section_rows(copy: PersonCopy, section: PersonSection, st: Styles, fonts: FontSet, width: float) -> list[Row]:
    layout_section = copy.layout.section(section.key)
    title = layout_section.easy_read_title if layout_section else section.title
    kind = layout_section.kind if layout_section else "entries"
    text_width = Rows.text_width(width)
    heading = paragraph(title, _flat(st.heading, "h"), fonts, text_width, bold=True)
    rows = [Row([heading], section.key, HEADING_ICON, SECTION_GAP, keep_with_next=True, whole=True)]
    for line in section.lines:
        rtl = mainly_rtl(line)
        style = _flat(st.body, "b", right=rtl)
        rows.append(Row(_point_lines(line, kind, style, fonts, text_width), _point_picture(section.key, kind, line),
                        rtl=rtl))  # fmt: skip
    if section.note:
        note = _flat(st.note, "n")
        rows.append(Row([paragraph(line, note, fonts, text_width) for line in sentences(section.note)], section.key))
    if not section.lines and not section.note:
        # The heading, the note and the lines stay on one page: never a page of lines alone.
        lines = [Paragraph(fonts.markup(EMPTY_SECTION), _flat(st.note, "e")), WriteLines(WRITE_LINES, st.size * 2.2)]
        rows.append(Row(lines, "pencil", whole=True))
    return rows


def easy_read_story(copy: PersonCopy, fonts: FontSet, branding: Branding) -> list[Flowable]:
    st = make_styles(fonts, branding, BODY_SIZES[EASY_READ], MIN_SIZES[EASY_READ])
    width = body_width()
    minimum = MIN_SIZES[EASY_READ]
    story = title_block(copy, st, fonts, width)
    story += [Spacer(1, st.size * 0.4), crisis_box(copy, st, fonts, branding, width)]
    body = _flat(st.body, "i")
    intro = [Row([paragraph(text, body, fonts, Rows.text_width(width))], icon) for icon, text in INTRO]
    intro[0].gap = SECTION_GAP * 0.6
    story.append(Rows(intro, fonts.body, minimum))
    story += [Rows(section_rows(copy, section, st, fonts, width), fonts.body, minimum) for section in copy.sections]
    return story
