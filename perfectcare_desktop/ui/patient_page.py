"""One patient: their details, the safety plan and formulation tabs, and the full version history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.patients import PatientSummary
from ..core.statuses import ENTERED_IN_ERROR
from .table_model import RowsModel
from .widgets import heading, shortcut_button

if TYPE_CHECKING:
    from ..core.versions import VersionInfo

HISTORY_COLUMNS = ("When", "By", "Record", "Status", "What changed")
_KIND_LABELS = {"patient": "Details", "safety_plan": "Safety plan", "formulation": "Safety formulation"}
_FIELD_LABELS = {
    "given_name": "given name",
    "family_name": "family name",
    "preferred_name": "preferred name",
    "date_of_birth": "date of birth",
    "nhs_number": "NHS number",
    "local_id": "local id",
    "preferred_language": "preferred language",
    "access_needs": "accessible information needs",
}


def describe_changes(previous: dict[str, Any] | None, current: VersionInfo) -> str:
    """A short, content-free description of a version (what changed, never the values themselves)."""
    if current.status == ENTERED_IN_ERROR:
        return f"Marked an earlier entry as entered in error: {current.payload.get('reason', '')}"
    if previous is None:
        return "Created"
    if current.kind == "patient":
        changed = [label for key, label in _FIELD_LABELS.items() if previous.get(key) != current.payload.get(key)]
        return "Changed " + ", ".join(changed) if changed else "Saved without changes"
    return "Saved a new version"


def history_rows(records: list[tuple[str, list[VersionInfo]]], staff: dict[str, str]) -> list[tuple[str, ...]]:
    """Newest first, across every record of the patient."""
    out: list[tuple[Any, tuple[str, ...]]] = []
    for kind, versions in records:
        previous: dict[str, Any] | None = None
        for v in versions:
            status = "entered in error" if v.status == ENTERED_IN_ERROR else v.status.replace("_", " ")
            if v.signed:
                status += ", signed"
            text = (
                v.created_at.strftime("%d %b %Y %H:%M"),
                staff.get(v.author_id, "unknown user"),
                _KIND_LABELS.get(kind, kind),
                status,
                describe_changes(previous, v),
            )
            out.append(((v.created_at, len(out)), text))  # ties (same second) keep save order
            if v.status != ENTERED_IN_ERROR:
                previous = v.payload
    out.sort(key=lambda item: item[0], reverse=True)
    return [text for _, text in out]


class PatientPage(QWidget):
    back = Signal()
    edit = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.record_id: str | None = None
        self.name = heading("", self)
        self.name.setAccessibleName("Patient name")
        self.details = {key: QLabel(self) for key in ("nhs", "dob", "local_id", "language", "needs")}
        form = QFormLayout()
        for key, text in (
            ("nhs", "NHS number"),
            ("dob", "Date of birth"),
            ("local_id", "Local id"),
            ("language", "Preferred language"),
            ("needs", "Accessible information"),
        ):
            self.details[key].setAccessibleName(text)
            self.details[key].setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard
                                                      | Qt.TextInteractionFlag.TextSelectableByMouse)  # fmt: skip
            form.addRow(QLabel(text, self), self.details[key])

        self.back_button = shortcut_button("&Back to caseload", "Alt+Left", self.back.emit, self, name="back")
        self.edit_button = shortcut_button("&Edit details", "Ctrl+E", self._edit, self, name="edit_details")
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.edit_button)

        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Patient record")
        self.plan_tab = self._placeholder(
            "Safety plans are written here with the person. The plan editor arrives in the next release; "
            "nothing is lost meanwhile — plans already in the store are listed under History."
        )
        self.formulation_tab = self._placeholder(
            "The structured safety formulation is recorded here. It arrives in a later release."
        )
        self.history_model = RowsModel(HISTORY_COLUMNS, tip_columns=(4,), parent=self)
        self.history = QTableView(self)
        self.history.setModel(self.history_model)
        self.history.setAccessibleName("Version history")
        self.history.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history.verticalHeader().setVisible(False)
        self.history.horizontalHeader().setStretchLastSection(True)
        self.history.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tabs.addTab(self.plan_tab, "Safety &plan")
        self.tabs.addTab(self.formulation_tab, "Safety &formulation")
        self.tabs.addTab(self.history, "Histor&y")

        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.name)
        layout.addLayout(form)
        layout.addWidget(self.tabs, 1)
        self.back_button.setShortcut(QKeySequence("Alt+Left"))

    def _placeholder(self, text: str) -> QWidget:
        page = QWidget(self)
        label = QLabel(text, page)
        label.setWordWrap(True)
        layout = QVBoxLayout(page)
        layout.addWidget(label)
        layout.addStretch(1)
        return page

    def show_patient(self, summary: PatientSummary, history: list[tuple[str, ...]]) -> None:
        d = summary.details
        self.record_id = summary.record_id
        name = d.display_name
        if d.preferred_name and d.preferred_name != d.given_name:
            name += f"  (given name {d.given_name})"
        self.name.setText(name)
        self.details["nhs"].setText(d.nhs_number_formatted)
        self.details["dob"].setText(d.date_of_birth.strftime("%d %B %Y"))
        self.details["local_id"].setText(d.local_id or "—")
        self.details["language"].setText(d.preferred_language or "—")
        self.details["needs"].setText(", ".join(d.access_needs) or "None recorded")
        self.history_model.set_rows(history)

    def clear(self) -> None:
        """Forget everything shown (the app is locking)."""
        self.name.clear()
        for label in self.details.values():
            label.clear()
        self.history_model.set_rows([])

    def _edit(self) -> None:
        if self.record_id:
            self.edit.emit(self.record_id)
