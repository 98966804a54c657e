"""Small dialogs of the plan tab: sign as agreed (with the clinician's checklist), record an offer
that was declined, end a plan, record a discharge or its follow-up. Dates are typed DD/MM/YYYY, as
on the patient form; every problem is said in words in the dialog and nothing is saved."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from ..core.patients import parse_date
from ..errors import InvalidInput
from .widgets import Message, em


def _date_line(parent: QWidget, value: date | None, name: str) -> QLineEdit:
    line = QLineEdit(value.strftime("%d/%m/%Y") if value else "", parent)
    line.setPlaceholderText("DD/MM/YYYY")
    line.setAccessibleName(name)
    return line


class _FormDialog(QDialog):
    """A form with OK/Cancel whose OK runs `check`; a refused value shows its message, keeps the dialog."""

    def __init__(self, title: str, ok_text: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.form = QFormLayout()
        self.message = Message(self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.ok = self.buttons.addButton(ok_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setDefault(True)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.body = QVBoxLayout(self)
        self.body.addLayout(self.form)
        self.body.addWidget(self.message)
        self.body.addWidget(self.buttons)
        self.setMinimumWidth(em(self, 36))

    def check(self) -> None:  # raise InvalidInput to refuse
        raise NotImplementedError

    def _accept(self) -> None:
        try:
            self.check()
        except InvalidInput as exc:
            self.message.show_error(str(exc))
            return
        self.accept()


class _SignChecklist(_FormDialog):
    """A signing dialog that opens with the clinician's checklist (core/plan_prompts.py), for a plan
    and a formulation alike; they may sign anyway."""

    def __init__(self, title: str, ok_text: str, prompts: list[str], parent: QWidget | None) -> None:
        super().__init__(title, ok_text, parent)
        if prompts:
            intro = QLabel("Before signing, check these (you may sign anyway):", self)
            self.checklist = QListWidget(self)
            self.checklist.setAccessibleName("Checklist before signing")
            self.checklist.addItems([f"• {p}" for p in prompts])
            self.checklist.setWordWrap(True)
            self.checklist.setSpacing(3)
            self.body.insertWidget(0, intro)
            self.body.insertWidget(1, self.checklist)
        else:
            self.body.insertWidget(0, QLabel("Every section is filled in or recorded as discussed.", self))


class SignDialog(_SignChecklist):
    """Sign the plan as agreed with the person. The checklist is for the clinician; they may sign anyway.
    `involvement`: contacts that may be people the person does not want involved (core/involvement.py),
    said first, in a frame; signing is still theirs to decide."""

    def __init__(self, prompts: list[str], today: date, review_due: date, parent: QWidget | None = None,
                 involvement: Sequence[str] = ()) -> None:  # fmt: skip
        super().__init__("Sign the safety plan", "&Sign as agreed", prompts, parent)
        self.involvement = QLabel(self)
        self.involvement.setObjectName("involvement_check")
        self.involvement.setProperty("role", "banner")
        self.involvement.setWordWrap(True)
        self.involvement.setAccessibleName("Someone the person may not want involved")
        text = "\n\n".join(f"⚠ {sentence}" for sentence in involvement)
        self.involvement.setText(text)
        self.involvement.setAccessibleDescription(text)
        self.involvement.setVisible(bool(involvement))
        self.body.insertWidget(0, self.involvement)
        self.agreed_box = QCheckBox("The plan was &agreed with the person, in their words", self)
        self.agreed_box.setAccessibleName("Agreed with the person")
        self.agreed_on_line = _date_line(self, today, "Date agreed")
        self.review_line = _date_line(self, review_due, "Review date")
        self.form.addRow(self.agreed_box)
        self.form.addRow("Date a&greed", self.agreed_on_line)
        self.form.addRow("&Review by", self.review_line)
        self.agreed_box.setFocus()
        self.agreed_on: date | None = None
        self.review_due: date | None = None

    def check(self) -> None:
        if not self.agreed_box.isChecked():
            raise InvalidInput("Tick that the plan was agreed with the person; a plan is written with them.")
        self.agreed_on = parse_date(self.agreed_on_line.text(), "Date agreed")
        self.review_due = parse_date(self.review_line.text(), "Review date")
        if self.review_due <= self.agreed_on:
            raise InvalidInput("The review date must be after the date agreed.")


class SignFormulationDialog(_SignChecklist):
    """Sign the safety formulation: the same checklist as the plan's, then the review date (after today)."""

    def __init__(self, prompts: list[str], today: date, review_due: date, parent: QWidget | None = None) -> None:
        super().__init__("Sign the safety formulation", "&Sign", prompts, parent)
        self.today = today
        self.date_line = _date_line(self, review_due, "Review by")
        self.form.addRow("&Review by", self.date_line)
        self.date_line.setFocus()
        self.value: date | None = None

    def check(self) -> None:
        self.value = parse_date(self.date_line.text(), "Review by")
        if self.value <= self.today:
            raise InvalidInput("The review date must be after today.")


