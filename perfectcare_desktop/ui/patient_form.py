"""Add or edit a patient's details. Every save is a new version; the earlier ones stay in history."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ..core.patients.details import ACCESS_NEEDS, PatientDetails, parse_date
from ..core.patients.nhs_number import InvalidNhsNumber, format_nhs_number, nhs_number_warning, normalise_nhs_number
from ..errors import InvalidInput, PerfectCareError
from .operation import Operations
from .widgets import Message, em, heading, shortcut_button

LANGUAGES = ("English", "Welsh", "Polish", "Urdu", "Arabic", "Bengali", "Punjabi", "Romanian", "Portuguese",
             "Somali", "Cantonese", "Farsi", "Kurdish", "Lithuanian", "British Sign Language")  # fmt: skip


class PatientForm(QWidget):
    """`save(record_id | None, details) -> record_id` runs in the background through `ops`."""

    saved = Signal(str)
    cancelled = Signal()

    def __init__(self, ops: Operations, save: Callable[[str | None, PatientDetails], str],
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.ops = ops
        self._save = save
        self.record_id: str | None = None

        self.title = heading("New patient", self)
        self.given = self._line("Given name")
        self.family = self._line("Family name")
        self.preferred = self._line("Preferred name (what they like to be called)")
        self.dob = self._line("Date of birth")
        self.dob.setPlaceholderText("DD/MM/YYYY")
        self.nhs = self._line("NHS number")
        self.nhs.setPlaceholderText("943 476 5919")
        self.nhs.textChanged.connect(self._check_nhs_live)
        self.nhs.editingFinished.connect(self._format_nhs)
        self.nhs_status = QLabel(self)
        self.nhs_status.setWordWrap(True)  # a CHI or H&C warning runs to two lines
        self.nhs_status.setAccessibleName("NHS number check")
        self.local_id = self._line("Local id")
        self.language = QComboBox(self)
        self.language.setEditable(True)
        self.language.addItems(LANGUAGES)
        self.language.setAccessibleName("Preferred language")
        self.needs = {need: QCheckBox(need.capitalize(), self) for need in ACCESS_NEEDS}
        for need, box in self.needs.items():
            box.setAccessibleName(f"Accessible information need: {need}")

        form = QFormLayout()
        for text, field in (
            ("&Given name", self.given),
            ("&Family name", self.family),
            ("&Preferred name", self.preferred),
            ("&Date of birth", self.dob),
            ("N&HS number", self.nhs),
            ("", self.nhs_status),
            ("&Local id", self.local_id),
            ("Preferred lan&guage", self.language),
        ):
            label = QLabel(text, self)
            label.setBuddy(field)
            form.addRow(label, field)
        needs_row = QHBoxLayout()
        for box in self.needs.values():
            needs_row.addWidget(box)
        needs_row.addStretch(1)
        form.addRow(QLabel("Accessible information", self), needs_row)

        self.message = Message(self)
        self.save_button = shortcut_button("&Save", QKeySequence.StandardKey.Save, self._submit, self, name="save")
        self.cancel_button = shortcut_button("Cancel", "Esc", self._cancel, self, name="cancel")
        # A signal as a keyword argument: PySide's own, missing from its stubs.
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self._submit)  # type: ignore[call-overload]
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        body = QWidget(self)
        body.setMaximumWidth(em(self, 60))  # long lines are hard to scan; the form stays readable
        inner = QVBoxLayout(body)
        inner.addWidget(self.title)
        inner.addLayout(form)
        inner.addWidget(self.message)
        inner.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(body)
        layout.addStretch(1)

    def _line(self, name: str) -> QLineEdit:
        line = QLineEdit(self)
        line.setAccessibleName(name)
        line.returnPressed.connect(self._submit)
        return line

    # --- modes ------------------------------------------------------------------------------------
    def start_new(self) -> None:
        self.record_id = None
        self.title.setText("New patient")
        self.clear()
        self.given.setFocus()

    def start_edit(self, record_id: str, details: PatientDetails) -> None:
        self.record_id = record_id
        self.title.setText("Edit details")
        self.clear()
        self.given.setText(details.given_name)
        self.family.setText(details.family_name)
        self.preferred.setText(details.preferred_name)
        self.dob.setText(details.date_of_birth.strftime("%d/%m/%Y"))
        self.nhs.setText(details.nhs_number_formatted)
        self.local_id.setText(details.local_id)
        self.language.setCurrentText(details.preferred_language)
        for need, box in self.needs.items():
            box.setChecked(need in details.access_needs)
        self.given.setFocus()

    def clear(self) -> None:
        for line in (self.given, self.family, self.preferred, self.dob, self.nhs, self.local_id):
            line.clear()
        self.language.setCurrentText("")
        for box in self.needs.values():
            box.setChecked(False)
        self.nhs_status.clear()
        self.message.clear_message()

    # --- NHS number, checked as it is typed ---------------------------------------------------------
    def _check_nhs_live(self, text: str) -> None:
        digits = [ch for ch in text if ch.isdigit()]
        if not text.strip():
            self.nhs_status.clear()
            return
        if len(digits) < 10 and all(ch.isdigit() or ch in " -" for ch in text):
            self.nhs_status.setText(f"{len(digits)} of 10 digits")
            return
        try:
            note = nhs_number_warning(text)  # a CHI or H&C number: said, never refused
            self.nhs_status.setText("✓ Valid: " + format_nhs_number(text) + (f"\n⚠ {note}" if note else ""))
        except InvalidNhsNumber as exc:
            self.nhs_status.setText(f"⚠ {exc}")
        self.nhs_status.setAccessibleDescription(self.nhs_status.text())

    def _format_nhs(self) -> None:
        try:
            formatted = format_nhs_number(self.nhs.text())
        except InvalidNhsNumber:
            return
        if formatted != self.nhs.text():
            self.nhs.setText(formatted)

    # --- saving -----------------------------------------------------------------------------------
    def _details(self) -> PatientDetails:
        if not self.dob.text().strip():
            raise InvalidInput("Enter the date of birth, for example 07/03/1984.")
        try:
            nhs = normalise_nhs_number(self.nhs.text())
        except InvalidNhsNumber as exc:
            raise InvalidInput(str(exc)) from exc
        return PatientDetails(
            given_name=self.given.text(),
            family_name=self.family.text(),
            date_of_birth=parse_date(self.dob.text()),
            nhs_number=nhs,
            local_id=self.local_id.text(),
            preferred_name=self.preferred.text(),
            preferred_language=self.language.currentText(),
            access_needs=tuple(need for need, box in self.needs.items() if box.isChecked()),
        )

    def _submit(self) -> None:
        try:
            details = self._details()
        except InvalidInput as exc:
            self.message.show_error(str(exc))
            return
        self.save_button.setEnabled(False)
        record_id = self.record_id
        self.ops.run(lambda: self._save(record_id, details), self._done, self._failed)

    def _done(self, record_id: str) -> None:
        self.save_button.setEnabled(True)
        self.clear()
        self.saved.emit(record_id)

    def _failed(self, error: BaseException) -> None:
        self.save_button.setEnabled(True)
        if not isinstance(error, PerfectCareError):
            raise error
        self.message.show_error(str(error))

    def _cancel(self) -> None:
        self.clear()
        self.cancelled.emit()
