"""Fonts for the PDFs: find TrueType files, register them with reportlab once, and split text into
runs per script, because reportlab has no automatic font fallback.

Where fonts come from, in order: `resources/fonts/` (the Windows bundle ships its own), then the
system folders (Linux /usr/share/fonts and ~/.local/share/fonts; Windows %WINDIR%\\Fonts).

| role   | file (first found)                       | why                                           |
|--------|------------------------------------------|-----------------------------------------------|
| body   | DejaVuSans (+ Bold)                      | Latin, Welsh ŵ ŷ, Polish, most symbols        |
| arabic | NotoNaskhArabic (+ Bold), else DejaVu    | Arabic and Urdu (DejaVu lacks Urdu ہ ے)       |
| emoji  | Symbola, else Segoe UI Symbol            | monochrome emoji (colour emoji cannot embed)  |

A missing font never stops a print: the role falls back (body -> Helvetica, which is not embedded
and Latin-only; arabic -> the body font; emoji -> the body font) and `FontSet.problems` names the
file that was not found, for the caller to show.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from ..core.resources import resources_dir

BODY = ("DejaVuSans.ttf",)
BODY_BOLD = ("DejaVuSans-Bold.ttf",)
ARABIC = ("NotoNaskhArabic-Regular.ttf", "NotoSansArabic-Regular.ttf")
ARABIC_BOLD = ("NotoNaskhArabic-Bold.ttf", "NotoSansArabic-Bold.ttf")
EMOJI = ("Symbola_hint.ttf", "Symbola.ttf", "seguisym.ttf")
ARABIC_SCALE = 1.2  # measured: Noto Naskh's letter body against DejaVu Sans's x-height (FontSet.arabic_scale)

# Invisible joiners and selectors that emoji sequences use: a monochrome font draws each part on
# its own, so they are dropped rather than printed as empty boxes. Tag characters make the Welsh
# flag out of a black flag; the black flag alone is printed.
_DROP = frozenset([0x200D, 0xFE0E, 0xFE0F, 0x20E3] + list(range(0xE0020, 0xE0080)) + list(range(0x1F3FB, 0x1F400)))


def is_arabic(ch: str) -> bool:
    """Arabic-script letters, including the presentation forms that reshaping produces."""
    o = ord(ch)
    return 0x0600 <= o <= 0x08FF or 0xFB50 <= o <= 0xFDFF or 0xFE70 <= o <= 0xFEFF


def default_search_dirs() -> list[Path]:
    dirs = [resources_dir() / "fonts"]
    if sys.platform == "win32":
        dirs.append(Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts")
        local = os.environ.get("LOCALAPPDATA")
        if local:
            dirs.append(Path(local) / "Microsoft" / "Windows" / "Fonts")
    else:
        dirs += [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".local/share/fonts"]
        if sys.platform == "darwin":
            dirs += [Path("/Library/Fonts"), Path("/System/Library/Fonts")]
    return dirs


def _index(dirs: Iterable[Path]) -> dict[str, Path]:
    """file name (lower case) -> first path found, searching the folders in order."""
    found: dict[str, Path] = {}
    for folder in dirs:
        if not folder.is_dir():
            continue
        for root, _, files in os.walk(folder):
            for name in files:
                if name.lower().endswith(".ttf"):
                    found.setdefault(name.lower(), Path(root) / name)
    return found


@dataclass(frozen=True)
class FontSet:
    """Registered reportlab font names for each role, and what could not be found."""

    body: str
    bold: str
    arabic: str
    arabic_bold: str
    emoji: str
    problems: tuple[str, ...] = ()
    # Naskh letters sit on a smaller body than DejaVu's Latin x-height (0.42 em against 0.55 em): Urdu
    # at the same point size looks a size smaller than the English beside it, so its runs are enlarged.
    arabic_scale: float = 1.0
    _cmaps: dict[str, frozenset[int]] = field(default_factory=dict, repr=False, compare=False)
    # Characters the body font draws that need no other font: text made only of these is one run.
    _plain: dict[str, frozenset[str]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def embedded(self) -> bool:
        return self.body not in pdfmetrics.standardFonts

    def covers(self, font: str, ch: str) -> bool:
        cmap = self._cmaps.get(font)
        return cmap is None or ord(ch) in cmap

    def runs(self, text: str) -> list[tuple[str, str]]:
        """Split text into (font name, text) runs: Arabic script in the Arabic font, characters the
        body font lacks (emoji) in the emoji font, the rest in the body font. Regular weights: bold
        is a <b> around the markup, which the registered font families turn into the bold faces."""
        body, arabic = self.body, self.arabic
        plain = self._plain.get(body)
        if plain is not None and plain.issuperset(text):  # the common case, one set operation
            return [(body, text)] if text else []
        out: list[tuple[str, str]] = []
        for ch in text:
            if ord(ch) in _DROP:
                continue
            if is_arabic(ch):
                font = arabic
            elif ch.isspace() or self.covers(body, ch):
                font = out[-1][0] if out and ch.isspace() else body
            elif self.covers(self.emoji, ch):
                font = self.emoji
            else:
                font = body  # drawn as a missing-glyph box; rare, and the rest of the line still prints
            if out and out[-1][0] == font:
                out[-1] = (font, out[-1][1] + ch)
            else:
                out.append((font, ch))
        return out

    def markup(self, text: str, *, bold: bool = False, size: float | None = None) -> str:
        """Paragraph markup for plain text: escaped, each run in its font; with the paragraph's `size`,
        Arabic-script runs at the size that matches the Latin text visually (`arabic_scale`)."""
        parts = []
        for font, run in self.runs(text):
            safe = escape(run)
            if font == self.body:
                parts.append(safe)
            elif font == self.arabic and size and self.arabic_scale != 1.0:
                parts.append(f'<font name="{font}" size="{size * self.arabic_scale:.2f}">{safe}</font>')
            else:
                parts.append(f'<font name="{font}">{safe}</font>')
        out = "".join(parts)
        return f"<b>{out}</b>" if bold else out

    def width(self, text: str, size: float, *, bold: bool = False) -> float:
        weights = {self.body: self.bold, self.arabic: self.arabic_bold} if bold else {}
        return sum(
            pdfmetrics.stringWidth(
                run, weights.get(font, font), size * (self.arabic_scale if font == self.arabic else 1)
            )
            for font, run in self.runs(text)
        )


_lock = threading.Lock()
_cache: dict[tuple[str, ...], FontSet] = {}


def load_fonts(search_dirs: Sequence[Path] | None = None) -> FontSet:
    """Find and register the fonts (once per set of folders; safe from any thread)."""
    dirs = list(search_dirs) if search_dirs is not None else default_search_dirs()
    key = tuple(str(d) for d in dirs)
    with _lock:
        if key not in _cache:
            _cache[key] = _load(dirs)
        return _cache[key]


def _register(index: dict[str, Path], names: Sequence[str], cmaps: dict[str, frozenset[int]]) -> str | None:
    for name in names:
        path = index.get(name.lower())
        if path is None:
            continue
        font_name = f"PC-{Path(name).stem}"
        if font_name not in pdfmetrics.getRegisteredFontNames():
            try:
                font = TTFont(font_name, str(path))
            except (TTFError, OSError):
                continue  # unreadable or not a usable TrueType file: try the next candidate
            pdfmetrics.registerFont(font)
        registered = pdfmetrics.getFont(font_name)
        assert isinstance(registered, TTFont)  # PC- names are only ever registered above, as TTFonts
        cmaps[font_name] = frozenset(registered.face.charToGlyph)
        return font_name
    return None


def _load(dirs: list[Path]) -> FontSet:
    index = _index(dirs)
    cmaps: dict[str, frozenset[int]] = {}
    problems: list[str] = []
    where = "the resources/fonts folder or the system fonts"

    body = _register(index, BODY, cmaps)
    if body is None:
        problems.append(
            f"The font {BODY[0]} was not found in {where}; Helvetica is used instead, which is not embedded and "
            "prints only Latin letters (install fonts-dejavu-core)."
        )
        body = "Helvetica"
    bold = _register(index, BODY_BOLD, cmaps)
    if bold is None:
        bold = "Helvetica-Bold" if body == "Helvetica" else body
        if body != "Helvetica":
            problems.append(f"The font {BODY_BOLD[0]} was not found in {where}; headings use the regular weight.")
    arabic = _register(index, ARABIC, cmaps)
    if arabic is None:
        problems.append(
            f"The font {ARABIC[0]} was not found in {where}; Arabic and Urdu use {body}, which lacks some Urdu "
            "letters (install fonts-noto-core)."
        )
        arabic = body
    arabic_bold = _register(index, ARABIC_BOLD, cmaps) or arabic
    emoji = _register(index, EMOJI, cmaps)
    if emoji is None:
        problems.append(
            f"The emoji font {EMOJI[1]} was not found in {where}; emoji print as empty boxes (install fonts-symbola)."
        )
        emoji = body
    # Families, so that <b> in a paragraph picks the bold face of whichever font a run is in.
    for regular, heavy in ((body, bold), (arabic, arabic_bold), (emoji, emoji)):
        if regular not in pdfmetrics.standardFonts:
            registerFontFamily(regular, normal=regular, bold=heavy, italic=regular, boldItalic=heavy)
    plain = {}
    if body in cmaps:
        plain[body] = frozenset(chr(c) for c in cmaps[body] if c not in _DROP and not is_arabic(chr(c)))
    scale = ARABIC_SCALE if arabic != body else 1.0
    return FontSet(body, bold, arabic, arabic_bold, emoji, tuple(problems), scale, cmaps, plain)
