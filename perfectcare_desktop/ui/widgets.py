"""Small shared widgets: buttons that show their shortcut, inline messages, labelled fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

if TYPE_CHECKING:
    from PySide6.QtGui import QKeySequence  # imported where used: the login window has no use for it


def shortcut_button(text: str, shortcut: str | QKeySequence.StandardKey | None, slot: Callable[[], object],
                    parent: QWidget | None = None, name: str = "", bind: bool = True) -> QPushButton:  # fmt: skip
    """A button whose shortcut is shown in its label and tooltip, and named for screen readers.

    `bind=False` only shows a shortcut that a window action already owns (two owners: neither fires).
    """
    button = QPushButton(parent)
    shown = ""
    if shortcut is not None:  # QKeySequence builds the whole `Qt` namespace: not for the login window
        from PySide6.QtGui import QKeySequence

        seq = QKeySequence(shortcut)
        shown = seq.toString(QKeySequence.SequenceFormat.NativeText)
    button.setText(f"{text}  ({shown})" if shown else text)
    if shown and bind:
        button.setShortcut(seq)
        button.setToolTip(f"{text.replace('&', '')} — {shown}")
    button.setAccessibleName(text.replace("&", ""))
    if name:
        button.setObjectName(name)
    # Never the slot itself: clicked(bool) would hand it `checked` as its first argument, and a slot
    # with an optional parameter (print_(printer=None)) took False for a printer and did nothing.
    button.clicked.connect(lambda: slot())
    return button


class Message(QLabel):
    """An inline message under a form: errors in words (never colour alone), announced by name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setAccessibleName("Message")
        self.hide()

    def show_error(self, text: str) -> None:
        self._show("error", f"⚠ {text}")

    def show_ok(self, text: str) -> None:
        self._show("ok", f"✓ {text}")

    def _show(self, role: str, text: str) -> None:
        self.setProperty("role", role)
        # Restyled for the new role. The Polish event has QWidget call `style()->polish(this)`, as
        # `self.style().polish(self)` would, but in C++: choosing among that method's Python overloads
        # (one takes a QPalette, made from a Qt.GlobalColor) builds the whole `Qt` namespace, some 35 ms,
        # and "Opening the store…" is shown before the login window's first paint.
        self.style().unpolish(self)
        QCoreApplication.sendEvent(self, QEvent(QEvent.Type.Polish))
        self.setText(text)
        self.setAccessibleDescription(text)
        self.show()

    def clear_message(self) -> None:
        self.setText("")
        self.setAccessibleDescription("")  # it may have quoted a name or an NHS number
        self.hide()


def heading(text: str, parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.4)  # relative, so it scales with the user's text size
    font.setBold(True)
    label.setFont(font)
    label.setAccessibleName(text)
    return label


def em(widget: QWidget, count: float) -> int:
    """A length in the widget's current text size, so layouts follow 200% text scaling."""
    return int(widget.fontMetrics().horizontalAdvance("M") * count)


class _FirstPaint(QObject):
    def __init__(self, window: QWidget, callback: Callable[[], object], fallback_ms: int) -> None:
        super().__init__(window)
        self._window: QWidget | None = window
        self._callback = callback
        window.installEventFilter(self)
        QTimer.singleShot(fallback_ms, self, self._fire)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint:
            QTimer.singleShot(0, self, self._fire)  # after its children have painted too
        return False

    def _fire(self) -> None:
        if self._window is None:
            return
        self._window.removeEventFilter(self)
        self._window = None
        self.deleteLater()
        self._callback()


def after_first_paint(window: QWidget, callback: Callable[[], object], fallback_ms: int = 1000) -> None:
    """Call `callback` once `window` has been painted for the first time (or after `fallback_ms`, if it
    never is: started minimised). A zero timer is not enough: Qt paints a newly shown window a pass or
    more later, so work queued with one at start-up runs before the person sees anything."""
    _FirstPaint(window, callback, fallback_ms)
