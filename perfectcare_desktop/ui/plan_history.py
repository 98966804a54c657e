"""Plan history for clinicians: one saved version read-only, and two versions compared side by side."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..core.clinical.plan_content import PersonSection, PlanContent
from ..core.clinical.plan_diff import ADDED, CHANGED, REMOVED, SAME, compare
from ..core.clinical.plan_layout import PlanLayout
from .present_mode import person_html
from .table_model import RowsModel
from .widgets import em, heading, shortcut_button

NOTES_TITLE = "Clinician notes (not on the person's copy)"
DIFF_COLUMNS = ("Section", "Earlier version", "Later version", "Change")
# Two versions saved on different PCs are neither earlier nor later: the words say where text is.
MERGE_COLUMNS = ("Section", "Version A", "Version B", "Difference")
MERGE_CHANGES = {SAME: SAME, CHANGED: "differs", ADDED: "only in B", REMOVED: "only in A"}
MERGE_EXPLAINED = (
    "These versions were saved on different PCs before either had seen the other. Both are kept. Pick the one "
    "to start from: it opens in the editor, marked as a merge. Add what you need from the other (Compare "
    "again shows it), then save or sign: that version follows both, and both stay in History."
)
_ROLE = Qt.ItemDataRole


class VersionDialog(QDialog):
    """One saved version, read-only: who and when, the person's sections, then the clinician notes apart."""

    def __init__(self, title: str, meta: str, sections: list[PersonSection], clinician_notes: str,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.setWindowTitle(title)
        self.meta = QLabel(meta, self)
        self.meta.setWordWrap(True)
        self.meta.setAccessibleName(meta)

        self.plan = QTextBrowser(self)
        self.plan.setObjectName("version_plan")
        self.plan.setAccessibleName("The person's plan in this version")
        self.plan.setOpenLinks(False)
        self.plan.setHtml(person_html("", sections))

        # Set apart by a rule and a bold heading, so nobody reads these notes out to the person.
        rule = QFrame(self)
        rule.setFrameShape(QFrame.Shape.HLine)
        self.notes_heading = QLabel(NOTES_TITLE, self)
        font = self.notes_heading.font()
        font.setBold(True)
        self.notes_heading.setFont(font)
        self.notes = QPlainTextEdit(self)
        self.notes.setObjectName("version_notes")
        self.notes.setReadOnly(True)
        self.notes.setAccessibleName(NOTES_TITLE)
        self.notes.setPlainText(clinician_notes.strip() or "None written.")
        self.notes.setMaximumHeight(em(self, 9))
        self.notes_heading.setBuddy(self.notes)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)  # Close and Esc both reject
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")

        layout = QVBoxLayout(self)
        layout.addWidget(heading(title, self))
        layout.addWidget(self.meta)
        layout.addWidget(self.plan, 1)
        layout.addWidget(rule)
        layout.addWidget(self.notes_heading)
        layout.addWidget(self.notes)
        layout.addWidget(buttons)
        self.resize(em(self, 70), em(self, 55))


class DiffModel(RowsModel):
    """Comparison rows: the change said in words in its own column; changed text gets a faint tint too."""

    def __init__(self, parent: QObject | None = None, columns: tuple[str, ...] = DIFF_COLUMNS) -> None:
        super().__init__(columns, tip_columns=(1, 2), parent=parent)
        # A tint from the theme's selection colour: it means "look here", never anything clinical.
        self._tint = QColor(QGuiApplication.palette().color(QPalette.ColorRole.Highlight))
        self._tint.setAlpha(40)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _ROLE.DisplayRole) -> Any:
        if role == _ROLE.BackgroundRole and index.isValid() and index.row() < len(self.rows):
            row = self.rows[index.row()]
            return self._tint if row[3] != SAME and index.column() in (1, 2) and row[index.column()] else None
        if role == _ROLE.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft  # wrapped rows read from the top
        if role == _ROLE.FontRole and index.isValid() and index.column() == 3 and index.row() < len(self.rows):
            if self.rows[index.row()][3] != SAME:
                font = QFont()
                font.setBold(True)
                return font
            return None
        return super().data(index, role)


