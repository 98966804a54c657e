"""Right-to-left text is shaped (letters joined) and in reading order, checked in the PDF's text and
by rendering it."""

from __future__ import annotations

import io
from pathlib import Path

import arabic_reshaper
from export_helpers import URDU_LINE, Sample, pdf_text, render_png
from PIL import Image, ImageOps
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate

from perfectcare_desktop.core.session import Session
from perfectcare_desktop.export.bidi import paragraph, visual
from perfectcare_desktop.export.fonts import load_fonts
from perfectcare_desktop.export.service import patient_pdf


def presentation_forms(text: str) -> int:
    return sum(1 for ch in text if 0xFB50 <= ord(ch) <= 0xFEFF)


def test_urdu_line_is_shaped_and_in_visual_order(session: Session, samples: dict[str, Sample]) -> None:
    data = patient_pdf(session, samples["urdu"].patient_id, "standard").data
    # Shaping happened: joined forms (initial, medial, final) from the presentation-forms blocks.
    assert presentation_forms(visual(URDU_LINE)) >= 10
    # pypdf turns right-to-left runs it extracts back into reading order, so the extracted line equals
    # the shaped line in logical order only if the PDF draws it in visual order (reversed otherwise).
    text = pdf_text(data)
    assert presentation_forms(text) >= 10
    assert arabic_reshaper.reshape(URDU_LINE) in text
    # And the raw drawing: a line drawn visually starts (on the left) with the LAST word, shaped.
    words = URDU_LINE.split()
    assert visual(URDU_LINE).startswith(visual(words[-1]))


def test_phone_number_and_brackets_keep_their_order_in_an_urdu_contact() -> None:
    line = visual("فاطمہ (بہن) — 07700 900345")
    assert "07700\u00a0900345" in line  # not "900345 07700"
    assert "(" in line and line.index("(") < line.index(")")  # mirrored: reads (sister), not )sister(


def _ink_box(flowable: object, tmp: Path, name: str) -> tuple[int, int, int, int]:
    """Render one paragraph on an A4 page with pdftoppm; the bounding box of its ink, and page width."""
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=72, rightMargin=72).build([flowable])  # type: ignore[list-item]
    png = render_png(buf.getvalue(), tmp / name, dpi=100)[0]
    img = ImageOps.invert(Image.open(png).convert("L"))
    box = img.point(lambda p: 255 if p > 60 else 0).getbbox()
    assert box is not None
    return box[0], box[2], img.width, 0


def test_urdu_rendering_is_joined_and_right_aligned(tmp_path: Path) -> None:
    """By pixels: the shaped line is narrower than the same letters unjoined (joined forms are
    compact), and it sits against the right margin."""
    fonts = load_fonts()
    style = ParagraphStyle("u", fontName=fonts.body, fontSize=16, leading=22)
    width = A4[0] - 144
    left, right, page_w, _ = _ink_box(paragraph(URDU_LINE, style, fonts, width), tmp_path, "shaped")
    raw_left, raw_right, _, _ = _ink_box(Paragraph(fonts.markup(URDU_LINE), style), tmp_path, "raw")
    assert right - left < 0.9 * (raw_right - raw_left)
    margin_px = 72 / 72 * 100  # 1 inch at 100 dpi
    assert abs(right - (page_w - margin_px)) < 15  # flush with the right margin (glyph side bearings aside)
    assert left > page_w * 0.3  # and not starting from the left
