"""One patient: their details, the safety plan and formulation tabs, and the full version history."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.clinical.discharge import OUTCOMES
from ..core.clinical.statuses import ENTERED_IN_ERROR
from ..core.patients.details import PatientSummary
from .table_model import RowsModel
from .widgets import heading, shortcut_button

if TYPE_CHECKING:
    from ..core.storage.versions import VersionInfo
    from .formulation_tab import FormulationTab
    from .plan_tab import PlanTab
    from .record_tab import RecordTab

HISTORY_COLUMNS = ("When", "By", "Record", "Status", "What changed")
_TAB_TITLES = ("Safety &plan", "Safety for&mulation")
_KIND_LABELS = {
    "patient": "Details",
    "safety_plan": "Safety plan",
    "safety_formulation": "Safety formulation",
    "formulation_note": "Formulation note",
    "discharge": "Discharge",
}
_NOTE_LABELS = {"addendum": "Added an addendum", "disagreement": "Recorded the person's view"}
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
    if current.kind == "formulation_note":
        return _NOTE_LABELS.get(str(current.payload.get("type")), "Added a note")
    if current.kind == "discharge":
        return _discharge_event(previous, current.payload)
    if previous is None:
        return "Created and signed" if current.signed else "Created"
    if current.kind == "patient":
        changed = [label for key, label in _FIELD_LABELS.items() if previous.get(key) != current.payload.get(key)]
        return "Changed " + ", ".join(changed) if changed else "Saved without changes"
    event = _PLAN_EVENTS.get(current.status, "Saved a new version")
    if len(current.parents) > 1:  # a merge: it follows versions saved on different PCs
        return f"{event}, merging {len(current.parents)} versions saved on different PCs"
    return event


def _discharge_event(previous: dict[str, Any] | None, payload: dict[str, Any]) -> str:
    """A discharge, or the follow-up contact this version added (discharge/2 keeps every contact)."""
    if "contacts" not in payload:  # discharge/1
        return "Recorded the follow-up" if payload.get("followup_done_on") else "Recorded a discharge"
    contacts = payload.get("contacts") or []
    same_episode = previous is not None and previous.get("episode") == payload.get("episode")
    if contacts and (not same_episode or len(contacts) > len((previous or {}).get("contacts") or [])):
        seen = {c.get("id") for c in (previous or {}).get("contacts") or []} if same_episode else set()
        added = [c for c in contacts if c.get("id") not in seen] or contacts
        label = OUTCOMES.get(str(added[-1].get("outcome")), "recorded")
        return f"Recorded a follow-up contact: {label[0].lower()}{label[1:]}"
    return "Recorded a discharge"


_PLAN_EVENTS = {
    "agreed": "Signed as agreed with the person",
    "offered_declined": "Recorded that a plan was offered and declined",
    "ended": "Ended the plan",
    "revision": "Saved a revision of the agreed plan",
    "draft": "Saved a draft",
    "signed": "Signed (locked)",
}


def history_rows(records: list[tuple[str, list[VersionInfo]]],
                 staff: dict[str, str]) -> list[tuple[VersionInfo, tuple[str, ...]]]:  # fmt: skip
    """Newest first, across every record of the patient: each version with its row of text. Each
    record's `versions` come in the history's one order (`versions.in_order`), which the rows keep."""
    from ..core.storage.versions import withdrawn_ids

    out: list[tuple[Any, tuple[VersionInfo, tuple[str, ...]]]] = []
    for kind, versions in records:
        previous: dict[str, Any] | None = None
        placed_at: datetime | None = None
        withdrawn = withdrawn_ids(versions)
        agreed = [v.version_id for v in versions if v.status == "agreed" and v.version_id not in withdrawn]
        for v in versions:
            status = "entered in error" if v.status == ENTERED_IN_ERROR else v.status.replace("_", " ")
            if v.status == "current" and v.signed:
                status = "signed"  # a note: signed when written
            elif v.signed and v.status != "signed":
                status += ", signed"
            if v.version_id in agreed[:-1]:
                status += ", superseded"  # a later agreed version replaced it; it stays readable
            if v.version_id in withdrawn:
                status += " (withdrawn: entered in error)"
            text = (
                v.created_at.strftime("%d %b %Y %H:%M"),
                staff.get(v.author_id, "unknown user"),
                _KIND_LABELS.get(kind, kind),
                status,
                describe_changes(previous, v),
            )
            # Placed at the latest time in its record so far: records interleave by time, and within one the
            # order is kept (a revision saved where the clock ran slow stays above the version it revised).
            placed_at = max(placed_at, v.created_at) if placed_at else v.created_at
            out.append(((placed_at, len(out)), (v, text)))  # ties (same second) keep the history's order
            if v.status != ENTERED_IN_ERROR:
                previous = v.payload
    out.sort(key=lambda item: item[0], reverse=True)
    return [row for _, row in out]


class PatientPage(QWidget):
    back = Signal()
    edit = Signal(str)
    mark_error = Signal(str, str)  # version id, reason

    def __init__(self, plan_tab: PlanTab, formulation_tab: FormulationTab, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.record_id: str | None = None
        self.history_versions: list[VersionInfo] = []
        self.details_in_conflict = False
        self.same_number = 0  # other current patients with this NHS number
        self.nhs_formatted = ""
        self.name = heading("", self)
        self.name.setAccessibleName("Patient name")
        # Records saved on two PCs at once: said in words, beside the name and on the tabs.
        self.attention = QLabel(self)
        self.attention.setObjectName("patient_attention")
        self.attention.setWordWrap(True)
        self.attention.setAccessibleName("Needs attention")
        self.attention.setProperty("role", "banner")
        self.attention.hide()
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
        self.plan_tab = plan_tab
        self.formulation_tab = formulation_tab
        self.history_model = RowsModel(HISTORY_COLUMNS, tip_columns=(4,), parent=self)
        self.history = QTableView(self)
        self.history.setModel(self.history_model)
        self.history.setAccessibleName("Version history")
        self.history.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history.verticalHeader().setVisible(False)
        self.history.horizontalHeader().setStretchLastSection(True)
        self.history.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.history.doubleClicked.connect(lambda _i: self.view_version())
        self.view_button = shortcut_button("&View version", None, self.view_version, self, name="view_version")
        self.compare_button = shortcut_button("&Compare versions…", None, self.compare, self, name="compare")
        self.error_button = shortcut_button("Mark entered in e&rror…", None, self._mark_error, self, name="mark_error")
        history_page = QWidget(self)
        history_buttons = QHBoxLayout()
        for b in (self.view_button, self.compare_button, self.error_button):
            history_buttons.addWidget(b)
        history_buttons.addStretch(1)
        hl = QVBoxLayout(history_page)
        hl.addLayout(history_buttons)
        hl.addWidget(self.history, 1)
        self.tabs.addTab(self.plan_tab, _TAB_TITLES[0])
        self.tabs.addTab(self.formulation_tab, _TAB_TITLES[1])
        self.tabs.addTab(history_page, "Histor&y")
        for tab in self.record_tabs:
            tab.saved.connect(self.refresh_attention)  # a merge saved: the flag goes

        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.name)
        layout.addWidget(self.attention)
        layout.addLayout(form)
        layout.addWidget(self.tabs, 1)
        self.back_button.setShortcut(QKeySequence("Alt+Left"))

    def show_patient(self, summary: PatientSummary, history: list[tuple[VersionInfo, tuple[str, ...]]],
                     same_number: int = 0) -> None:  # fmt: skip
        """`same_number`: how many other current patients have this NHS number (see the attention line)."""
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
        self.details_in_conflict = summary.needs_attention
        self.same_number = same_number
        self.nhs_formatted = d.nhs_number_formatted
        self.set_history(history)
        self.refresh_attention()

    def refresh_attention(self) -> None:
        """Say which of the patient's records were saved on two PCs at once (from what the tabs hold)."""
        records = []
        for i, tab in enumerate(self.record_tabs):
            state = tab.load_result.state if tab.load_result is not None else None
            conflict = state is not None and state.in_conflict
            self.tabs.setTabText(i, _TAB_TITLES[i] + (" — needs attention" if conflict else ""))
            if conflict:
                records.append(f"the safety {tab.noun}")
        lines = []
        if records:
            have, tab_ = ("each have", "each") if len(records) > 1 else ("has", "its")
            lines.append(f"{' and '.join(records)} {have} two versions saved on different PCs: open {tab_} tab to "
                         "compare and merge them")  # fmt: skip
        if self.details_in_conflict:
            lines.append("the patient's details were changed on two PCs: check them and save them (Ctrl+E)")
        if self.same_number:
            others = "another patient record has" if self.same_number == 1 else f"{self.same_number} other records have"
            lines.append(
                f"{others} this NHS number (search the caseload for {self.nhs_formatted}), most likely the same "
                "person registered on two PCs. If so, copy anything needed into one record, then mark the other's "
                "details entered in error in its History tab"
            )
        text = ("⚠ Needs attention: " + "; ".join(lines) + ".") if lines else ""
        self.attention.setText(text)
        self.attention.setAccessibleDescription(text)
        self.attention.setVisible(bool(lines))

    def set_history(self, history: list[tuple[VersionInfo, tuple[str, ...]]]) -> None:
        self.history_versions = [v for v, _ in history]
        self.history_model.set_rows([text for _, text in history])

    def clear(self) -> None:
        """Forget everything shown (the app is locking)."""
        self.name.clear()
        self.details_in_conflict = False
        self.same_number, self.nhs_formatted = 0, ""
        self.attention.clear()
        self.attention.setAccessibleDescription("")
        self.attention.hide()
        for i, title in enumerate(_TAB_TITLES):
            self.tabs.setTabText(i, title)
        for label in self.details.values():
            label.clear()
        self.history_versions = []
        self.history_model.set_rows([])
        self.plan_tab.clear()
        self.formulation_tab.clear()

    @property
    def record_tabs(self) -> tuple[RecordTab, ...]:
        return (self.plan_tab, self.formulation_tab)

    # --- history: view, compare, entered in error ----------------------------------------------------
    def _selected_version(self) -> VersionInfo | None:
        rows = self.history.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.history_versions):
            return None
        return self.history_versions[rows[0].row()]

    def _tab_for(self, kind: str) -> RecordTab | None:
        return next((t for t in self.record_tabs if t.kind == kind), None)

    def _versions_of(self, kind: str) -> list[VersionInfo]:
        return [v for v in reversed(self.history_versions) if v.kind == kind and v.status != ENTERED_IN_ERROR]

    def view_version(self) -> None:
        v = self._selected_version()
        if v is None or v.status == ENTERED_IN_ERROR:
            return
        row = self.history_versions.index(v)
        meta = " · ".join(self.history_model.rows[row][:2]) + " · " + self.history_model.rows[row][3]
        if v.kind == "formulation_note":
            QMessageBox.information(self, "Formulation note", f"{meta}\n\n{v.payload.get('text', '')}")
            return
        tab = self._tab_for(v.kind)
        if tab is None:
            QMessageBox.information(self, "Version", "This line's changes are listed in the history itself.")
            return
        from ..core.clinical.plan_content import PlanContent, person_view
        from .plan_history import VersionDialog

        content = PlanContent.from_payload(v.payload)
        layout = tab.catalogue.for_record(content.layout)
        plan = tab is self.plan_tab
        sections = person_view(layout, content, for_clinicians=not plan, means_detail=True)
        title = "Safety plan version" if plan else "Safety formulation version"
        VersionDialog(title, meta, sections, content.clinician_notes, self).exec()

    def compare(self) -> None:
        """Two versions side by side: of the record of the selected line (the plan if none is)."""
        selected = self._selected_version()
        kind = selected.kind if selected is not None and self._tab_for(selected.kind) else self.plan_tab.kind
        tab = self._tab_for(kind)
        assert tab is not None
        versions = self._versions_of(kind)
        if len(versions) < 2:
            QMessageBox.information(self, "Compare", f"There is only one version of the {tab.noun} so far.")
            return
        from ..core.clinical.plan_content import PlanContent
        from .plan_history import CompareDialog

        labels = {v.version_id: self.history_model.rows[i] for i, v in enumerate(self.history_versions)}
        choices = [(f"{labels[v.version_id][0]} · {labels[v.version_id][3]} · {labels[v.version_id][1]}",
                    PlanContent.from_payload(v.payload)) for v in versions]  # fmt: skip
        catalogue = tab.catalogue
        CompareDialog(choices, lambda c: catalogue.for_record(c.layout), self, left=len(choices) - 2).exec()

    def _mark_error(self) -> None:
        v = self._selected_version()
        if v is None:
            return
        if v.status == ENTERED_IN_ERROR:
            QMessageBox.information(self, "Entered in error", "That line is itself an 'entered in error' note.")
            return
        reason, ok = QInputDialog.getText(
            self, "Mark entered in error", "Why was this entered in error? (kept with the record; the version stays)"
        )
        if ok:
            self.mark_error.emit(v.version_id, reason)

    def _edit(self) -> None:
        if self.record_id:
            self.edit.emit(self.record_id)
