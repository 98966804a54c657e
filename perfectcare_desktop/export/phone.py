"""The phone copy: the person's plan on pages the shape of a phone screen, for the person to keep on
their phone. One column in large type; the crisis numbers open page 1, each on its own card, 999
first; every phone number a link that calls (tel:) or, for Shout, starts the text (sms:).

Sizes: a phone viewer fits the page's width to the screen, so a 90 mm page on a screen about 65 mm
wide (an iPhone 15 or a Pixel 8; an iPhone SE is 58 mm) is shown at 65/90 = 0.72 of its size. The
body at 22.5 pt is seen at 16.3 pt, like large print on paper, and nothing is under 19.5 pt (seen at
14.1 pt, large print's minimum): the header, the footer, the notes and a draft's mark included.

Unlike the A4 copies: no name (a phone copy is carried about and shown to others, like the wallet
card); the plan's title beside the logo on every page, and the trust's name under the numbers on
page 1 (at 19.5 pt it does not fit beside the logo); each number's "when" left to the A4 copies; an
empty section says so, with no lines to write on; the footer is "Page n of m" (the dates are on
page 1). A page is 90 x 200 mm, or taller when a nation's numbers and a trust's own need more room
on page 1: a viewer scrolls a tall page, and the type stays the same size.
"""

from __future__ import annotations

import dataclasses

from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer

from ..core.clinical.crisis_directory import CrisisContact
from ..core.clinical.plan_content import PersonSection
from ..core.clinical.wording import long_date
from .bidi import has_rtl, paragraph
from .branding import Branding
from .fonts import FontSet
from .links import contact_uri, link, unbroken
from .pages import Boxed, PageDecor, Styles, body_width, build_pdf, in_section, make_styles
from .person import DRAFT_MARK, PersonCopy, crisis_contacts, section_body

# A phone screen's shape (20:9): a viewer fits the width, so a page is about one screenful, page 1 the first.
PAGE = (90 * mm, 200 * mm)
MAX_PAGE_H = 14_400.0  # 200 inches: the largest page PDF viewers (Acrobat) open
MARGIN = 5 * mm
BODY_SIZE = 22.5  # seen at 22.5 * 65 / 90 = 16.3 pt on a screen 65 mm wide
MIN_SIZE = 19.5  # seen at 14.1 pt
HEADING_SIZE = 24.0  # the title and the headings, bold and in colour
NOT_FILLED = "Not filled in yet."
CRISIS_HEADING = "Help now"  # the A4 copies' "If you are in crisis now" takes two lines here
CARD_PAD = 2 * mm


def phone_styles(fonts: FontSet, branding: Branding) -> Styles:
    st = make_styles(fonts, branding, BODY_SIZE, MIN_SIZE)
    # The A4 copies' title (1.9 x body) and headings (1.25 x) would leave two or three words a line.
    title = st.title.clone("phone-title", fontSize=HEADING_SIZE, leading=HEADING_SIZE * 1.2)
    heading = st.heading.clone("phone-heading", fontSize=HEADING_SIZE, leading=HEADING_SIZE * 1.2)
    return dataclasses.replace(st, title=title, heading=heading)


def crisis_card(contact: CrisisContact, st: Styles, fonts: FontSet, branding: Branding) -> list[Flowable]:
    """One crisis contact on a card: its name, then what to do as a link in bold, a number's groups
    never broken across lines. (The "when" of each number is on the A4 copies: here it would push the
    other numbers down a screen or two.)"""
    how = link(fonts.markup(unbroken(contact.how), bold=True), contact_uri(contact))
    rows: list[Flowable] = [Paragraph(fonts.markup(contact.name), st.small.clone("cn", spaceAfter=1)),
                            Paragraph(how, st.body.clone("ch", spaceAfter=0))]  # fmt: skip
    return [Boxed(rows, branding.accent, branding.primary, CARD_PAD), Spacer(1, 2 * mm)]


def _section(copy: PersonCopy, section: PersonSection, st: Styles, fonts: FontSet, width: float) -> list[Flowable]:
    if not section.lines and not section.note:  # nothing to write on on a phone
        return [Paragraph(fonts.markup(NOT_FILLED), st.note)]
    return section_body(copy, section, st, fonts, width)


def _logo_width(branding: Branding, height: float) -> float:
    logo = branding.logo
    if logo is None:
        return 0.0
    w, h = (logo.width, logo.height) if isinstance(logo, Drawing) else logo.getSize()
    return height * w / h


