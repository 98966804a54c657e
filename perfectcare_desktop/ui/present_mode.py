"""Present mode: the plan as the person reads it, in large type, on a second screen or a turned laptop.

The clinician types in the editor and the person watches their own words appear here, so this is
re-rendered on every keystroke: one read-only QTextBrowser whose HTML is replaced (a few ms), never a
tree of widgets rebuilt. It shows only `person_view` output, so clinician notes cannot reach it, and
its window title never names the person (a title is visible in the taskbar and to screen sharing).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from functools import lru_cache

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QCloseEvent, QFont, QFontMetricsF, QGuiApplication, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QTextBrowser, QWidget

from ..core.clinical.crisis_directory import CrisisDirectory
from ..core.clinical.plan_content import PersonSection
from ..core.clinical.wording import long_date, mainly_rtl

WINDOW_TITLE = "My safety plan"
NOT_FILLED = "Not filled in yet"
CRISIS_HEADING = "If you are in crisis now"
# Body text relative to the app font: read from across a desk, by someone who may be distressed.
BODY_SCALE = 2.2
# A readable line length in large type (in widths of "M" of the body font), centred on a wide screen.
MAX_COLUMN_EM = 36


def _text(value: str) -> str:
    # Entries are plain text that may span lines; never let them be read as markup.
    return html.escape(value).replace("\n", "<br>")


@lru_cache(maxsize=4096)  # most lines are unchanged from one keystroke to the next
def direction(text: str) -> str:
    """ "rtl" when most of the letters are right-to-left (see core.wording.mainly_rtl), else "ltr"."""
    return "rtl" if mainly_rtl(text) else "ltr"


def _block(tag: str, value: str, inner: str = "") -> str:
    body = f"<{inner}>{_text(value)}</{inner}>" if inner else _text(value)
    return f'<{tag} dir="{direction(value)}">{body}</{tag}>'


def _items(lines: Iterable[str]) -> str:
    return "<ul>" + "".join(_block("li", line) for line in lines) + "</ul>"


def person_html(title: str, sections: Iterable[PersonSection], directory: CrisisDirectory | None = None,
                footer: str = "") -> str:  # fmt: skip
    """The person's plan as HTML: their sections, the crisis numbers, a small footer.

    Sizes are relative (h1/h2, small) so they follow the document's default font, which the caller
    scales from the user's own text size. Every paragraph carries its own direction.
    """
    parts = [_block("h1", title)] if title else []
    for section in sections:
        parts.append(_block("h2", section.title))
        if section.lines:
            parts.append(_items(section.lines))
        else:
            parts.append(_block("p", section.note or NOT_FILLED, "i"))
    if directory is not None:
        parts.append(_block("h2", CRISIS_HEADING))
        parts.append("<ul>")
        for c in directory.contacts:  # who, then what to do in bold (the part to find at a glance), then when
            when = f" — {_text(c.when)}" if c.when else ""
            text = f"{_text(c.name)}: <b>{_text(c.how)}</b>{when}"
            parts.append(f'<li dir="{direction(c.name + c.how + c.when)}">{text}</li>')
        parts.append("</ul>")
        parts.append(_block("p", f"Numbers checked on {long_date(directory.checked_on)}"))
    if footer:
        parts.append(_block("p", footer, "small"))
    return "".join(parts)


class PresentWindow(QWidget):
    """A separate top-level window showing the plan in large type. Closing (F5, Esc) only hides it."""

    closed = Signal()  # the user closed it (F5, Esc or the window's close button)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle(WINDOW_TITLE)
        self.setAccessibleName("Safety plan, large print")
        # One background across the page and the margins beside the centred column; a palette role,
        # so the high-contrast theme still applies.
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.setAutoFillBackground(True)

        self.browser = QTextBrowser(self)
        self.browser.setObjectName("present_text")
        self.browser.setAccessibleName("Safety plan")
        self.browser.setFrameShape(QFrame.Shape.NoFrame)
        self.browser.setOpenLinks(False)  # plain text only; nothing in a plan should navigate anywhere
        # No text caret (it would blink in the person's face); arrows and Page Up/Down still scroll.
        self.browser.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Keep no undo history of earlier renders: after clear() no old text lingers in the document.
        self.browser.document().setUndoRedoEnabled(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addStretch(1)
        layout.addWidget(self.browser, 100)
        layout.addStretch(1)
        self._html = ""
        self._apply_font()

        # Same key opens (in the main window) and closes (here), so the clinician can toggle it.
        for key in (Qt.Key.Key_F5, Qt.Key.Key_Escape):
            QShortcut(QKeySequence(key), self, self.close)

    # --- content ---------------------------------------------------------------------------

    def show_plan(self, title: str, sections: list[PersonSection], directory: CrisisDirectory | None,
                  footer: str = "") -> None:  # fmt: skip
        """Show the plan; the reader's place is kept, so typing elsewhere does not scroll them away."""
        text = person_html(title, sections, directory, footer)
        if text == self._html:
            return  # a keystroke that changed nothing the person sees (e.g. clinician notes)
        bar = self.browser.verticalScrollBar()
        position = bar.value()
        self.browser.setUpdatesEnabled(False)  # one paint of the new text, not a flash of the top
        try:
            self.browser.setHtml(text)
            # Qt lays a long document out in steps on a timer; finish now, or the scroll range is still
            # short and the restored position is cut back.
            document = self.browser.document()
            document.documentLayout().blockBoundingRect(document.lastBlock())
            bar.setValue(position)
        finally:
            self.browser.setUpdatesEnabled(True)
        self._html = text

    def clear(self) -> None:
        """Forget the plan and put the window away (the app is locking): the text and the cached copy of
        it go, and no blank full-screen window is left on the second screen. Not a user close: `closed`
        is not emitted."""
        self.hide()
        self.browser.clear()
        self._html = ""

    def plain_text(self) -> str:
        return self.browser.toPlainText()

    # --- window ----------------------------------------------------------------------------

    def open_on_best_screen(self) -> None:
        """Full screen on a second screen if there is one, else a large ordinary window here."""
        parent = self.parentWidget()
        here = parent.screen() if parent is not None else QGuiApplication.primaryScreen()
        other = next((s for s in QGuiApplication.screens() if s is not here), None)
        was_visible = self.isVisible()
        if other is not None:
            self.setScreen(other)
            self.move(other.geometry().topLeft())
            self.showFullScreen()
        else:
            area = (here or self.screen()).availableGeometry()
            self.resize(int(area.width() * 0.8), int(area.height() * 0.85))
            self.move(area.center() - self.rect().center())
            self.showNormal()
        if was_visible:
            self.raise_()  # behind the main window since; a new window is shown on top anyway
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        # Accepting a close only hides a window that is not deleted on close; it is reopened later.
        super().closeEvent(event)
        if event.isAccepted():
            self.closed.emit()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._apply_font()  # the user changed their text size: keep present mode ~2x of it

    def _apply_font(self) -> None:
        base = self.font()
        font = QFont(base)
        if base.pointSizeF() > 0:
            font.setPointSizeF(base.pointSizeF() * BODY_SCALE)
        else:
            font.setPixelSize(round(base.pixelSize() * BODY_SCALE))
        document = self.browser.document()
        document.setDefaultFont(font)
        document.setDocumentMargin(QFontMetricsF(font).height())
        self._fit_column()

    def _fit_column(self) -> None:
        # Long lines in large type are hard to follow: cap the column and centre it on wide screens.
        metrics = QFontMetricsF(self.browser.document().defaultFont())
        column = int(metrics.horizontalAdvance("M") * MAX_COLUMN_EM)
        self.browser.setMaximumWidth(max(column, 200))
