"""Small dialogs of the plan tab: sign as agreed (with the clinician's checklist), record an offer
that was declined, end a plan, record a discharge or its follow-up. Dates are typed DD/MM/YYYY, as
on the patient form; every problem is said in words in the dialog and nothing is saved."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from ..core.clinical.discharge import ATTEMPTED, DISCHARGE_TYPES, OUTCOMES
from ..core.clinical.plans import add_months
from ..core.patients.details import parse_date
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
    """A signing dialog that opens with the clinician's checklist (core/clinical/plan_prompts.py), for a plan
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
    `involvement`: contacts that may be people the person does not want involved (core/clinical/involvement.py),
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
    """An offer of a safety plan that the person declined: it is recorded, because offers count, with
    the date to offer it again (it reaches the caseload)."""

    def __init__(self, today: date, parent: QWidget | None = None) -> None:
        super().__init__("Record that the offer was declined", "&Record", parent)
        self.today = today
        self.offered_line = _date_line(self, today, "Date offered")
        self.reason_edit = QPlainTextEdit(self)
        self.reason_edit.setAccessibleName("What the person said (optional)")
        self.reason_edit.setTabChangesFocus(True)
        self.reason_edit.setMaximumHeight(em(self, 6))
        self.reoffer_line = _date_line(self, add_months(today, 1), "Offer again by")
        self.form.addRow("Date &offered", self.offered_line)
        self.form.addRow("What the person &said", self.reason_edit)
        self.form.addRow("Offer &again by", self.reoffer_line)
        self.offered_on: date | None = None
        self.reoffer_on: date | None = None

    def check(self) -> None:
        self.offered_on = parse_date(self.offered_line.text(), "Date offered")
        if self.offered_on > self.today:
            raise InvalidInput("The date of the offer cannot be in the future.")
        self.reoffer_on = parse_date(self.reoffer_line.text(), "Offer again by")
        if self.reoffer_on <= self.offered_on:
            raise InvalidInput("The date to offer the plan again must be after the date it was offered.")

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


def parse_time(text: str, label: str) -> time:
    """A 24-hour clock time: 14:30, 14.30 or 1430."""
    raw = text.strip().replace(".", ":")
    if ":" not in raw and raw.isdigit() and len(raw) in (3, 4):
        raw = f"{raw[:-2]}:{raw[-2:]}"
    try:
        hours, minutes = (int(p) for p in raw.split(":"))
        return time(hours, minutes)
    except ValueError as exc:
        raise InvalidInput(f"{label} '{text.strip()}' is not a time; use the 24-hour clock, HH:MM.") from exc


def _when_row(parent: QWidget, value: datetime | None, name: str) -> tuple[QLineEdit, QLineEdit, QHBoxLayout]:
    """A date line and a time line side by side (UK local time)."""
    day = _date_line(parent, value.date() if value else None, f"{name}: date")
    clock = QLineEdit(value.strftime("%H:%M") if value else "", parent)
    clock.setPlaceholderText("HH:MM")
    clock.setAccessibleName(f"{name}: time (24-hour, UK time)")
    clock.setMaximumWidth(em(parent, 6))
    row = QHBoxLayout()
    row.addWidget(day, 2)
    row.addWidget(QLabel("at", parent))
    row.addWidget(clock, 1)
    return day, clock, row


def _buddy(parent: QWidget, text: str, buddy: QWidget) -> QLabel:
    """A row label whose Alt+key goes to `buddy` (a row that is a layout gets no buddy of its own)."""
    label = QLabel(text, parent)
    label.setBuddy(buddy)
    return label


def _read_when(day: QLineEdit, clock: QLineEdit, name: str) -> datetime:
    return datetime.combine(parse_date(day.text(), f"{name} date"), parse_time(clock.text(), f"{name} time"))


def _uk(at: datetime) -> str:
    return f"{at:%H:%M on %d/%m/%Y}"


_CHOOSE = "— choose —"


