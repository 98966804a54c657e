"""The wallet card: a strip of four credit-card-size panels (85.6 x 54 mm), printed twice on A4 (one
to keep, one spare) with cut marks at the corners and dashed fold lines between the panels. Folded
like a map, it is the size of a bank card.

Panels: 1. the plan's name, "in danger now: call 999", the draft mark, and what matters most to the
person (their reasons for living) when they wrote any; 2. the crisis numbers of the CURRENT directory,
999 first, with their "checked on" date; 3. the first steps the person can take on their own; 4. the
people they can call. No name on the card: it is carried about and may be lost.

No text on the page is under 9 pt, and nothing is shrunk to fit. Each part (the cover, the numbers,
the steps, the people) is set at 11, 10 or 9 pt: the largest at which everything in it fits whole (a
folded card shows one panel at a time). At 9 pt, what does not fit is left to the full plan: an entry
too long for the card is shortened at a word boundary and ends "…see your full plan", and when not
every entry fits the panel ends "…more in your full plan". The crisis numbers are never left off:
past one panel they run on into the next. Every phone number is a link that calls (tel:) or, for
Shout, starts the text (sms:).
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from dataclasses import dataclass

from reportlab.lib.colors import HexColor
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph

from ..core.clinical.crisis_directory import CrisisContact
from ..core.clinical.wording import long_date
from .bidi import paragraph
from .branding import Branding
from .fonts import FontSet
from .links import NBSP, contact_uri, link, tel_uri, unbroken
from .pages import make_styles
from .person import DRAFT_MARK, EMERGENCY, PersonCopy, crisis_contacts, entry_paragraph

CARD_W, CARD_H = 85.6 * mm, 54 * mm
PANELS = 4
PAD = 3 * mm  # text inset from a panel's edges
BAND = 11 * mm  # the cover's band with the logo and the trust's name
MIN_SIZE = 9.0  # no text on the page is smaller: body, dates, "fold", the instructions, the footer
SIZES = (11.0, 10.0, MIN_SIZE)  # the card's type: the largest at which every entry fits whole
MAX_ENTRY_LINES = 3  # an entry longer than this is shortened: room for the others
SEE_PLAN = "…see your full plan"
MORE = "…more in your full plan"
MEASURED = 600  # characters of an entry ever measured: more can never fit on a panel at 9 pt
GREY = HexColor("#555555")
COPING_KEYS = ("coping_alone",)
PEOPLE_KEYS = ("people_to_ask", "professionals")
REASONS = "reasons_for_living"


@dataclass(frozen=True)
class _Styles:
    title: ParagraphStyle
    head: ParagraphStyle
    body: ParagraphStyle
    bullet: ParagraphStyle
    grey: ParagraphStyle
    band: ParagraphStyle


def _styles(fonts: FontSet, branding: Branding, size: float = MIN_SIZE) -> _Styles:
    body = ParagraphStyle("card", fontName=fonts.body, fontSize=size, leading=size * 1.3, textColor=branding.text,
                          spaceAfter=1)  # fmt: skip
    head = ParagraphStyle("cardh", parent=body, fontName=fonts.bold, fontSize=size + 1.5, leading=(size + 1.5) * 1.2,
                          textColor=branding.primary, spaceAfter=2)  # fmt: skip
    return _Styles(
        title=ParagraphStyle("cardt", parent=head, fontSize=size + 4, leading=(size + 4) * 1.2),
        head=head,
        body=body,
        bullet=ParagraphStyle("cardb", parent=body, leftIndent=size * 0.9, bulletIndent=0, bulletFontName=fonts.body,
                              bulletFontSize=size, spaceAfter=1.5),
        grey=ParagraphStyle("cardg", parent=body, textColor=GREY),
        # The band is 11 mm whatever the card's size: two lines of the trust's name at the minimum.
        band=ParagraphStyle("cardn", parent=body, fontName=fonts.bold, fontSize=MIN_SIZE, leading=10.5,
                            textColor=branding.primary, spaceAfter=0),
    )  # fmt: skip


def _height(f: Flowable, width: float) -> float:
    return f.wrap(width, 10_000)[1] + f.getSpaceAfter()


def shorten(text: str, make: Callable[[str], Flowable], width: float, room: float,
            suffix: str = SEE_PLAN) -> tuple[Flowable | None, bool]:  # fmt: skip
    """(the text whole, True) if it fits in `room`, else (as many whole words as fit followed by
    `suffix`, False): never a word cut in two, so a single word too long for the room leaves the suffix
    alone. (None, False) if not even the suffix fits."""
    flat = " ".join(text.split())
    if len(flat) <= MEASURED:
        whole = make(flat)
        if _height(whole, width) <= room:
            return whole, True
    words = unbroken(flat[: MEASURED + 1]).split(" ")  # "07700 900123" stays one word when shortening
    if len(flat) > MEASURED:
        words = words[:-1]  # cut at MEASURED: its last word may be a part of one

    def attempt(k: int) -> Flowable:
        kept = " ".join(words[:k]).rstrip(" ,;:-–—")
        return make(f"{kept} {suffix}" if kept else suffix)

    best = attempt(0)
    if _height(best, width) > room:
        return None, False
    lo, hi = 0, len(words)  # attempt(lo) fits; find the most words that still fit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        candidate = attempt(mid)
        if _height(candidate, width) <= room:
            lo, best = mid, candidate
        else:
            hi = mid - 1
    return best, False


def fill(width: float, room: float, head: list[Flowable], entries: list[str], make: Callable[[str], Flowable],
         more: Flowable, line: float) -> tuple[list[Flowable], bool]:  # fmt: skip
    """(`head`, then as many entries as fit in `room`, each at most MAX_ENTRY_LINES of `line` and
    shortened if longer, then `more` when some were left off; whether every entry is there whole).
    Nothing when not even `head` and `more` fit. Space for `more` is kept until the last entry."""
    used = sum(_height(f, width) for f in head)
    more_h = _height(more, width)
    if used + more_h > room:
        return [], False
    out = list(head)
    shown = 0
    complete = True
    for n, text in enumerate(entries):
        last = n == len(entries) - 1
        f, whole = shorten(text, make, width, min(MAX_ENTRY_LINES * line + 2, room - used - (0 if last else more_h)))
        if f is None:
            break
        out.append(f)
        used += _height(f, width)
        shown += 1
        complete = complete and whole
    if shown < len(entries) and used + more_h <= room + 0.01:
        out.append(more)
    return out, complete and shown == len(entries)


def _section_lines(copy: PersonCopy, keys: tuple[str, ...], kind: str) -> list[str]:
    """The entries of the named sections; for a layout without any of them, of its sections of `kind`."""
    if not any(copy.layout.section(k) for k in keys):
        keys = tuple(s.key for s in copy.layout.sections if s.kind == kind and s.key != REASONS)
    out: list[str] = []
    for key in keys:
        section = copy.section(key)
        if section is not None:
            out += section.lines
    return out


def reasons_section(copy: PersonCopy) -> tuple[str, list[str]]:
    """The reasons-for-living section's title and entries (by key, or a layout's own kind of that name)."""
    keys = [s.key for s in copy.layout.sections if REASONS in (s.key, s.kind)]
    section = next((copy.section(k) for k in keys if copy.section(k) is not None), None)
    return (section.title, list(section.lines)) if section else ("", [])


def _crisis_markup(contact: CrisisContact, fonts: FontSet) -> str:
    """A contact's name and what to do, a tap-to-call or text link; its "when" is on the A4 copies."""
    return f"{fonts.markup(contact.name)}: {link(fonts.markup(unbroken(contact.how), bold=True), contact_uri(contact))}"