class CompareDialog(QDialog):
    """Two versions of a plan compared section by section, entry by entry.

    `merge=True`: the versions are the heads saved on different PCs; each side has a "Start from
    version A/B" button, which closes the dialog with `chosen` set to that side's index in `choices`."""

    def __init__(self, choices: list[tuple[str, PlanContent]], layout_for: Callable[[PlanContent], PlanLayout],
                 parent: QWidget | None = None, left: int = 0, right: int = -1, *, merge: bool = False,
                 title: str = "Compare plan versions") -> None:  # fmt: skip
        super().__init__(parent)
        self.setWindowTitle(title)
        self._choices = choices
        self._layout_for = layout_for
        self._merge = merge
        self.chosen: int | None = None

        sides = ("Version A", "Version B") if merge else ("Earlier version", "Later version")
        self.earlier = self._combo(sides[0], "compare_earlier")
        self.later = self._combo(sides[1], "compare_later")
        earlier_label = QLabel("Version &A:" if merge else "&Earlier:", self)
        earlier_label.setBuddy(self.earlier)  # Alt+E (Alt+A)
        later_label = QLabel("Version &B:" if merge else "&Later:", self)
        later_label.setBuddy(self.later)  # Alt+L (Alt+B)
        self.only_changes = QCheckBox("&Only show changes", self)
        self.only_changes.setObjectName("compare_only_changes")
        self.only_changes.setAccessibleName("Only show changes")
        self.only_changes.setChecked(True)

        self.model = DiffModel(self, MERGE_COLUMNS if merge else DIFF_COLUMNS)
        self.table = QTableView(self)
        self.table.setObjectName("compare_table")
        self.table.setModel(self.model)
        self.table.setAccessibleName("Differences between the two versions")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the Close button
        self.table.setWordWrap(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnWidth(0, em(self, 13))
        self.empty = QLabel("These two versions say the same.", self)
        self.empty.setObjectName("compare_empty")
        self.empty.setWordWrap(True)
        self.empty.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")

        pick = QHBoxLayout()
        pick.addWidget(earlier_label)
        pick.addWidget(self.earlier, 1)
        pick.addSpacing(em(self, 1))
        pick.addWidget(later_label)
        pick.addWidget(self.later, 1)
        layout = QVBoxLayout(self)
        if merge:
            explained = QLabel(MERGE_EXPLAINED, self)
            explained.setWordWrap(True)
            explained.setObjectName("merge_explained")
            layout.addWidget(explained)
        layout.addLayout(pick)
        layout.addWidget(self.only_changes)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        if merge:
            self.start_a = shortcut_button("Start from version A", "Alt+1", lambda: self._start(self.earlier), self,
                                           name="start_from_a")  # fmt: skip
            self.start_b = shortcut_button("Start from version B", "Alt+2", lambda: self._start(self.later), self,
                                           name="start_from_b")  # fmt: skip
            starts = QHBoxLayout()
            starts.addWidget(self.start_a, 1)
            starts.addSpacing(em(self, 1))
            starts.addWidget(self.start_b, 1)
            layout.addLayout(starts)
        layout.addWidget(buttons)
        QWidget.setTabOrder(self.earlier, self.later)
        QWidget.setTabOrder(self.later, self.only_changes)
        QWidget.setTabOrder(self.only_changes, self.table)
        if merge:
            QWidget.setTabOrder(self.table, self.start_a)
            QWidget.setTabOrder(self.start_a, self.start_b)

        count = len(choices)
        if count:
            self.earlier.setCurrentIndex(left % count)
            self.later.setCurrentIndex(right % count)
        self.earlier.currentIndexChanged.connect(self.refresh)
        self.later.currentIndexChanged.connect(self.refresh)
        self.only_changes.toggled.connect(self.refresh)
        self.refresh()
        self.resize(em(self, 80), em(self, 45))

    def _combo(self, name: str, object_name: str) -> QComboBox:
        combo = QComboBox(self)
        combo.setObjectName(object_name)
        combo.setAccessibleName(name)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(20)
        combo.addItems([label for label, _ in self._choices])
        return combo

    def refresh(self) -> None:
        """Rows for the versions picked now; SAME rows are left out while "Only show changes" is ticked."""
        if not self._choices:
            self.model.clear()
            return
        old = self._choices[self.earlier.currentIndex()][1]
        new = self._choices[self.later.currentIndex()][1]
        diff = compare(self._layout_for(new), old, new)
        shown = [r for r in diff if not (self.only_changes.isChecked() and r.change == SAME)]
        words = MERGE_CHANGES if self._merge else {}
        self.model.set_rows([(r.section, r.left, r.right, words.get(r.change, r.change)) for r in shown])
        self.empty.setVisible(not shown)

    def _start(self, side: QComboBox) -> None:
        """Close with the version on that side chosen as where the merge starts."""
        self.chosen = side.currentIndex() if self._choices else None
        self.accept()
