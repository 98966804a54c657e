"""Batch printing for a team: choose from the caseload, one combined PDF or one file per person, made
in the background with a progress bar and Cancel while the window stays responsive.

The work is export.batch on the worker; its progress callback runs on that thread, so it only emits
a signal that Qt queues to the GUI thread (no widget is touched from the worker). Cancel sets an
event the batch checks between people; a cancelled batch leaves no file behind.

People whose plan needs a look first (core/clinical/print_checks.py) are left out unless "Include them" is
ticked, and listed by name with the reasons once the batch is done; so are copies that could not be
laid out, with the sentence (the others print). Crisis numbers checked over 12 months ago are named
with their date before Start; printing goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import InvalidInput, PerfectCareError
from .operation import Operations
from .print_dialog import VARIANT_LABELS
from .widgets import Message, em, shortcut_button

if TYPE_CHECKING:
    from ..core.access.session import Session
    from ..core.clinical.crisis_directory import CrisisDirectory
    from ..export.batch import BatchResult


class _Progress(QObject):
    """Emitted on the worker thread; Qt queues the slot call to the GUI thread."""

    moved = Signal(int, int)


class BatchPrintDialog(QDialog):
    def __init__(self, ops: Operations, session: Callable[[], Session | None], selected: list[str],
                 variants: list[str] | None = None, directory: CrisisDirectory | None = None,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.setWindowTitle("Print plans for the team")
        self.ops, self._session, self.selected, self.directory = ops, session, list(selected), directory
        self.cancel_event = threading.Event()
        self.batch_result: BatchResult | None = None  # not `result`: that would hide QDialog.result()
        self.running = False

        self.choice = QButtonGroup(self)
        self.choices: dict[str, QRadioButton] = {}
        from ..export import batch

        for key, text in (
            (batch.ALL_CURRENT, "&All current plans"),
            (batch.CHANGED_THIS_WEEK, "Plans changed this &week"),
            (batch.DUE_FOR_REVIEW, "Plans due for &review (within 14 days, or overdue)"),
            (batch.CHOSEN, f"The {len(self.selected)} people &selected in the caseload"),
        ):
            button = QRadioButton(text, self)
            self.choice.addButton(button)
            self.choices[key] = button
        self.choices[batch.CHOSEN].setEnabled(bool(self.selected))
        (self.choices[batch.CHOSEN] if self.selected else self.choices[batch.ALL_CURRENT]).setChecked(True)

        self.variant = QComboBox(self)
        self.variant.setAccessibleName("Which copy")
        for key in ("auto", *(variants or [k for k in VARIANT_LABELS if k != "auto"])):
            self.variant.addItem(VARIANT_LABELS.get(key, key), key)
        self.combined = QRadioButton("One &combined PDF", self)
        self.per_person = QRadioButton("One &file per person, in a folder", self)
        self.combined.setChecked(True)
        self.target = QLineEdit(self)
        self.target.setAccessibleName("Where to save")
        self.target.setPlaceholderText("File or folder; names carry no patient details")
        self.browse = shortcut_button("&Browse…", None, self._browse, self, name="browse")
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("PDF password (optional)")
        self.password.setPlaceholderText("Optional: protect with a password")
        self.include_unresolved = QCheckBox("&Include plans that need a look first", self)
        why = ("Two versions not merged, a draft with no agreed plan, or fewer than 3 sections filled in. Unticked, "
               "they are left out and listed by name when the batch is done.")  # fmt: skip
        self.include_unresolved.setToolTip(why)
        self.include_unresolved.setAccessibleDescription(why)
        self.include_unresolved.setObjectName("include_unresolved")
        self.stale = QLabel(self)  # crisis numbers checked over 12 months ago: said before Start
        self.stale.setObjectName("stale_numbers")
        self.stale.setProperty("role", "banner")
        self.stale.setWordWrap(True)
        self.stale.setAccessibleName("Crisis numbers")
        self.stale.hide()
        self.report = QPlainTextEdit(self)  # who was left out and why: names on screen only, never on disk
        self.report.setObjectName("left_out")
        self.report.setReadOnly(True)
        self.report.setAccessibleName("People not printed, and why")
        self.report.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.report.setMinimumHeight(em(self, 8))
        self.report.hide()
        self.progress = QProgressBar(self)
        self.progress.setAccessibleName("Progress")
        self.progress.setFormat("%v of %m")
        self.progress.hide()
        self.message = Message(self)
        self.start_button = shortcut_button("&Start", None, self.start, self, name="start")
        self.cancel_button = shortcut_button("Cancel", "Esc", self.cancel, self, name="cancel")

        self._progress = _Progress(self)
        self._progress.moved.connect(self._moved)

        who = QVBoxLayout()
        for button in self.choices.values():
            who.addWidget(button)
        where = QHBoxLayout()
        where.addWidget(self.target, 1)
        where.addWidget(self.browse)
        form = QFormLayout()
        form.addRow("&Copy", self.variant)
        form.addRow(self.combined)
        form.addRow(self.per_person)
        save_to = QLabel("Save &to", self)  # a row of a layout takes no mnemonic from a plain string
        save_to.setBuddy(self.target)
        form.addRow(save_to, where)
        form.addRow("&Password", self.password)
        form.addRow(self.include_unresolved)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.stale)
        layout.addLayout(who)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.report)
        layout.addLayout(buttons)
        self.setMinimumWidth(em(self, 40))
        self._show_stale()
        self._fit()

    def _show_stale(self) -> None:
        session = self._session()
        if session is None or session.locked:
            return
        from ..core.clinical.crisis_directory import load_directory, stale_warning
        from ..errors import LayoutInvalid

        try:
            directory = self.directory if self.directory is not None else load_directory()
        except LayoutInvalid:
            return  # the batch will say so when it starts
        warning = stale_warning(directory, session.store.clock.now().date())
        if warning:
            self.stale.setText(f"⚠ {warning}")
            self.stale.setAccessibleDescription(warning)
        self.stale.setVisible(bool(warning))

    def _browse(self) -> None:
        if self.combined.isChecked():
            chosen, _ = QFileDialog.getSaveFileName(self, "Save the combined PDF", "safety-plans.pdf", "PDF (*.pdf)")
        else:
            chosen = QFileDialog.getExistingDirectory(self, "Choose an empty folder")
        if chosen:
            self.target.setText(chosen)

    def _selection_kind(self) -> str:
        return next(k for k, b in self.choices.items() if b.isChecked())

    def start(self) -> None:
        session = self._session()
        if session is None or session.locked or self.running:
            return
        self.message.clear_message()
        self.report.clear()
        self.report.hide()
        if not self.target.text().strip():
            self.message.show_error("Choose where to save the plans first.")
            return
        from ..export import batch

        target = Path(self.target.text().strip())
        kind, variant = self._selection_kind(), self.variant.currentData()
        password = self.password.text() or None
        selection = batch.Selection(kind, tuple(self.selected) if kind == batch.CHOSEN else ())
        combined = target if self.combined.isChecked() else None
        out_dir = None if combined else target
        self.cancel_event.clear()
        progress, directory = self._progress, self.directory
        include = self.include_unresolved.isChecked()

        def job() -> BatchResult:
            people = batch.select_patients(session, selection)
            return batch.export_batch(session, people, variant, out_dir=out_dir, combined=combined, password=password,
                                      progress=lambda done, total: progress.moved.emit(done, total),
                                      cancel=self.cancel_event, directory=directory,
                                      include_unresolved=include)  # fmt: skip

        self._running(True)
        self.ops.run(job, self._done, self._failed)

    def _running(self, running: bool) -> None:
        self.running = running
        self.start_button.setEnabled(not running)
        self.progress.setVisible(running or self.progress.value() > 0)
        if running:
            self.progress.setRange(0, 0)  # busy until the first person is done
        self.cancel_button.setText("Cancel the batch" if running else "Close")

    def _moved(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def cancel(self) -> None:
        if self.running:
            self.cancel_event.set()  # checked between people; nothing half-written is kept
            self.message.show_ok("Cancelling…")
        else:
            self.reject()

    def reject(self) -> None:
        if self.running:  # Esc or the close box while printing means Cancel, never a half batch
            self.cancel()
            return
        super().reject()

    def _done(self, result: BatchResult) -> None:
        self.batch_result = result
        self._running(False)
        notes = []
        if result.skipped:
            notes.append(f"{result.skipped} had no plan to print.")
        if result.left_out:
            notes.append(f"{len(result.left_out)} left out: their plans need a look first (listed below; tick "
                         "'Include plans that need a look first' to print them anyway).")  # fmt: skip
        if result.failed:
            notes.append(f"{len(result.failed)} could not be laid out (listed below; try another copy for them).")
        if result.included:
            notes.append(f"{result.included} printed although their plans need a look.")
        if result.printed:
            where = result.files[0].name if len(result.files) == 1 else f"{len(result.files)} files"
            self.message.show_ok(" ".join([f"Done: {result.printed} plans printed into {where}.", *notes]))
        else:
            self.message.show_error(" ".join(["Nothing was printed and no file was written.", *notes]))
        lines: list[str] = []
        session = self._session()
        if session is None or session.locked:  # locked while the batch ran: no names on screen
            self.report.hide()
            return
        for person in result.left_out:
            lines += [f"{person.name} — not printed:", *(f"  • {r}" for r in person.reasons)]
        for person in result.failed:
            lines += [f"{person.name} — could not be laid out:", *(f"  • {r}" for r in person.reasons)]
        self.report.setPlainText("\n".join(lines))
        self.report.setVisible(bool(lines))
        self._fit()

    def _fit(self) -> None:
        """Grow to show what was added (wrapped labels and the list), never shrink what the user sized."""
        hint = self.sizeHint()
        self.resize(max(self.width(), hint.width()), max(self.height(), hint.height()))

    def _failed(self, error: BaseException) -> None:
        self._running(False)
        if isinstance(error, PerfectCareError | InvalidInput):
            self.message.show_error(str(error))
        else:
            raise error