Make = Callable[[str], Flowable]


def _makers(fonts: FontSet, branding: Branding, st: _Styles) -> tuple[Make, Make, Paragraph]:
    """An entry as a bullet, a contact as a bullet with the name in bold, and the "more" line."""
    w = CARD_W - 2 * PAD
    size = st.body.fontSize
    entry_st = dataclasses.replace(make_styles(fonts, branding, size, size), bullet=st.bullet)

    def plain(text: str) -> Flowable:
        return paragraph(text, st.bullet, fonts, w, bullet="•")

    def contact(text: str) -> Flowable:
        return entry_paragraph(text, entry_st, fonts, w, contacts=True)

    return plain, contact, Paragraph(fonts.markup(MORE), st.grey)


def _cover(copy: PersonCopy, fonts: FontSet, branding: Branding, st: _Styles) -> tuple[list[Flowable], bool]:
    """Panel 1 under the band, and whether everything is on it whole at this size."""
    w = CARD_W - 2 * PAD
    plain, _, more = _makers(fonts, branding, st)
    complete = True
    room = CARD_H - BAND - 2 * PAD
    call_999 = link(fonts.markup(f"call{NBSP}{EMERGENCY}", bold=True), tel_uri(EMERGENCY))
    cover: list[Flowable] = [
        paragraph(copy.layout.title, st.title, fonts, w, bold=True),
        Paragraph(f"{fonts.markup('If your life is in danger,', bold=True)} {call_999}.", st.body),
    ]
    if copy.draft:
        cover.append(Paragraph(fonts.markup(f"{DRAFT_MARK}.", bold=True), st.body))
    title, reasons = reasons_section(copy)
    if reasons:
        heading = paragraph(title, st.head.clone("cardr", spaceBefore=3), fonts, w, bold=True)
        filled, complete = fill(w, room, [*cover, heading], reasons, plain, more, st.body.leading)
        cover = filled or cover
    else:
        cover.append(Paragraph(fonts.markup("Keep this card with you. Your full plan has more."), st.body))
    if copy.review_due and not copy.draft:
        due = Paragraph(fonts.markup(f"Plan to be looked at again by {long_date(copy.review_due)}."), st.grey)
        if sum(_height(f, w) for f in (*cover, due)) <= room:  # after the reasons, if there is room
            cover.append(due)
        else:
            complete = False
    return cover, complete


