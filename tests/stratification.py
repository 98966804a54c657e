"""What counts as a risk rating (rule 1): shared by the guard tests over data, models and widgets."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QLineEdit, QPlainTextEdit, QWidget

# A risk word, a score, a RAG rating, or a low/medium/high scale: a choice that is only one of those
# words, two of them as a scale, or one qualifying risk, concern or priority. Plain words in a
# person's sentence ("too low to look at it") are not ratings; "High contrast" is a theme.
_RATING = re.compile(
    r"\b(risk|scores?|scoring|red[ /-]amber|stratif\w*)\b"
    r"|^\s*(low|medium|moderate|high)\s*$"
    r"|\b(low|medium|moderate|high)\s*[/,|-]\s*(low|medium|moderate|high)\b"
    r"|\b(low|medium|moderate|high)[ -](risk|concern|priority|level)\b",
    re.I,
)
_RAG = re.compile(r"\bRAG\b")
NAME_TOKENS = ("risk", "score", "rating", "rag", "stratif", "severity", "level")


def rates_risk(text: str) -> bool:
    return bool(_RATING.search(text) or _RAG.search(text))


def every_text(root: QWidget) -> list[str]:
    """Every string a widget tree carries, shown or hidden: labels, fields, choices, tips, names."""
    out = []
    for w in [root, *root.findChildren(QWidget)]:
        out += [w.windowTitle(), w.toolTip(), w.accessibleName(), w.accessibleDescription(), w.objectName()]
        if isinstance(w, QLabel | QAbstractButton):
            out.append(w.text())
        if isinstance(w, QLineEdit):
            out += [w.placeholderText()]
        if isinstance(w, QPlainTextEdit):
            out.append(w.placeholderText())
        if isinstance(w, QComboBox):
            out += [w.itemText(i) for i in range(w.count())]
    return [t for t in out if t]
