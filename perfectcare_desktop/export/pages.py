"""What every PDF shares: pages (A4, or a phone-sized page) with the trust's header, a footer with
"page n of m", an optional diagonal mark (a draft; "Confidential"), and text styles at a chosen body
size. No type on a page is smaller than the page's `min_size` (large print: 14 pt), the header and
footer included; a footer too long for one line at that size wraps onto two."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Table, TableStyle
from reportlab.platypus.doctemplate import LayoutError

from ..errors import PdfLayoutError
from .branding import Branding
from .fonts import FontSet

# Binary streams rather than ASCII85: a quarter smaller, and encoding them was a tenth of the build time.
rl_config.useA85 = 0

PAGE_W, PAGE_H = A4
MARGIN = 18 * mm
GREY = HexColor("#555555")
LIGHT = HexColor("#DDDDDD")


@dataclass(frozen=True)
class Styles:
    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    bullet: ParagraphStyle
    note: ParagraphStyle
    small: ParagraphStyle
    size: float  # body size, pt


def make_styles(fonts: FontSet, branding: Branding, body_size: float, min_size: float = 8.0) -> Styles:
    """Text styles at `body_size`; the smallest (notes under a box, "checked on") is never under `min_size`."""
    lead = body_size * 1.35
    small_size = max(min_size, body_size * 0.75)
    body = ParagraphStyle("body", fontName=fonts.body, fontSize=body_size, leading=lead, textColor=branding.text,
                          spaceAfter=body_size * 0.3)  # fmt: skip
    return Styles(
        title=ParagraphStyle("title", parent=body, fontName=fonts.bold, fontSize=body_size * 1.9,
                             leading=body_size * 2.3, textColor=branding.primary, spaceAfter=body_size * 0.4),
        heading=ParagraphStyle("heading", parent=body, fontName=fonts.bold, fontSize=body_size * 1.25,
                               leading=body_size * 1.6, textColor=branding.primary, spaceBefore=body_size * 0.9,
                               spaceAfter=body_size * 0.35, keepWithNext=1),
        body=body,
        bullet=ParagraphStyle("bullet", parent=body, leftIndent=body_size * 1.3, bulletIndent=body_size * 0.2,
                              spaceAfter=body_size * 0.35, bulletFontName=fonts.body, bulletFontSize=body_size),
        note=ParagraphStyle("note", parent=body, textColor=GREY),
        small=ParagraphStyle("small", parent=body, fontSize=small_size, leading=small_size * 1.3, textColor=GREY),
        size=body_size,
    )  # fmt: skip


class WriteLines(Flowable):
    """Ruled lines to write on by hand (an empty section on the person's copy)."""

    def __init__(self, count: int, gap: float) -> None:
        super().__init__()
        self.count, self.gap = count, gap

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        return avail_width, self.count * self.gap

    def draw(self) -> None:
        self.canv.setStrokeColor(LIGHT)
        self.canv.setLineWidth(0.8)
        for n in range(self.count):
            y = n * self.gap + 2
            self.canv.line(0, y, self.width, y)


def grid(rows: Sequence[list[Any]], widths: list[float], fonts: FontSet, branding: Branding, *,
         header: bool, extra: list[tuple] | None = None) -> Table:  # fmt: skip
    """A table with a light grid (the clinician record's and the safety case's facts and lists); with
    `header`, the first row is tinted and repeated on each page the table runs onto."""
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, splitInRow=1)
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTNAME", (0, 0), (-1, -1), fonts.body),  # a table's default is Helvetica, unembedded
        ("GRID", (0, 0), (-1, -1), 0.4, HexColor("#BBBBBB")),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]  # fmt: skip
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), branding.accent))
    table.setStyle(TableStyle(style + (extra or [])))
    return table


def draw_panel(canvas: Canvas, width: float, height: float, fill: Color, border: Color, line: float) -> None:
    """The tinted panel with a border behind a box's content (the crisis numbers)."""
    canvas.saveState()
    canvas.setFillColor(fill)
    canvas.setStrokeColor(border)
    canvas.setLineWidth(line)
    canvas.rect(0, 0, width, height, stroke=1, fill=1)
    canvas.restoreState()


