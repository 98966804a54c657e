"""The wallet card: a strip of four credit-card-size panels (85.6 x 54 mm), printed twice on A4 (one
to keep, one spare) with cut marks at the corners and dashed fold lines between the panels. Folded
like a map, it is the size of a bank card.

Panels: 1. the plan's name and "in danger now: 999"; 2. the crisis numbers of the CURRENT directory
with their "checked on" date; 3. the first steps the person can take on their own; 4. the people
they can call. No name on the card: it is carried about and may be lost. Long entries are cut short
with "…" and a panel's text shrinks to fit, never spilling over the fold.
"""

from __future__ import annotations

import io

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Frame, KeepInFrame, Paragraph

from ..core.wording import long_date
from .bidi import paragraph
from .branding import Branding
from .fonts import FontSet
from .person import PersonCopy

CARD_W, CARD_H = 85.6 * mm, 54 * mm
PANELS = 4
MAX_CHARS = 90  # an entry on the card: the start of it; the whole is on the A4 copy
COPING_KEYS = ("coping_alone",)
PEOPLE_KEYS = ("people_to_ask",)
PRO_KEYS = ("professionals",)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1].rstrip() + "…"


def _lines(copy: PersonCopy, keys: tuple[str, ...], kind: str, limit: int) -> list[str]:
    """The first entries of the named sections, else of the layout's sections of that kind."""
    keys = keys if any(copy.section(k) for k in keys) else tuple(s.key for s in copy.layout.sections if s.kind == kind)
    out: list[str] = []
    for key in keys:
        section = copy.section(key)
        if section is not None:
            out += [_short(line) for line in section.lines]
    return out[:limit]


def _panels(copy: PersonCopy, fonts: FontSet, branding: Branding) -> list[list[Flowable]]:
    w = CARD_W - 6 * mm
    base = ParagraphStyle("card", fontName=fonts.body, fontSize=8.2, leading=10, textColor=branding.text)
    head = ParagraphStyle("cardh", parent=base, fontName=fonts.bold, fontSize=9.5, leading=11.5,
                          textColor=branding.primary, spaceAfter=2)  # fmt: skip
    big = ParagraphStyle("cardbig", parent=head, fontSize=15, leading=18, spaceAfter=4)
    bullet = ParagraphStyle("cardb", parent=base, leftIndent=7, bulletIndent=0, bulletFontName=fonts.body,
                            spaceAfter=1.5)  # fmt: skip
    small = ParagraphStyle("cards", parent=base, fontSize=6.5, leading=8, textColor=HexColor("#555555"))

    def items(lines: list[str], empty: str) -> list[Flowable]:
        if not lines:
            return [Paragraph(fonts.markup(empty), small)]
        return [paragraph(line, bullet, fonts, w, bullet="•") for line in lines]

    cover = [Paragraph(fonts.markup(copy.layout.title, bold=True), big),
             Paragraph(fonts.markup("Keep this card with you. Your full plan has more."), base),
             Paragraph("&nbsp;", base),
             Paragraph(fonts.markup('If your life is in danger, call 999.', bold=True), base)]  # fmt: skip
    if copy.draft:
        cover.append(Paragraph(fonts.markup("Draft — not yet agreed.", bold=True), base))
    elif copy.review_due:
        cover.append(Paragraph(fonts.markup(f"Plan to be looked at again by {long_date(copy.review_due)}."), small))
    crisis = [Paragraph(fonts.markup("Help now", bold=True), head)]
    for c in copy.directory.contacts:
        crisis.append(Paragraph(f"{fonts.markup(c.name)}: {fonts.markup(c.how, bold=True)}", base))
    crisis.append(Paragraph(fonts.markup(f"Numbers checked on {long_date(copy.directory.checked_on)}."), small))
    coping = [Paragraph(fonts.markup("Things I can do first", bold=True), head),
              *items(_lines(copy, COPING_KEYS, "entries", 4), "Write here what helps you first.")]  # fmt: skip
    people = [Paragraph(fonts.markup("People I can call", bold=True), head),
              *items(_lines(copy, PEOPLE_KEYS, "contacts", 4) + _lines(copy, PRO_KEYS, "contacts", 2),
                     "Write here who you can call.")]  # fmt: skip
    return [cover, crisis, coping, people]