class DeclineDialog(_FormDialog):
    """An offer of a safety plan that the person declined: it is recorded, because offers count."""

    def __init__(self, today: date, parent: QWidget | None = None) -> None:
        super().__init__("Record that the offer was declined", "&Record", parent)
        self.offered_line = _date_line(self, today, "Date offered")
        self.reason_edit = QPlainTextEdit(self)
        self.reason_edit.setAccessibleName("What the person said (optional)")
        self.reason_edit.setTabChangesFocus(True)
        self.reason_edit.setMaximumHeight(em(self, 6))
        self.form.addRow("Date &offered", self.offered_line)
        self.form.addRow("What the person &said", self.reason_edit)
        self.offered_on: date | None = None

    def check(self) -> None:
        self.offered_on = parse_date(self.offered_line.text(), "Date offered")

    @property
    def reason(self) -> str:
        return self.reason_edit.toPlainText()


_NO_REASON = "Say why; the reason is kept with the record."


class ReasonDialog(_FormDialog):
    """Required text: why a plan ends (a line), or an addendum or the person's view (a block)."""

    def __init__(self, title: str, ok_text: str, label: str, parent: QWidget | None = None,
                 multiline: bool = False, empty_message: str = _NO_REASON) -> None:  # fmt: skip
        super().__init__(title, ok_text, parent)
        self._empty = empty_message
        self.reason_line: QLineEdit | QPlainTextEdit
        if multiline:
            self.reason_line = QPlainTextEdit(self)
            self.reason_line.setTabChangesFocus(True)
            self.reason_line.setMinimumHeight(em(self, 8))
        else:
            self.reason_line = QLineEdit(self)
        self.reason_line.setAccessibleName(label.replace("&", ""))
        self.form.addRow(label, self.reason_line)

    def check(self) -> None:
        if not self.reason.strip():
            raise InvalidInput(self._empty)

    @property
    def reason(self) -> str:
        line = self.reason_line
        return line.toPlainText() if isinstance(line, QPlainTextEdit) else line.text()


class DateNoteDialog(_FormDialog):
    """A date and an optional note (discharge, follow-up done)."""

    def __init__(self, title: str, ok_text: str, date_label: str, today: date,
                 check_date: Callable[[date], None] | None = None, parent: QWidget | None = None,
                 with_note: bool = True) -> None:  # fmt: skip
        super().__init__(title, ok_text, parent)
        self._label = date_label.replace("&", "")
        self.date_line = _date_line(self, today, self._label)
        self.note_line = QLineEdit(self)
        self.note_line.setAccessibleName("Note (optional)")
        self.form.addRow(date_label, self.date_line)
        if with_note:
            self.form.addRow("&Note", self.note_line)
        else:
            self.note_line.hide()
        self._check_date = check_date
        self.value: date | None = None

    def check(self) -> None:
        self.value = parse_date(self.date_line.text(), self._label)
        if self._check_date:
            self._check_date(self.value)