def _inner(copy: PersonCopy, fonts: FontSet, branding: Branding) -> list[list[Flowable]]:
    """Panels 2 to 4. The crisis numbers, 999 first, and the date they were checked: every one of them,
    at the largest size at which they fit their panel, else at the minimum going on into the next panel
    (a nation's and a trust's own numbers may be more than one panel holds). Then the person's own
    steps and people, each at the largest size at which every entry fits whole in the room left."""
    w = CARD_W - 2 * PAD
    room = CARD_H - 2 * PAD
    crisis: list[Flowable] = []
    st = _styles(fonts, branding)
    for size in SIZES:
        st = _styles(fonts, branding, size)
        checked = Paragraph(fonts.markup(f"Numbers checked on {long_date(copy.directory.checked_on)}."), st.grey)
        crisis = [Paragraph(fonts.markup("Help now", bold=True), st.head)]
        crisis += [Paragraph(_crisis_markup(c, fonts), st.body) for c in crisis_contacts(copy)] + [checked]
        if sum(_height(f, w) for f in crisis) <= room:
            break
    crisis_size = st.body.fontSize
    st = _styles(fonts, branding, crisis_size)  # the styles of the size the numbers are set at
    inner: list[list[Flowable]] = [[], [], []]
    used = [0.0, 0.0, 0.0]
    sizes = [SIZES[0]] * 3  # a panel's parts are no larger than the one above them
    panel = 0
    for f in crisis:
        h = _height(f, w)
        if used[panel] + h > room and panel < 2:
            panel += 1
            cont = Paragraph(fonts.markup("Help now (continued)", bold=True), st.head)
            inner[panel].append(cont)
            used[panel] += _height(cont, w)
        if used[panel] + h > room:  # past the last panel: no directory policy allows comes near
            break
        inner[panel].append(f)
        used[panel] += h
        sizes[panel] = crisis_size
    # The steps on panel 3 and the people on panel 4, in the room the numbers leave. Where the numbers
    # fill panel 3, the steps move to panel 4 and the two share it: neither is ever left off.
    smallest = _styles(fonts, branding)
    least = sum(_height(Paragraph("Xy", p), w) for p in (smallest.head, smallest.grey))  # a heading and a line
    coping_panel = max(panel, 1)
    if room - used[coping_panel] < least and coping_panel < 2:
        coping_panel += 1
    blocks = (
        ("Things I can do first", _section_lines(copy, COPING_KEYS, "entries"), 0, "Write here what helps you.",
         coping_panel),
        ("People I can call", _section_lines(copy, PEOPLE_KEYS, "contacts"), 1, "Write here who you can call.", 2),
    )  # fmt: skip
    for title, lines, kind, note, panel in blocks:
        space = room - used[panel]
        if panel == coping_panel == 2 and kind == 0:
            space = max(least, space / 2)  # half for the steps, the rest for the people
        block: list[Flowable] = []
        for size in (s for s in SIZES if s <= sizes[panel]):
            st = _styles(fonts, branding, size)
            heading = Paragraph(fonts.markup(title, bold=True), st.head)
            block, whole = [heading, Paragraph(fonts.markup(note), st.grey)], True
            if lines:
                plain, contact, more = _makers(fonts, branding, st)
                block, whole = fill(w, space, [heading], lines, (plain, contact)[kind], more, st.body.leading)
            if whole and sum(_height(f, w) for f in block) <= space:
                break
        if block and sum(_height(f, w) for f in block) <= space:
            inner[panel] += block
            used[panel] += sum(_height(f, w) for f in block)
            sizes[panel] = st.body.fontSize
    return inner


