"""The caseload: every patient of the team in one model/view table, searchable as you type.

One model holds the rows, filters them (search hits, plan state, dates due) and sorts them. Nothing here
sorts, colours or filters by any notion of risk: there is none in the data, by design.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..core.clinical.discharge import uk_local
from .widgets import heading, shortcut_button

if TYPE_CHECKING:
    from ..core.patients.caseload import CaseloadRow

Index = QModelIndex | QPersistentModelIndex
_TEXT_ROLES = frozenset({int(Qt.ItemDataRole.DisplayRole.value), int(Qt.ItemDataRole.AccessibleTextRole.value)})
COLUMNS = ("Name", "NHS number", "Date of birth", "Safety plan", "Plan updated", "Reviews due", "72-hour follow-up")
_FAR = 10**9  # sorts "no date" after every real date


def _day(d: date | None) -> str:
    return d.strftime("%d %b %Y") if d else ""


def _reviews(row: CaseloadRow, today: date) -> str:
    """The plan's review (or, after a declined offer, when to offer it again) and the formulation's, in
    words with their dates; a past one says "overdue" (words, never a colour)."""
    plan = "Re-offer plan" if row.reoffer else "Plan review"
    dates = ((plan, row.review_due), ("Formulation review", row.formulation_review_due))
    found = [(due, label) for label, due in dates if due is not None]
    # Soonest first, so an overdue one leads and is read (and never cut off) before anything else.
    return "; ".join(f"{label} overdue since {_day(due)}" if due < today else f"{label} by {_day(due)}"
                     for due, label in sorted(found))  # fmt: skip


def _followup(row: CaseloadRow, today: date) -> str:
    """Due by a time, missed (and still shown until what was done is recorded), or attempted."""
    f = row.followup
    if f is None:
        return _day(row.followup_due) + (" — due" if row.followup_pending(today) else "") if row.followup_due else ""
    if not f.open:
        return ""
    due = f"{uk_local(f.due_at):%H:%M %d %b %Y}"
    text = f"MISSED — was due {due}" if row.followup_missed(today) else f"Due by {due}"
    if f.attempts:
        text += f"; {f.attempts} attempt{'s' if f.attempts > 1 else ''}, not reached"
    if f.next_attempt_due is not None:
        text += f"; next attempt {uk_local(f.next_attempt_due):%H:%M %d %b}"
    return text


# (label, predicate over a row and today's date); the first is the default.
FILTERS: tuple[tuple[str, Callable[[CaseloadRow, date], bool]], ...] = (
    ("All patients", lambda r, t: True),
    ("No plan yet", lambda r, t: r.plan_state == "none"),
    ("Plan offered, declined", lambda r, t: r.plan_state == "offered_declined"),
    ("Plan in draft", lambda r, t: r.plan_state in ("draft", "current")),
    ("Plan agreed", lambda r, t: r.plan_state == "agreed"),
    ("Review overdue", lambda r, t: r.review_overdue(t)),  # the plan's (or its re-offer) or the formulation's
    ("Review due within 14 days", lambda r, t: r.review_due_within(t, 14)),
    ("72-hour follow-up due or missed", lambda r, t: r.followup_pending(t)),
    ("72-hour follow-up missed", lambda r, t: r.followup_missed(t)),
    ("Needs attention (versions to merge, or a shared NHS number)", lambda r, t: r.needs_attention),
)


def searchable(text: str) -> bool:
    """A single letter (or one or two digits) matches most of a caseload and finds nobody: searching
    starts at 2 letters or 3 digits, which keeps every keystroke quick at 10,000 patients."""
    compact = "".join(ch for ch in text if not ch.isspace() and ch != "-")
    return len(compact) >= (3 if compact.isdigit() else 2)


class CaseloadModel(QAbstractTableModel):
    """All rows, and the visible ones: filtered and sorted here in Python in one pass each, because
    a proxy model calling back into Python per row and per comparison is far too slow at 10,000."""

    def __init__(self, today: Callable[[], date], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.all_rows: list[CaseloadRow] = []
        self.rows: list[CaseloadRow] = []  # visible, in display order
        self._today = today
        self._ids: set[str] | None = None
        self._predicate = FILTERS[0][1]
        self._sort = (0, Qt.SortOrder.AscendingOrder)
        self._position: dict[str, int] = {}  # record id -> index in all_rows

    def set_rows(self, rows: list[CaseloadRow]) -> None:
        self.all_rows = rows
        self._sort_all()
        self._refilter()

    def clear(self) -> None:
        self.all_rows = []
        self._position = {}
        self._refilter()

    def total(self) -> int:
        return len(self.all_rows)

    def set_search_hits(self, ids: set[str] | None) -> None:
        self._ids = ids
        self._refilter()

    def set_filter(self, index: int) -> None:
        self._predicate = FILTERS[index][1]
        self._refilter()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        self._sort_all()
        self.rows = [r for r in self.all_rows if self._accepts(r)]
        self.layoutChanged.emit()

    def _sort_all(self) -> None:
        column, order = self._sort
        self.all_rows.sort(key=lambda r: self._sort_key(r, column),
                           reverse=order == Qt.SortOrder.DescendingOrder)  # fmt: skip
        self._position = {r.patient.record_id: i for i, r in enumerate(self.all_rows)}

    def _accepts(self, row: CaseloadRow) -> bool:
        if self._ids is not None and row.patient.record_id not in self._ids:
            return False
        return self._predicate(row, self._today())

    def _refilter(self) -> None:
        self.beginResetModel()
        today = self._today()
        ids, predicate = self._ids, self._predicate
        if ids is None:
            rows = self.all_rows
        else:  # hits back in display order, without walking all 10,000 rows
            pos = self._position
            rows = [self.all_rows[i] for i in sorted(pos[r] for r in ids if r in pos)]
        self.rows = rows[:] if predicate is FILTERS[0][1] else [r for r in rows if predicate(r, today)]
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # The view asks for many roles per cell; answer the ones we do not use before anything else
        # (an int set lookup: comparing with the enum members costs a Python call each time).
        if role not in _TEXT_ROLES:
            return None
        if not index.isValid():
            return None
        return self._text(self.rows[index.row()], index.column())

    def _text(self, row: CaseloadRow, col: int) -> str:
        p = row.patient.details
        if col == 0:
            if row.shares_nhs_number:
                return p.display_name + "  — needs attention: another record has this NHS number"
            return p.display_name + ("  — needs attention" if row.needs_attention else "")
        if col == 1:
            return p.nhs_number_formatted
        if col == 2:
            return _day(p.date_of_birth)
        if col == 3:
            return row.plan_state_label
        if col == 4:
            return _day(row.plan_updated_at.date()) if row.plan_updated_at else ""
        if col == 5:
            return _reviews(row, self._today())
        if col == 6:
            return _followup(row, self._today())
        return ""

    def _sort_key(self, row: CaseloadRow, col: int) -> Any:
        p = row.patient.details
        if col == 0:
            return (p.family_name.casefold(), p.given_name.casefold())
        if col == 1:
            return p.nhs_number
        if col == 2:
            return p.date_of_birth.toordinal()
        if col == 3:
            return row.plan_state_label
        if col == 4:
            return row.plan_updated_at.timestamp() if row.plan_updated_at else _FAR
        if col == 5:
            dues = [d for d in (row.review_due, row.formulation_review_due) if d is not None]
            return min(dues).toordinal() if dues else _FAR
        if col == 6:  # open follow-ups by when they were due (a missed one first); none or done last
            if row.followup is not None:
                return row.followup.due_at.toordinal() + row.followup.due_at.hour / 24 if row.followup.open else _FAR
            return row.followup_due.toordinal() if row.followup_due else _FAR
        return 0


class CaseloadPage(QWidget):
    """Search box, filter, table. `search` maps a query to matching record ids (core search)."""

    open_patient = Signal(str)
    new_patient = Signal()
    searched = Signal(str)  # the search text, after the rows were filtered (the window looks beyond them)
    break_glass = Signal(str)  # record id: open someone outside my teams, with a reason

    def __init__(self, search: Callable[[str], set[str]], today: Callable[[], date],
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self._search = search
        self.model = CaseloadModel(today, self)

        self.search_box = QLineEdit(self)
        self.search_box.setPlaceholderText("Name or NHS number")
        self.search_box.setAccessibleName("Search patients by name or NHS number")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.textChanged.connect(self._on_search)
        search_label = QLabel("Searc&h (Ctrl+F)", self)
        search_label.setBuddy(self.search_box)
        # A signal as a keyword argument: PySide's own, missing from its stubs.
        QShortcut(QKeySequence.StandardKey.Find, self, activated=self.focus_search)  # type: ignore[call-overload]

        self.filter_box = QComboBox(self)
        self.filter_box.addItems([label for label, _ in FILTERS])
        self.filter_box.setAccessibleName("Show patients")
        self.filter_box.currentIndexChanged.connect(self._on_filter)
        filter_label = QLabel("&Show", self)
        filter_label.setBuddy(self.filter_box)

        self.count = QLabel(self)
        self.count.setAccessibleName("Number of patients shown")

        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName("Caseload")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        header.sortIndicatorChanged.connect(self.model.sort)
        header.setResizeContentsPrecision(200)  # size columns from the first rows, not all 10,000
        self.table.setAlternatingRowColors(True)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.activated.connect(self._open_index)
        self.search_box.returnPressed.connect(self._open_first)

        self.new_button = shortcut_button(
            "&New patient", "Ctrl+N", self.new_patient.emit, self, name="new_patient", bind=False
        )
        self.open_button = shortcut_button("&Open", None, self._open_selected, self, name="open_patient")
        # Someone outside my teams whose exact NHS number was typed: said, with the way to open them in an
        # emergency (issue 16 part 4). Only their team's name is shown, nothing of the person.
        self.outside = QLabel(self)
        self.outside.setWordWrap(True)
        self.outside_button = shortcut_button("Open with a &reason…", None, self._break_glass, self,
                                              name="break_glass")  # fmt: skip
        self._outside_id = ""
        self.show_outside(None, "")

        top = QHBoxLayout()
        top.addWidget(search_label)
        top.addWidget(self.search_box, 3)
        top.addWidget(filter_label)
        top.addWidget(self.filter_box, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(self.count, 1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Caseload", self))
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        outside = QHBoxLayout()
        outside.addWidget(self.outside, 1)
        outside.addWidget(self.outside_button)
        layout.addLayout(outside)
        layout.addLayout(buttons)
        self._update_count()

    # --- data -------------------------------------------------------------------------------------
    def set_rows(self, rows: list[CaseloadRow]) -> None:
        self.model._ids = self._search(self.search_box.text()) if searchable(self.search_box.text()) else None
        self.model.set_rows(rows)
        self._update_count()
        self.table.resizeColumnsToContents()

    def clear(self) -> None:
        """Drop every row (the app is locking)."""
        self.model.clear()
        self._update_count()

    def focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    # --- reactions --------------------------------------------------------------------------------
    def _on_search(self, text: str) -> None:
        self.model.set_search_hits(self._search(text) if searchable(text) else None)
        self._update_count(hint=bool(text.strip()) and not searchable(text))
        self.show_outside(None, "")
        self.searched.emit(text)

    def show_outside(self, record_id: str | None, team: str) -> None:
        """Say that the NHS number typed is someone in another team's care (or hide the line)."""
        self._outside_id = record_id or ""
        self.outside.setText(
            f"This NHS number is a person in the care of {team}, not one of your teams. In an emergency you can "
            "open their record by giving your reason: it is recorded and reported."
            if record_id
            else ""
        )
        self.outside.setVisible(bool(record_id))
        self.outside_button.setVisible(bool(record_id))

    def _break_glass(self) -> None:
        if self._outside_id:
            self.break_glass.emit(self._outside_id)

    def _on_filter(self, index: int) -> None:
        self.model.set_filter(index)
        self._update_count()

    def _update_count(self, hint: bool = False) -> None:
        shown, total = self.model.rowCount(), self.model.total()
        text = f"Showing {shown:,} of {total:,} patients"
        if hint:
            text += " — type at least 2 letters or 3 digits to search"
        self.count.setText(text)

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_patient.emit(self.model.rows[index.row()].record_id)

    def selected_ids(self) -> list[str]:
        """The patients selected in the table (for printing a hand-picked set)."""
        return [self.model.rows[i.row()].record_id for i in self.table.selectionModel().selectedRows()]

    def _open_selected(self) -> None:
        selected = self.table.selectionModel().selectedRows()
        if selected:
            self._open_index(selected[0])
        elif self.model.rowCount():
            self._open_index(self.model.index(0, 0))

    def _open_first(self) -> None:
        if self.model.rowCount() == 1:
            self._open_index(self.model.index(0, 0))
        elif self.model.rowCount():
            self.table.setFocus()
            self.table.selectRow(0)
