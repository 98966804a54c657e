"""The trust's branding on printed copies (resources/branding/branding.json) and the easy-read
pictures (resources/icons/*.svg).

`load_branding()` never fails: a missing or broken file, logo or colour is named in
`Branding.problems` and the default is used (the neutral default logo, the default colours).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportlab.graphics.shapes import Drawing
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from ..core.resources import resources_dir

FORMAT = "perfectcare.branding/1"
DEFAULT_LOGO = "default-logo.svg"
DEFAULT_COLOURS = {"primary": "#1F5F8B", "accent": "#E6F0F6", "text": "#1A1A1A"}
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")
_log = logging.getLogger(__name__)

# svglib is imported lazily: it pulls in lxml, which a preview of a plain copy does not need.
Logo = Drawing | ImageReader


@dataclass(frozen=True)
class Branding:
    trust_name: str  # "" means: the store's organisation name
    primary: Color
    accent: Color
    text: Color
    logo: Logo | None = field(default=None, compare=False)
    problems: tuple[str, ...] = ()

    def draw_logo(self, canvas: Canvas, x: float, y: float, height: float) -> float:
        """Draw the logo with its bottom-left at (x, y), `height` high; returns the width used."""
        if self.logo is None:
            return 0.0
        if isinstance(self.logo, Drawing):
            scale = height / self.logo.height
            canvas.saveState()
            canvas.translate(x, y)
            canvas.scale(scale, scale)
            # A drawing starts in Helvetica unless told: that would add an unembedded font to the PDF.
            # Both are reportlab's (a Drawing's attribute map, the canvas's current font) but missing
            # from types-reportlab.
            self.logo.initialFontName = canvas._fontname  # type: ignore[attr-defined]
            self.logo.initialFontSize = canvas._fontsize  # type: ignore[attr-defined]  # else 10 pt, under large print's minimum
            self.logo.drawOn(canvas, 0, 0)
            canvas.restoreState()
            return self.logo.width * scale
        w, h = self.logo.getSize()
        width = height * w / h
        canvas.drawImage(self.logo, x, y, width, height, mask="auto")
        return width


_lock = threading.Lock()
_svg_cache: dict[tuple[str, float], Drawing | None] = {}


def load_svg(path: Path) -> Drawing | None:
    """An SVG file as a reportlab Drawing (cached by file and modification time), or None."""
    try:
        key = (str(path), path.stat().st_mtime)
    except OSError:
        return None
    with _lock:
        if key not in _svg_cache:
            from svglib.svglib import svg2rlg

            try:
                _svg_cache[key] = svg2rlg(str(path))
            except Exception:  # svglib raises lxml and its own errors for a broken file
                _svg_cache[key] = None
        return _svg_cache[key]


def _load_logo(path: Path) -> Logo | None:
    if path.suffix.lower() == ".svg":
        drawing = load_svg(path)
        return drawing if drawing is not None and drawing.height > 0 else None
    try:
        reader = ImageReader(str(path))
        reader.getSize()
        return reader
    except Exception:  # PIL raises several kinds of error for a file that is not an image
        return None


def load_branding(folder: Path | None = None) -> Branding:
    folder = folder or resources_dir() / "branding"
    source = folder / "branding.json"
    problems: list[str] = []
    data: dict[str, Any] = {}
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise ValueError(f"'format' must be \"{FORMAT}\"")
        data = raw
    except (OSError, ValueError) as exc:
        problems.append(f"The branding file {source} cannot be used ({exc}); the default branding is used.")

    name = data.get("trust_name", "")
    if not isinstance(name, str) or len(name) > 200:
        problems.append("branding.json: 'trust_name' must be text of at most 200 characters; the store's name is used.")
        name = ""
    colours = dict(DEFAULT_COLOURS)
    given = data.get("colours", {})
    for role in DEFAULT_COLOURS:
        value = given.get(role) if isinstance(given, dict) else None
        if value is None:
            continue
        if isinstance(value, str) and _HEX.match(value):
            colours[role] = value
        else:
            problems.append(f"branding.json: colour '{role}' must look like #1F5F8B (found {value!r}); default used.")

    logo_name = data.get("logo", DEFAULT_LOGO) if data else DEFAULT_LOGO
    logo = None
    if isinstance(logo_name, str) and logo_name and "/" not in logo_name and "\\" not in logo_name:
        logo = _load_logo(folder / logo_name)
        if logo is None:
            problems.append(f"The logo file {logo_name} is missing or not a readable image; the default logo is used.")
    elif logo_name:
        problems.append("branding.json: 'logo' must be a file name in the branding folder; the default logo is used.")
    if logo is None:
        logo = _load_logo(resources_dir() / "branding" / DEFAULT_LOGO)
    for problem in problems:
        _log.warning("%s", problem)
    return Branding(
        name.strip(),
        HexColor(colours["primary"]),
        HexColor(colours["accent"]),
        HexColor(colours["text"]),
        logo,
        tuple(problems),
    )


def section_icon(key: str, folder: Path | None = None) -> Drawing | None:
    """The easy-read picture for a section key (or the fallback picture)."""
    folder = folder or resources_dir() / "icons"
    return load_svg(folder / f"{key}.svg") or load_svg(folder / "fallback.svg")