def _draw(c: Canvas, flowables: list[Flowable], x: float, top: float, width: float) -> None:
    """Top down, as measured by `fill` (no frame: its own spacing rules would measure differently)."""
    y = top
    for f in flowables:
        _, h = f.wrap(width, 10_000)
        y -= h
        f.drawOn(c, x, y)
        y -= f.getSpaceAfter()


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


def _band(c: Canvas, x: float, top: float, fonts: FontSet, branding: Branding, st: _Styles, trust_name: str) -> None:
    """The cover's band: the logo, and the trust's name on up to two lines (shortened at a word if longer)."""
    c.setFillColor(branding.accent)
    c.rect(x, top - BAND, CARD_W, BAND, stroke=0, fill=1)
    c.setFont(fonts.body, MIN_SIZE)  # the logo drawing starts in this font and size
    used = branding.draw_logo(c, x + PAD, top - BAND + 2 * mm, BAND - 4 * mm)
    left = x + PAD + (used + 2 * mm if used else 0)
    width = x + CARD_W - PAD - left
    name, _ = shorten(trust_name, lambda t: paragraph(t, st.band, fonts, width, bold=True), width,
                      2 * st.band.leading, suffix="…")  # fmt: skip
    if name is not None:
        _, h = name.wrap(width, BAND)
        name.drawOn(c, left, top - BAND / 2 - h / 2 + 1)


def _strip(c: Canvas, x: float, top: float, panels: list[list[Flowable]], fonts: FontSet, branding: Branding,
           st: _Styles, trust_name: str) -> None:  # fmt: skip
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
    _band(c, x, top, fonts, branding, st, trust_name)
    for n, content in enumerate(panels):
        panel_top = top - n * CARD_H - (BAND if n == 0 else 0)
        _draw(c, content, x + PAD, panel_top - PAD, CARD_W - 2 * PAD)


def _panels(copy: PersonCopy, fonts: FontSet, branding: Branding) -> tuple[_Styles, list[list[Flowable]]]:
    """The four panels, each part at the largest of SIZES at which everything in it fits whole, else at
    the minimum, shortened (a folded card shows one panel at a time). The cover's styles are returned
    for its band."""
    cover_st = _styles(fonts, branding)
    cover: list[Flowable] = []
    for size in SIZES:
        cover_st = _styles(fonts, branding, size)
        cover, complete = _cover(copy, fonts, branding, cover_st)
        if complete:
            break
    return cover_st, [cover, *_inner(copy, fonts, branding)]


def render_wallet_card(copy: PersonCopy, fonts: FontSet, branding: Branding) -> bytes:
    st = _styles(fonts, branding)  # the page's own text: the instructions, "fold", the footer
    buf = io.BytesIO()
    # A font name, as reportlab takes it; types-reportlab has initialFontName as a number.
    c = Canvas(buf, pagesize=A4, invariant=1, initialFontName=fonts.body, initialFontSize=MIN_SIZE)  # type: ignore[arg-type]
    c.setTitle(f"{copy.layout.title} — wallet card")
    c.setSubject("Safety plan wallet card (the person's copy)")
    c.setCreator("PerfectCare Desktop")
    page_w, page_h = A4
    gap = 14 * mm
    left = (page_w - 2 * CARD_W - gap) / 2
    text_w = page_w - 2 * left
    heading = f"{copy.layout.title}: wallet card" + (f" ({DRAFT_MARK.lower()})" if copy.draft else "")
    top = page_h - 14 * mm
    page_st = st.title.clone("paget", fontSize=13, leading=16, spaceAfter=3)
    how = (
        "Cut along the corner marks. Fold along the dashed lines, like a map, so the card is the size of a "
        "bank card. There are two cards: one to keep, one spare. Keep it with you: your full plan has more."
    )
    how_st = st.body.clone("how", fontSize=10, leading=12.5)
    _draw(c, [paragraph(heading, page_st, fonts, text_w, bold=True), Paragraph(fonts.markup(how), how_st)], left,
          top, text_w)  # fmt: skip
    top = page_h - 38 * mm
    for n in range(2):
        card, panels = _panels(copy, fonts, branding)  # anew for each strip: a flowable is drawn once
        _strip(c, left + n * (CARD_W + gap), top, panels, fonts, branding, card, copy.trust_name)
    # "fold" once between the two strips, where both strips' dashed lines point to it.
    fold = st.grey.clone("fold", alignment=TA_CENTER)
    for n in range(1, PANELS):
        _draw(c, [Paragraph("fold", fold)], left + CARD_W, top - n * CARD_H + st.body.leading / 2, gap)
    _draw(c, [Paragraph(fonts.markup(copy.footer()), st.grey)], left, 14 * mm, text_w)
    c.showPage()
    c.save()
    return buf.getvalue()
