"""The easy-read copy of the person's plan: body 16 pt (nothing smaller), a picture beside each
section, a short plain introduction; the crisis numbers on page 1, under the title."""

from __future__ import annotations

from reportlab.graphics.shapes import Drawing, Group
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from .bidi import paragraph
from .branding import Branding, section_icon
from .fonts import FontSet
from .pages import body_width, make_styles
from .person import BODY_SIZES, EASY_READ, EASY_READ_INTRO, MIN_SIZES, PersonCopy, crisis_box, section_body, title_block


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


def easy_read_story(copy: PersonCopy, fonts: FontSet, branding: Branding) -> list[Flowable]:
    st = make_styles(fonts, branding, BODY_SIZES[EASY_READ], MIN_SIZES[EASY_READ])
    width = body_width()
    story = title_block(copy, st, fonts, width)
    story += [Spacer(1, st.size * 0.4), crisis_box(copy, st, fonts, branding), Spacer(1, st.size * 0.6)]
    story.append(paragraph(EASY_READ_INTRO, st.body, fonts, width))
    icon_size = 22 * mm
    text_width = width - icon_size - 6 * mm
    for section in copy.sections:
        heading = paragraph(section.title, st.heading.clone("h", spaceBefore=0), fonts, text_width, bold=True)
        body = section_body(copy, section, st, fonts, text_width)
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
    return story
