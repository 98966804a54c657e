"""Right-to-left text (Arabic, Urdu) for reportlab, which neither shapes nor reorders it.

Shaping: arabic-reshaper turns letters into their joined presentation forms. Order: python-bidi's
`get_display` puts each line in visual order. Because reordering is per line, a paragraph with any
right-to-left text is wrapped here first, in logical order, at the width it will be drawn at, and each
line is then reordered on its own; reportlab is given the finished lines. A line that is mainly
right-to-left is right-aligned.
"""

from __future__ import annotations

import unicodedata
from copy import copy

import arabic_reshaper

# The pure-Python algorithm of python-bidi, not its default Rust one: only this one mirrors brackets,
# so "(sister)" in an Urdu line does not print as ")sister(". It lacks rule N0 (paired brackets), which
# is added here between its steps.
from bidi import algorithm as uba
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph

from ..core.clinical.wording import mainly_rtl
from .fonts import FontSet
from .links import link_phones, unbroken

_reshaper = arabic_reshaper.ArabicReshaper()


_PAIRS = {"(": ")", "[": "]", "{": "}", "\u2329": "\u232a", "\u27e8": "\u27e9", "\uff08": "\uff09"}
_CLOSERS = {close: open_ for open_, close in _PAIRS.items()}


def _strong(kind: str) -> str:
    """A resolved type as N0 reads it: L, or R for right-to-left letters and numbers; else ""."""
    return "L" if kind == "L" else "R" if kind in ("R", "AL", "EN", "AN") else ""


def _resolve_bracket_pairs(storage: dict) -> None:
    """UAX #9 rule N0: a bracket pair takes the direction of the text it encloses when that matches the
    line's (embedding) direction, else the direction of what precedes it. Without it, "(Daughter)"
    in an Urdu line printed as "Daughter) — 07700 900789)": the closing bracket joined the English run.
    Levels here are a paragraph's own (no explicit embeddings), so each level run is a sequence."""
    for run in storage["runs"]:
        chars = storage["chars"][run["start"] : run["start"] + run["length"]]
        embedding = "R" if chars and chars[0]["level"] % 2 else "L"
        pairs: list[tuple[int, int]] = []  # (opener, closer) positions
        stack: list[tuple[str, int]] = []  # (opener, position)
        for n, ch in enumerate(chars):  # BD16: openers on a stack, a closer matches the nearest opener
            if ch["type"] != "ON":
                continue
            if ch["ch"] in _PAIRS:
                if len(stack) == 63:
                    break
                stack.append((ch["ch"], n))
            elif ch["ch"] in _CLOSERS:
                for depth in range(len(stack) - 1, -1, -1):
                    if stack[depth][0] == _CLOSERS[ch["ch"]]:
                        pairs.append((stack[depth][1], n))
                        del stack[depth:]
                        break
        for open_at, close_at in sorted(pairs):
            inside = {_strong(c["type"]) for c in chars[open_at + 1 : close_at]} - {""}
            if not inside:
                continue
            if embedding in inside:
                direction = embedding
            else:
                before = next((_strong(c["type"]) for c in reversed(chars[:open_at]) if _strong(c["type"])), run["sor"])
                direction = before  # the opposite direction if the text before is so, else the embedding
            chars[open_at]["type"] = chars[close_at]["type"] = direction


def get_display(text: str, base_dir: str) -> str:
    """python-bidi's pure-Python get_display with rule N0 added (see _resolve_bracket_pairs)."""
    storage = uba.get_empty_storage()
    storage["base_level"] = uba.PARAGRAPH_LEVELS[base_dir]
    storage["base_dir"] = base_dir
    uba.get_embedding_levels(text, storage, False, False)
    uba.explicit_embed_and_overrides(storage, False)
    uba.resolve_weak_types(storage, False)
    _resolve_bracket_pairs(storage)
    uba.resolve_neutral_types(storage, False)
    uba.resolve_implicit_levels(storage, False)
    uba.reorder_resolved_levels(storage, False)
    uba.apply_mirroring(storage, False)
    return "".join(ch["ch"] for ch in storage["chars"])


def has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


def visual(line: str, *, rtl_base: bool | None = None) -> str:
    """One line, shaped and in visual (left-to-right drawing) order."""
    base = "R" if (mainly_rtl(line) if rtl_base is None else rtl_base) else "L"
    # A phone number's groups ("07700 900123") stay in order inside right-to-left text: a no-break space
    # is a common separator in the bidi algorithm, so the digits stay one number.
    return get_display(_reshaper.reshape(unbroken(line)), base_dir=base)


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
        body = link_phones(fonts.markup(text, bold=bold, size=style.fontSize)).replace("\n", "<br/>")
        return Paragraph(prefix + body, style, bulletText=bullet or None)
    rtl = not ltr and mainly_rtl(text)
    indent = style.leftIndent if bullet else 0
    # A little slack: reportlab must not wrap the finished lines a second time.
    lines = wrap_logical(text, fonts, style.fontSize, (width - indent) * 0.97, bold=bold)
    visual_lines = [link_phones(fonts.markup(visual(line, rtl_base=rtl), bold=bold, size=style.fontSize))
                    for line in lines]  # fmt: skip
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
