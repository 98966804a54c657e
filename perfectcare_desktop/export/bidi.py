"""Right-to-left text (Arabic, Urdu) for reportlab, which neither shapes nor reorders it.

Shaping: arabic-reshaper turns letters into their joined presentation forms. Order: python-bidi's
`get_display` puts each line in visual order. Because reordering is per line, a paragraph with any
right-to-left text is wrapped here first, in logical order, at the width it will be drawn at, and each
line is then reordered on its own; reportlab is given the finished lines. A line that is mainly
right-to-left is right-aligned.
"""

from __future__ import annotations

import re
import unicodedata
from copy import copy

import arabic_reshaper

# The pure-Python algorithm of python-bidi, not its default Rust one: only this one mirrors brackets,
# so "(sister)" in an Urdu line does not print as ")sister(".
from bidi.algorithm import get_display
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph

from ..core.wording import mainly_rtl
from .fonts import FontSet
from .links import link_phones

_reshaper = arabic_reshaper.ArabicReshaper()
# A phone number's groups ("07700 900123") must stay in order inside right-to-left text: a no-break
# space is a common separator in the bidi algorithm, so the digits stay one number.
_DIGIT_SPACE = re.compile(r"(?<=\d) (?=\d)")


def has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


def visual(line: str, *, rtl_base: bool | None = None) -> str:
    """One line, shaped and in visual (left-to-right drawing) order."""
    base = "R" if (mainly_rtl(line) if rtl_base is None else rtl_base) else "L"
    return get_display(_reshaper.reshape(_DIGIT_SPACE.sub("\u00a0", line)), base_dir=base)


def wrap_logical(text: str, fonts: FontSet, size: float, width: float, *, bold: bool = False) -> list[str]:
    """Greedy word wrap in logical order, measured on the shaped text (joined forms are narrower)."""
    lines: list[str] = []
    for raw in text.split("\n"):
        current = ""
        for word in raw.split(" "):
            candidate = f"{current} {word}" if current else word
            if current and fonts.width(_reshaper.reshape(candidate), size, bold=bold) > width:
                lines.append(current)
                current = word
            else:
                current = candidate
        lines.append(current)
    return lines


def paragraph(text: str, style: ParagraphStyle, fonts: FontSet, width: float, *, bold: bool = False,
              prefix: str = "", bullet: str = "", ltr: bool = False) -> Paragraph:  # fmt: skip
    """A Paragraph of plain text in any script, its phone numbers tap-to-call links (links.py).
    `prefix` is ready-made markup (e.g. a bold name) placed before left-to-right text only. `bullet`
    goes on the side the line starts from: the left for left-to-right text, the right of the first
    line for right-to-left text. `ltr` keeps the line left-to-right whatever it holds (an English
    label before a right-to-left name)."""
    if not has_rtl(text):
        body = link_phones(fonts.markup(text, bold=bold)).replace("\n", "<br/>")
        return Paragraph(prefix + body, style, bulletText=bullet or None)
    rtl = not ltr and mainly_rtl(text)
    indent = style.leftIndent if bullet else 0
    # A little slack: reportlab must not wrap the finished lines a second time.
    lines = wrap_logical(text, fonts, style.fontSize, (width - indent) * 0.97, bold=bold)
    visual_lines = [link_phones(fonts.markup(visual(line, rtl_base=rtl), bold=bold)) for line in lines]
    aligned = copy(style)
    if rtl:
        aligned.alignment = TA_RIGHT
        if bullet:  # mirrored: the bullet at the right of the first line, the text indented from the right
            aligned.leftIndent, aligned.rightIndent = 0, 0
            visual_lines = [f"{v}\u00a0\u00a0{bullet}" if n == 0 else f"{v}\u00a0\u00a0\u00a0\u00a0"
                            for n, v in enumerate(visual_lines)]  # fmt: skip
        return Paragraph("<br/>".join(visual_lines), aligned)
    if style.alignment == TA_RIGHT:
        aligned.alignment = TA_LEFT
    return Paragraph(prefix + "<br/>".join(visual_lines), aligned, bulletText=bullet or None)
