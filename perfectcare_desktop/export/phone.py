"""The phone copy: the person's plan on pages the shape of a phone screen, one column in large type,
for the person to keep on their phone. The crisis numbers open page 1; every number is a link that
calls (tel:) or, for Shout, starts the text (sms:)."""

from __future__ import annotations

from reportlab.lib.units import mm

from .branding import Branding
from .fonts import FontSet
from .pages import PageDecor, body_width, build_pdf
from .person import DRAFT_MARK, LARGE_PRINT, PersonCopy, person_story

PAGE = (90 * mm, 180 * mm)  # about a phone screen's shape; a viewer fits the width, so type stays large
MARGIN = 5 * mm
BODY_SIZE = 11.0  # on a 90 mm page shown full width on a phone, about large print on paper


def render_phone_copy(copy: PersonCopy, fonts: FontSet, branding: Branding) -> bytes:
    decor = PageDecor(fonts, branding, copy.trust_name, copy.footer(), mark=DRAFT_MARK if copy.draft else "",
                      body_size=BODY_SIZE, min_size=8.5, pagesize=PAGE, margin=MARGIN)  # fmt: skip
    story = person_story(copy, LARGE_PRINT, fonts, branding, width=body_width(PAGE, MARGIN), sizes=(BODY_SIZE, 8.5))
    return build_pdf(story, decor, title=copy.layout.title, subject="Safety plan (the person's copy, for a phone)")