def _cut_marks(c: Canvas, x: float, y: float, w: float, h: float) -> None:
    gap, length = 2 * mm, 5 * mm
    c.setStrokeColor(HexColor("#000000"))
    c.setLineWidth(0.4)
    for cx in (x, x + w):
        for cy in (y, y + h):
            dx = -1 if cx == x else 1
            dy = -1 if cy == y else 1
            c.line(cx + dx * gap, cy, cx + dx * (gap + length), cy)
            c.line(cx, cy + dy * gap, cx, cy + dy * (gap + length))


def _strip(c: Canvas, x: float, top: float, panels: list[list[Flowable]], fonts: FontSet, branding: Branding,
           trust_name: str) -> None:  # fmt: skip
    height = PANELS * CARD_H
    y0 = top - height
    c.setStrokeColor(HexColor("#BBBBBB"))
    c.setLineWidth(0.5)
    c.rect(x, y0, CARD_W, height, stroke=1, fill=0)
    _cut_marks(c, x, y0, CARD_W, height)
    c.setDash(3, 2)
    c.setStrokeColor(HexColor("#888888"))
    for n in range(1, PANELS):
        y = top - n * CARD_H
        c.line(x, y, x + CARD_W, y)
    c.setDash()
    c.setFont(fonts.body, 6)
    c.setFillColor(HexColor("#888888"))
    for n in range(1, PANELS):
        c.drawString(x + CARD_W + 1.5 * mm, top - n * CARD_H - 2, "fold")
    for n, content in enumerate(panels):
        py = top - (n + 1) * CARD_H
        if n == 0:  # the cover: a band of the trust's colour with the logo and name
            band = 11 * mm
            c.setFillColor(branding.accent)
            c.rect(x, py + CARD_H - band, CARD_W, band, stroke=0, fill=1)
            c.setFont(fonts.body, 8)
            used = branding.draw_logo(c, x + 3 * mm, py + CARD_H - band + 2 * mm, band - 4 * mm)
            c.setFillColor(branding.primary)
            c.setFont(fonts.bold, 7.5)
            c.drawString(x + 3 * mm + used + 2 * mm, py + CARD_H - band / 2 - 2.5, trust_name[:60])
            frame_h = CARD_H - band
        else:
            frame_h = CARD_H
        frame = Frame(x + 3 * mm, py + 2 * mm, CARD_W - 6 * mm, frame_h - 4 * mm, leftPadding=0, rightPadding=0,
                      topPadding=0, bottomPadding=0, showBoundary=0)  # fmt: skip
        frame.addFromList([KeepInFrame(CARD_W - 6 * mm, frame_h - 4 * mm, content, mode="shrink")], c)


def render_wallet_card(copy: PersonCopy, fonts: FontSet, branding: Branding) -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=1, initialFontName=fonts.body)
    c.setTitle(f"{copy.layout.title} — wallet card")
    c.setSubject("Safety plan wallet card (the person's copy)")
    c.setCreator("PerfectCare Desktop")
    page_w, page_h = A4
    gap = 14 * mm
    left = (page_w - 2 * CARD_W - gap) / 2
    c.setFillColor(branding.primary)
    c.setFont(fonts.bold, 13)
    c.drawString(left, page_h - 18 * mm, "My safety plan: wallet card")
    c.setFillColor(branding.text)
    c.setFont(fonts.body, 9)
    c.drawString(left, page_h - 24 * mm, "Cut along the corner marks. Fold along the dashed lines, like a map, so the")
    c.drawString(
        left, page_h - 28.5 * mm, "card is the size of a bank card. There are two cards: one to keep, one spare."
    )
    top = page_h - 38 * mm
    for n in range(2):
        _strip(c, left + n * (CARD_W + gap), top, _panels(copy, fonts, branding), fonts, branding, copy.trust_name)
    c.setFont(fonts.body, 7.5)
    c.setFillColor(HexColor("#555555"))
    c.drawString(left, 10 * mm, copy.footer())
    c.showPage()
    c.save()
    return buf.getvalue()