class Boxed(Flowable):
    """A few flowables on a tinted panel with a border (the crisis numbers): `content`, or the shorter
    `compact` when `content` does not fit where the box is placed (page 1, under the title). When even
    that does not fit, it is split between its flowables, the first part holding at least the first
    two (the heading and 999): the numbers start on page 1 and the build always ends. Far cheaper to
    lay out than a one-cell Table."""

    def __init__(self, content: list[Flowable], fill: Color, border: Color, padding: float, *,
                 compact: list[Flowable] | None = None) -> None:  # fmt: skip
        super().__init__()
        self.choices = [content] + ([compact] if compact else [])
        self.content, self.fill, self.border, self.padding = content, fill, border, padding
        self._heights: list[float] = []

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        inner = avail_width - 2 * self.padding
        for content in self.choices:
            self.content = content
            self._heights = [f.wrap(inner, avail_height)[1] + f.getSpaceAfter() for f in content]
            if sum(self._heights) + 2 * self.padding <= avail_height:
                break
        self.width, self.height = avail_width, sum(self._heights) + 2 * self.padding
        return self.width, self.height

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        self.wrap(avail_width, avail_height)
        if self.height <= avail_height:
            return [self]
        room, used, fits = avail_height - 2 * self.padding, 0.0, 0
        for height in self._heights:
            if used + height > room:
                break
            used, fits = used + height, fits + 1
        if fits < 2:
            return []  # not even the heading and the first number here: the whole box on the next page
        head, rest = self.content[:fits], self.content[fits:]
        return [Boxed(head, self.fill, self.border, self.padding), Boxed(rest, self.fill, self.border, self.padding)]

    def draw(self) -> None:
        c = self.canv
        draw_panel(c, self.width, self.height, self.fill, self.border, 1.5)
        y = self.height - self.padding
        for f, h in zip(self.content, self._heights, strict=True):
            y -= h
            f.drawOn(c, self.padding, y + f.getSpaceAfter())


@dataclass(frozen=True)
class PageDecor:
    """What is drawn around the text on every page."""

    fonts: FontSet
    branding: Branding
    trust_name: str
    footer: str  # left part of the footer; "page n of m" is added on the right
    mark: str = ""  # a diagonal mark across each page ("Draft — not yet agreed")
    banner: str = ""  # a line above the header on every page ("CONFIDENTIAL ...")
    banner_colour: Color | None = None
    body_size: float = 12.0  # the page's starting font size (reportlab writes one into every page)
    min_size: float = 8.5  # the smallest type anywhere on the page: the footer, the header's name
    pagesize: tuple[float, float] = A4
    margin: float = MARGIN
    header: str = ""  # beside the logo in place of the trust's name (which stays the PDF's author)

    @property
    def logo_h(self) -> float:
        return min(12 * mm, self.pagesize[0] * 0.12)

    @property
    def header_h(self) -> float:
        """Height above the text frame: the logo and name, the rule under them, the banner."""
        return self.margin * 0.6 + max(self.logo_h, self.min_size * 1.3) + 8 * mm + (5 * mm if self.banner else 0)

    def footer_lines(self, pages: int = 999) -> tuple[list[str], bool]:
        """The footer's text in lines that fit beside "Page n of m" at `min_size`: one line, else split at
        its " · " and at words; where that leaves too little room (a phone page), "Page n of m" takes a
        line of its own under the text. (lines, whether the page number has its own line)"""
        width = self.pagesize[0] - 2 * self.margin
        beside = width - self.fonts.width(f"Page {pages} of {pages}", self.min_size) - 4 * mm
        own_line = beside < width * 0.45
        room = width if own_line else beside
        lines: list[str] = []
        for part in self.footer.split(" · ") if self.footer else []:
            current = ""
            for word in part.split(" "):
                candidate = f"{current} {word}" if current else word
                if current and self.fonts.width(candidate, self.min_size) > room:
                    lines.append(current)
                    current = word
                else:
                    current = candidate
            lines.append(current)
        if len(lines) > 1 and self.fonts.width(self.footer, self.min_size) <= room:
            lines = [self.footer]
        return lines, own_line

    @property
    def footer_h(self) -> float:
        lines, own_line = self.footer_lines()
        return self.margin * 0.55 + (len(lines) + own_line) * self.min_size * 1.3 + 6 * mm

    def draw(self, canvas: Canvas, page: int, pages: int) -> None:
        page_w, page_h = self.pagesize
        margin = self.margin
        canvas.saveState()
        top = page_h - margin * 0.6
        if self.banner:
            canvas.setFillColor(self.banner_colour or self.branding.primary)
            canvas.rect(0, page_h - 9 * mm, page_w, 9 * mm, stroke=0, fill=1)
            canvas.setFillColor(HexColor("#FFFFFF"))
            canvas.setFont(self.fonts.bold, max(10, self.min_size))
            canvas.drawCentredString(page_w / 2, page_h - 6 * mm, self.banner)
            top -= 4 * mm
        logo_h = self.logo_h
        canvas.setFont(self.fonts.body, self.min_size)  # the logo drawing inherits it (else Helvetica, unembedded)
        used = self.branding.draw_logo(canvas, margin, top - logo_h, logo_h)
        canvas.setFillColor(self.branding.primary)
        name_size = max(11, self.min_size)
        canvas.setFont(self.fonts.bold, name_size)
        canvas.drawString(margin + used + (4 * mm if used else 0), top - logo_h / 2 - name_size * 0.35,
                          self.header or self.trust_name)  # fmt: skip
        canvas.setStrokeColor(self.branding.primary)
        canvas.setLineWidth(1.2)
        rule = top - max(logo_h, name_size * 1.3) - 3 * mm
        canvas.line(margin, rule, page_w - margin, rule)
        canvas.setFillColor(GREY)
        canvas.setFont(self.fonts.body, self.min_size)
        lines, own_line = self.footer_lines(pages)
        y = margin * 0.55
        label = f"Page {page} of {pages}"
        if own_line:
            canvas.drawString(margin, y, label)
            y += self.min_size * 1.3
        else:
            canvas.drawRightString(page_w - margin, y + max(0, len(lines) - 1) * self.min_size * 1.3, label)
        for line in reversed(lines):
            canvas.drawString(margin, y, line)
            y += self.min_size * 1.3
        if self.mark:
            canvas.setFillColor(HexColor("#000000"), alpha=0.08)
            canvas.setFont(self.fonts.bold, max(self.min_size, 44 * page_w / PAGE_W))
            canvas.translate(page_w / 2, page_h / 2)
            canvas.rotate(40 if (page_w, page_h) == A4 else math.degrees(math.atan2(page_h, page_w)))
            canvas.drawCentredString(0, 0, self.mark)
        canvas.restoreState()


