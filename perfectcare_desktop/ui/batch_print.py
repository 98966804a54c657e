"""Batch printing for a team: choose from the caseload, one combined PDF or one file per person, made
in the background with a progress bar and Cancel while the window stays responsive.

The work is export.batch on the worker; its progress callback runs on that thread, so it only emits
a signal that Qt queues to the GUI thread (no widget is touched from the worker). Cancel sets an
event the batch checks between people; a cancelled batch leaves no file behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
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
    from ..core.crisis_directory import CrisisDirectory
    from ..core.session import Session
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
        self.result: BatchResult | None = None
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
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(who)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.setMinimumWidth(em(self, 40))

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

        def job() -> BatchResult:
            people = batch.select_patients(session, selection)
            return batch.export_batch(session, people, variant, out_dir=out_dir, combined=combined, password=password,
                                      progress=lambda done, total: progress.moved.emit(done, total),
                                      cancel=self.cancel_event, directory=directory)  # fmt: skip

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
        self.result = result
        self._running(False)
        where = result.files[0].name if len(result.files) == 1 else f"{len(result.files)} files"
        text = f"Done: {result.printed} plans printed into {where}."
        if result.skipped:
            text += f" {result.skipped} had no plan to print."
        self.message.show_ok(text)

    def _failed(self, error: BaseException) -> None:
        self._running(False)
        if isinstance(error, PerfectCareError | InvalidInput):
            self.message.show_error(str(error))
        else:
            raise error