def header_name(copy: PersonCopy, fonts: FontSet, branding: Branding, decor: PageDecor) -> str:
    """The plan's title for the header beside the logo, on every page, where it fits on one line and is
    in the body font (the header draws one plain string: no wrapping, no right-to-left shaping); else
    "" and the title opens page 1. The trust's name (too long for the header at this size) is on page 1."""
    title = copy.layout.title
    room = decor.pagesize[0] - 2 * decor.margin - _logo_width(branding, decor.logo_h) - 4 * mm
    plain = fonts.runs(title) == [(fonts.body, title)] and not has_rtl(title)
    return title if plain and fonts.width(title, max(11, decor.min_size), bold=True) <= room else ""


def crisis_block(copy: PersonCopy, st: Styles, fonts: FontSet, branding: Branding, title: bool) -> list[Flowable]:
    """What page 1 opens with: the title (unless the header has it), every crisis number, 999 first,
    and the date they were checked."""
    width = body_width(PAGE, MARGIN)
    block: list[Flowable] = [paragraph(copy.layout.title, st.title, fonts, width, bold=True)] if title else []
    block.append(Paragraph(fonts.markup(CRISIS_HEADING, bold=True), st.heading.clone("crisis", spaceBefore=0)))
    for contact in crisis_contacts(copy):
        block += crisis_card(contact, st, fonts, branding)
    block.append(Paragraph(fonts.markup(f"Numbers checked on {long_date(copy.directory.checked_on)}."), st.small))
    return block


def block_height(block: list[Flowable], width: float) -> float:
    """The height the flowables take one after another in a frame (a little over, never under)."""
    return sum(f.wrap(width, 100_000)[1] + f.getSpaceBefore() + f.getSpaceAfter() for f in block) + 2


def rest_of_story(copy: PersonCopy, st: Styles, fonts: FontSet, branding: Branding) -> list[Flowable]:
    """After the numbers: the trust and the dates, the layout's introduction, then each section
    numbered, in the layout's order."""
    width = body_width(PAGE, MARGIN)
    story: list[Flowable] = [Spacer(1, st.size * 0.6)]
    if copy.trust_name:
        story.append(paragraph(copy.trust_name, st.small.clone("trust", textColor=branding.primary), fonts, width,
                               bold=True))  # fmt: skip
    # A draft's line says so ("Draft — not yet agreed. Printed on ..."); the mark is across every page too.
    dates = copy.dates_line() if copy.draft else f"{copy.dates_line()} Printed on {long_date(copy.printed_on)}."
    story.append(Paragraph(fonts.markup(dates.strip(), bold=copy.draft), st.small))
    if copy.layout.intro:
        story += [Spacer(1, st.size * 0.6), paragraph(copy.layout.intro, st.body, fonts, width)]
    for n, section in enumerate(copy.sections, start=1):
        heading = paragraph(f"{n}. {section.title}", st.heading, fonts, width, bold=True)
        # Not kept together as on A4 (section_block): on a page this small that leaves half-empty pages;
        # the heading's keepWithNext keeps it with the first line of its section.
        story += in_section([heading, *_section(copy, section, st, fonts, width)], section.title)
    return story


def render_phone_copy(copy: PersonCopy, fonts: FontSet, branding: Branding) -> bytes:
    # The footer is only "Page n of m": the dates are on page 1, under the numbers.
    decor = PageDecor(fonts, branding, copy.trust_name, "", mark=DRAFT_MARK if copy.draft else "",
                       body_size=BODY_SIZE, min_size=MIN_SIZE, pagesize=PAGE, margin=MARGIN)  # fmt: skip
    decor = dataclasses.replace(decor, header=header_name(copy, fonts, branding, decor))
    st = phone_styles(fonts, branding)
    first = crisis_block(copy, st, fonts, branding, title=not decor.header)
    height = max(PAGE[1], decor.header_h + decor.footer_h + block_height(first, body_width(PAGE, MARGIN)))
    height = min(height, MAX_PAGE_H)  # past it, the numbers run on to page 2
    decor = dataclasses.replace(decor, pagesize=(PAGE[0], height))
    story = first + rest_of_story(copy, st, fonts, branding)
    return build_pdf(story, decor, title=copy.layout.title, subject="Safety plan (the person's copy, for a phone)")