def _numbered_canvas(decor: PageDecor) -> type[Canvas]:
    class NumberedCanvas(Canvas):
        """Holds each page until the end, so the footer can say "page n of m"."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            # Start each page in our embedded font, not Helvetica, so no unembedded font is referenced.
            kwargs.setdefault("initialFontName", decor.fonts.body)
            kwargs.setdefault("initialFontSize", decor.body_size)
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            self._pages: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # reportlab's own; types-reportlab omits it

        def save(self) -> None:
            total = len(self._pages)
            for n, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                decor.draw(self, n, total)
                super().showPage()
            super().save()

    return NumberedCanvas


# No copy comes near these. A flowable that cannot be placed makes reportlab's build loop go on for
# ever: splitting the same table again and again on one page (an easy-read copy ran for hours and
# passed 1.2 GB), or adding empty pages. Past either limit the build stops with a sentence.
MAX_PAGES = 300
STEPS_PER_FLOWABLE = 50  # handle_flowable calls: a flowable is placed, split or moved on a few times at most


def in_section(flowables: list[Flowable], title: str) -> list[Flowable]:
    """Mark flowables as a section's, so a copy that cannot be laid out names the section (its
    layout title: never the person's words)."""
    for f in flowables:
        f._pc_section = title  # type: ignore[attr-defined]
    return flowables


class _LimitedDoc(BaseDocTemplate):
    steps_left = 0
    section = ""  # the section being laid out (in_section), for the message

    def handle_pageBegin(self) -> None:  # noqa: N802 - reportlab's name
        # The limit is in A4 pages' worth of paper: a phone page holds a third of one.
        limit = int(MAX_PAGES * max(1.0, PAGE_W * PAGE_H / (self.pagesize[0] * self.pagesize[1])))
        if self.page >= limit:
            self._stop(f"it ran past {limit} pages")
        super().handle_pageBegin()

    def handle_flowable(self, flowables: list[Flowable]) -> None:
        self.steps_left -= 1
        if flowables:  # a split part has no mark: it stays in the section of the flowable it came from
            self.section = getattr(flowables[0], "_pc_section", self.section)
        if self.steps_left < 0:
            self._stop("a part of it could not be placed on any page")
        super().handle_flowable(flowables)

    def _stop(self, why: str) -> None:
        where = f" (in the section “{self.section}”)" if self.section else ""
        raise PdfLayoutError(
            f"This copy could not be laid out: {why}{where}. Choose another copy (variant) for this person, "
            "or shorten that section; nothing was printed or saved, and the plan is unchanged."
        )


def build_pdf(story: Sequence[Flowable], decor: PageDecor, *, title: str, subject: str = "") -> bytes:
    """Lay out the flowables on A4 pages with the decorations; returns the PDF bytes (in memory)."""
    buf = io.BytesIO()
    doc = _LimitedDoc(
        buf, pagesize=decor.pagesize, leftMargin=decor.margin, rightMargin=decor.margin, topMargin=decor.header_h,
        bottomMargin=decor.footer_h, title=title, author=decor.trust_name, subject=subject,
        creator="PerfectCare Desktop", invariant=True, initialFontName=decor.fonts.body,
        initialFontSize=decor.body_size,
    )  # fmt: skip
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body", leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0)  # fmt: skip
    doc.addPageTemplates([PageTemplate("page", [frame])])
    doc.steps_left = STEPS_PER_FLOWABLE * len(story) + 1000
    try:
        doc.build(list(story), canvasmaker=_numbered_canvas(decor))
    except LayoutError:  # reportlab's own "too large on page": its message quotes the text, so not shown
        doc._stop("a part of it is larger than a page")
    return buf.getvalue()


def body_width(pagesize: tuple[float, float] = A4, margin: float = MARGIN) -> float:
    return pagesize[0] - 2 * margin