class DischargeDialog(_FormDialog):
    """A discharge: when (UK time; it may be recorded late), what kind, and who owns the 72-hour follow-up.
    Nothing is chosen for the clinician: the kind and the owner are asked for, never assumed."""

    def __init__(self, now: datetime, staff: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__("Record discharge", "&Record discharge", parent)
        self.now = now  # UK local time
        self.day_line, self.time_line, row = _when_row(self, now, "Discharged")
        self.type_box = QComboBox(self)
        self.type_box.setAccessibleName("Kind of discharge")
        self.type_box.addItem(_CHOOSE, None)
        for key, label in DISCHARGE_TYPES.items():
            self.type_box.addItem(label, key)
        self.owner_box = QComboBox(self)
        self.owner_box.setAccessibleName("Follow-up owner: a user")
        self.owner_box.addItem("A team or person named below", None)
        for user_id, name in sorted(staff.items(), key=lambda item: item[1].casefold()):
            self.owner_box.addItem(name, user_id)
        self.owner_line = QLineEdit(self)
        self.owner_line.setAccessibleName("Follow-up owner: a named team or person")
        self.owner_line.setPlaceholderText("e.g. Home treatment team, Bangor")
        self.owner_box.currentIndexChanged.connect(lambda i: self.owner_line.setEnabled(i == 0))
        self.note_line = QLineEdit(self)
        self.note_line.setAccessibleName("Note (optional)")
        self.form.addRow(_buddy(self, "&Discharged on", self.day_line), row)
        self.form.addRow("&Kind of discharge", self.type_box)
        self.form.addRow("Follow-up &owner", self.owner_box)
        self.form.addRow("Team or &person", self.owner_line)
        self.form.addRow("&Note", self.note_line)
        self.form.addRow(QLabel("Times are UK time. The 72 hours run from the discharge time.", self))
        self.discharged_at: datetime | None = None

    @property
    def discharge_type(self) -> str | None:
        key: str | None = self.type_box.currentData()  # a DISCHARGE_TYPES key, or None (nothing chosen)
        return key

    @property
    def owner_user_id(self) -> str | None:
        user_id: str | None = self.owner_box.currentData()  # a staff user id, or None (named below)
        return user_id

    def check(self) -> None:
        at = _read_when(self.day_line, self.time_line, "Discharge")
        if at > self.now:
            raise InvalidInput(f"The discharge time {_uk(at)} is in the future; record it once it has happened.")
        if self.discharge_type is None:
            raise InvalidInput(
                "Choose the kind of discharge: planned, self-discharge / left against advice, or transfer."
            )
        if self.owner_user_id is None and not self.owner_line.text().strip():
            raise InvalidInput("Say who owns the follow-up: choose a user, or name the team or person.")
        self.discharged_at = at


class FollowupDialog(_FormDialog):
    """A follow-up contact: made, attempted — not reached (with when to try again), or declined by the
    person. Each is kept; an attempt never stands in for a follow-up made."""

    def __init__(self, now: datetime, discharged_at: datetime, parent: QWidget | None = None) -> None:
        super().__init__("Record follow-up", "&Record", parent)
        self.now, self.discharged_at = now, discharged_at  # UK local time
        self.outcome_box = QComboBox(self)
        self.outcome_box.setAccessibleName("What happened")
        self.outcome_box.addItem(_CHOOSE, None)
        for key, label in OUTCOMES.items():
            self.outcome_box.addItem(label, key)
        self.day_line, self.time_line, row = _when_row(self, now, "Contact")
        self.next_day_line, self.next_time_line, next_row = _when_row(self, None, "Next attempt due")
        self.note_line = QLineEdit(self)
        self.note_line.setAccessibleName("Note (optional)")
        self.form.addRow(QLabel(f"Discharged at {_uk(discharged_at)} (UK time).", self))
        self.form.addRow("&What happened", self.outcome_box)
        self.form.addRow(_buddy(self, "&When", self.day_line), row)
        self.form.addRow(_buddy(self, "Ne&xt attempt due", self.next_day_line), next_row)
        self.form.addRow("&Note", self.note_line)
        self.outcome_box.currentIndexChanged.connect(self._outcome_changed)
        self._outcome_changed()
        self.at: datetime | None = None
        self.next_attempt_due: datetime | None = None

    @property
    def outcome(self) -> str | None:
        key: str | None = self.outcome_box.currentData()  # an OUTCOMES key, or None (nothing chosen)
        return key

    def _outcome_changed(self) -> None:
        attempt = self.outcome == ATTEMPTED
        self.next_day_line.setEnabled(attempt)
        self.next_time_line.setEnabled(attempt)

    def check(self) -> None:
        if self.outcome is None:
            raise InvalidInput("Choose what happened: made, attempted — not reached, or declined by the person.")
        at = _read_when(self.day_line, self.time_line, "Contact")
        if at > self.now:
            raise InvalidInput(f"The follow-up time {_uk(at)} is in the future; record it once it has happened.")
        if at < self.discharged_at:
            raise InvalidInput(f"The follow-up cannot be before the discharge ({_uk(self.discharged_at)}).")
        nxt = None
        if self.outcome == ATTEMPTED:
            if not self.next_day_line.text().strip():
                raise InvalidInput(
                    "Say when the next attempt is due; an attempt that did not reach the person needs one."
                )
            nxt = _read_when(self.next_day_line, self.next_time_line, "Next attempt")
            if nxt <= at:
                raise InvalidInput("The next attempt must be due after this attempt.")
        self.at, self.next_attempt_due = at, nxt
