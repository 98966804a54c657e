"""Light and high-contrast themes. Colour is never used to mean anything clinical (no risk colours)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("light", "high-contrast")

# A thick, always-visible focus ring: keyboard users must see where they are.
_FOCUS = """
QLineEdit:focus, QComboBox:focus, QPushButton:focus, QTableView:focus, QListView:focus, QTabBar::tab:focus,
QCheckBox:focus, QTextEdit:focus, QPlainTextEdit:focus, QDateEdit:focus {{ outline: none; border: 2px solid {focus}; }}
QLabel[role="error"] {{ color: {error}; font-weight: bold; }}
QLabel[role="ok"] {{ color: {ok}; }}
QFrame[role="banner"] {{ border: 1px solid {banner}; border-radius: 4px; padding: 4px; }}
"""


def apply_theme(app: QApplication, name: str, *, fusion_set: bool = False) -> None:
    """`fusion_set`: the app was started with `-style fusion` (asking Qt for the style object from
    Python builds PySide's QStyle type, some 10 ms before the first window)."""
    if name not in THEMES:
        name = "light"
    # Fusion: the same look on every PC, and it honours the palette fully. Set it once only: replacing
    # the style under widgets that have style sheets leaves them pointing at a deleted style (a crash).
    if not fusion_set and app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    palette = QPalette()
    if name == "high-contrast":
        colours = {
            QPalette.ColorRole.Window: "#000000",
            QPalette.ColorRole.WindowText: "#ffffff",
            QPalette.ColorRole.Base: "#000000",
            QPalette.ColorRole.AlternateBase: "#1a1a1a",
            QPalette.ColorRole.Text: "#ffffff",
            QPalette.ColorRole.Button: "#000000",
            QPalette.ColorRole.ButtonText: "#ffffff",
            QPalette.ColorRole.Highlight: "#ffff00",
            QPalette.ColorRole.HighlightedText: "#000000",
            QPalette.ColorRole.ToolTipBase: "#000000",
            QPalette.ColorRole.ToolTipText: "#ffffff",
            QPalette.ColorRole.PlaceholderText: "#c0c0c0",
            QPalette.ColorRole.Link: "#00ffff",
        }
        sheet = _FOCUS.format(focus="#ffff00", error="#ff8080", ok="#80ff80", banner="#ffffff") + (
            "QTableView { gridline-color: #ffffff; border: 1px solid #ffffff; }"
            "QLineEdit, QComboBox, QPushButton { border: 1px solid #ffffff; padding: 2px; }"
            "QHeaderView::section { background: #000000; color: #ffffff; border: 1px solid #ffffff; }"
        )
    else:
        colours = {
            QPalette.ColorRole.Window: "#f4f5f7",
            QPalette.ColorRole.WindowText: "#1d1d1f",
            QPalette.ColorRole.Base: "#ffffff",
            QPalette.ColorRole.AlternateBase: "#eef1f5",
            QPalette.ColorRole.Text: "#1d1d1f",
            QPalette.ColorRole.Button: "#e8eaee",
            QPalette.ColorRole.ButtonText: "#1d1d1f",
            QPalette.ColorRole.Highlight: "#005eb8",  # NHS blue
            QPalette.ColorRole.HighlightedText: "#ffffff",
            QPalette.ColorRole.ToolTipBase: "#ffffe8",
            QPalette.ColorRole.ToolTipText: "#1d1d1f",
            QPalette.ColorRole.PlaceholderText: "#6b6b6b",
            QPalette.ColorRole.Link: "#005eb8",
        }
        sheet = _FOCUS.format(focus="#ffb81c", error="#b00020", ok="#006b3c", banner="#5f6b7a")
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    # Disabled controls must look disabled (setColor above paints every state alike).
    disabled = "#8a8a8a" if name == "high-contrast" else "#8c8c8c"
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled))
    app.setPalette(palette)
    app.setStyleSheet(sheet)
