"""The safety plan tab of a patient: status, the editor, the clinician's checklist, and the actions
(save draft, sign, present, offer declined, end, discharge and follow-up).

Autosave: a few seconds after the first unsaved change, the working copy (including an entry being
typed) is sealed into the store in the background; on lock and on quit it is written at once. So a
crash or power cut loses seconds at most, and reopening the patient offers the draft back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QSplitter, QVBoxLayout, QWidget

from ..core import autosave, plans
from ..core.crisis_directory import CrisisDirectory
from ..core.discharge import Discharge, load_discharge, record_discharge, record_followup
from ..core.plan_content import PlanContent, person_view
from ..core.plan_layout import LayoutCatalogue, PlanLayout
from ..core.plan_prompts import plan_prompts
from ..errors import InvalidInput, PerfectCareError
from .operation import Operations
from .plan_dialogs import DateNoteDialog, DeclineDialog, ReasonDialog, SignDialog
from .plan_editor import PlanEditor
from .widgets import Message, em, shortcut_button

if TYPE_CHECKING:
    from ..core.session import Session
    from .present_mode import PresentWindow

AUTOSAVE_MS = 3000  # at most this long between a change and its autosave


@dataclass(frozen=True)
class PlanLoad:
    """Everything the tab shows for a patient, read in the background in one go."""

    state: plans.PlanState
    autosaved: autosave.Autosaved | None
    discharge: Discharge | None
    staff: dict[str, str]


def load_for_patient(session: Session, patient_id: str, audit: bool = True) -> PlanLoad:
    return PlanLoad(
        plans.load_plan(session, patient_id, audit_view=audit),
        autosave.read(session, patient_id, plans.PLAN_KIND),
        load_discharge(session, patient_id),
        session.staff_names(),
    )


class PlanTab(QWidget):
    saved = Signal()  # a version was written: the page refreshes its history and the caseload

    def __init__(self, ops: Operations, session: Callable[[], Session | None], catalogue: LayoutCatalogue,
                 directory: CrisisDirectory, review_months: int, parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.ops, self._session = ops, session
        self.catalogue, self.directory, self.review_months = catalogue, directory, review_months
        self.patient_id: str | None = None
        self.layout_: PlanLayout | None = None
        self.load_result: PlanLoad | None = None
        self.base_version_id: str | None = None
        self.dirty = False
        self.present: PresentWindow | None = None

        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Plan status")
        self.autosave_label = QLabel(self)
        self.autosave_label.setAccessibleName("Autosave")
        self.discharge_label = QLabel(self)
        self.discharge_label.setAccessibleName("Discharge")
        self.message = Message(self)

        self.recover_bar = QWidget(self)
        self.recover_text = QLabel(self.recover_bar)
        self.recover_text.setWordWrap(True)
        self.restore_button = shortcut_button("Res&tore the draft", None, self.restore_autosave, self.recover_bar,
                                              name="restore_draft")  # fmt: skip
        self.discard_button = shortcut_button("Discard it", None, self.discard_autosave, self.recover_bar,
                                              name="discard_draft")  # fmt: skip
        bar = QHBoxLayout(self.recover_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.recover_text, 1)
        bar.addWidget(self.restore_button)
        bar.addWidget(self.discard_button)
        self.recover_bar.hide()

        self.save_button = shortcut_button("Save draft", QKeySequence.StandardKey.Save, self.save_draft, self,
                                           name="save_draft")  # fmt: skip
        self.sign_button = shortcut_button("Sign as agreed…", "Ctrl+Shift+S", self.sign, self, name="sign")
        self.present_button = shortcut_button("Present", "F5", self.toggle_present, self, name="present")
        self.decline_button = shortcut_button("&Offer declined…", None, self.decline, self, name="declined")
        self.end_button = shortcut_button("End plan…", None, self.end, self, name="end_plan")
        self.discharge_button = shortcut_button("Discharge…", None, self.discharge, self, name="discharge")
        self.followup_button = shortcut_button("Follow-&up done…", None, self.followup, self, name="followup")
        self.undo_button = shortcut_button("Undo", QKeySequence.StandardKey.Undo, self._undo, self, name="undo")
        self.redo_button = shortcut_button("Redo", "Ctrl+Shift+Z", self._redo, self, name="redo")
        actions = QHBoxLayout()
        for b in (self.save_button, self.sign_button, self.present_button, self.undo_button, self.redo_button):
            actions.addWidget(b)
        actions.addStretch(1)
        more = QHBoxLayout()
        for b in (self.decline_button, self.end_button, self.discharge_button, self.followup_button):
            more.addWidget(b)
        more.addWidget(self.discharge_label, 1)

        self.editor = PlanEditor(self)
        self.editor.changed.connect(self._changed)
        self.editor.live_changed.connect(self._live)
        self.editor.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.editor.undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)

        # A wrapped label, not a list view: list views cut long wrapped items short ("…").
        self.prompts = QLabel(self)
        self.prompts.setAccessibleName("Checklist for the clinician")
        self.prompts.setWordWrap(True)
        self.prompts.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.prompts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard
                                             | Qt.TextInteractionFlag.TextSelectableByMouse)  # fmt: skip
        self.prompt_texts: list[str] = []
        prompts_scroll = QScrollArea(self)
        prompts_scroll.setWidgetResizable(True)
        prompts_scroll.setWidget(self.prompts)
        prompts_box = QWidget(self)
        pl = QVBoxLayout(prompts_box)
        pl.setContentsMargins(0, 0, 0, 0)
        prompts_title = QLabel("Check before signing (for you, never on the person's copy):", prompts_box)
        prompts_title.setWordWrap(True)
        pl.addWidget(prompts_title)
        pl.addWidget(prompts_scroll, 1)
        prompts_box.setMinimumWidth(em(self, 14))

        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.editor)
        split.addWidget(prompts_box)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.autosave_label)
        layout.addLayout(top)
        layout.addWidget(self.recover_bar)
        layout.addLayout(actions)
        layout.addLayout(more)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave_soon)

    # --- showing a patient's plan ---------------------------------------------------------------------
    def show_plan(self, patient_id: str, loaded: PlanLoad, resume: bool = False) -> None:
        self.patient_id, self.load_result = patient_id, loaded
        state = loaded.state
        current = state.current
        self.layout_ = self.catalogue.for_record(current.payload.get("layout") if current else None)
        content = PlanContent.from_payload(current.payload) if current else None
        if content is None or not content.layout:
            content = PlanContent.blank(self.layout_, self.directory.ref)
        content.directory = dict(self.directory.ref)  # a new version uses the directory in force now
        self.base_version_id = state.heads[-1] if state.heads else None
        self.editor.load(self.layout_, content)
        self.dirty = False
        self.message.clear_message()
        self._show_status()
        self._show_discharge(loaded.discharge)
        self._refresh_prompts()
        self.autosave_label.clear()
        self._offer_recovery(loaded.autosaved, current.payload if current else None, resume)

    def _offer_recovery(self, found: autosave.Autosaved | None, saved_payload: dict[str, Any] | None,
                        resume: bool) -> None:  # fmt: skip
        self.recover_bar.hide()
        if found is None:
            return
        stored = {k: v for k, v in (saved_payload or {}).items() if k not in ("agreed_with_person", "agreed_on")}
        if PlanContent.from_payload(found.payload).to_payload() == PlanContent.from_payload(stored).to_payload():
            self._discard_slot()  # nothing beyond what was saved
            return
        if resume:  # back from a lock: carry on where the clinician was, without a question
            self.restore_autosave()
            self.message.show_ok("Your unsaved changes are back. Save them with Ctrl+S when ready.")
            return
        self.recover_text.setText(
            f"A draft of this plan from {found.saved_at.strftime('%d %b %Y %H:%M')} was not saved as a version "
            "(the app closed first). Restore it to carry on, or discard it."
        )
        self.recover_bar.show()
        self.restore_button.setFocus()

    def restore_autosave(self) -> None:
        found = self.load_result.autosaved if self.load_result else None
        if found is None or self.layout_ is None:
            return
        content = PlanContent.from_payload(found.payload)
        self.editor.load(self.catalogue.for_record(content.layout), content)
        self.recover_bar.hide()
        self._changed()
        self.message.show_ok("Draft restored. Save it as a version with Ctrl+S, or carry on writing.")

    def discard_autosave(self) -> None:
        self.recover_bar.hide()
        self._discard_slot()

    def _discard_slot(self) -> None:
        session, pid = self._session(), self.patient_id
        if session is not None and pid is not None:
            self.ops.run(lambda: autosave.discard(session, pid, plans.PLAN_KIND), None, self._failed)

    def _show_status(self) -> None:
        assert self.load_result is not None
        state, staff = self.load_result.state, self.load_result.staff
        current, agreed = state.current, state.agreed
        if current is None:
            text = "No plan yet. Write it with the person, or record that the offer was declined."
        else:
            who = staff.get(current.author_id, "unknown user")
            text = f"{state.display_status(current)} — {current.created_at.strftime('%d %b %Y %H:%M')}, {who}."
            if current.status == plans.DECLINED:
                d = current.payload.get("declined", {})
                text += f" Offered on {d.get('offered_on', '?')}."
        if agreed is not None:
            text += f" Agreed plan in use since {agreed.created_at.strftime('%d %b %Y')}"
            if agreed.review_due:
                text += f"; review by {agreed.review_due.strftime('%d %b %Y')}"
            text += ". Editing starts a revision; the agreed plan stays in use until the revision is signed."
        if state.in_conflict:
            text += " Two versions were saved on different PCs: both are kept; compare them in History."
        self.status.setText(text)

    def _show_discharge(self, d: Discharge | None) -> None:
        if d is None:
            self.discharge_label.setText("Not discharged.")
        elif d.followup_done_on:
            self.discharge_label.setText(
                f"Discharged {d.discharged_on:%d %b %Y}; followed up {d.followup_done_on:%d %b %Y}."
            )
        else:
            self.discharge_label.setText(
                f"Discharged {d.discharged_on:%d %b %Y}; 72-hour follow-up due by {d.followup_due:%d %b %Y}."
            )

    # --- editing, autosave, present mode -------------------------------------------------------------
    def _changed(self) -> None:
        self.dirty = True
        self.autosave_label.setText("Not yet saved")
        if not self.autosave_timer.isActive():
            self.autosave_timer.start()  # not restarted per change: a steady typist still autosaves
        self._refresh_prompts()

    def _live(self) -> None:
        if self.editor.pending_entry() and not self.autosave_timer.isActive():
            self.dirty = True
            self.autosave_timer.start()
        if self.present is not None and self.present.isVisible():
            self._render_present()

    def _refresh_prompts(self) -> None:
        self.prompt_texts = []
        if self.layout_ is not None and self.editor.content is not None:
            self.prompt_texts = [p.text for p in plan_prompts(self.layout_, self.editor.content)]
        self.prompts.setText("\n\n".join(f"• {t}" for t in self.prompt_texts) or "Nothing to check.")

    def _working_payload(self) -> dict[str, Any] | None:
        content = self.editor.content_with_pending()
        return content.to_payload() if content is not None else None

    def autosave_soon(self) -> None:
        """Write the working copy in the background (the timer's job)."""
        session, pid, payload = self._session(), self.patient_id, self._working_payload()
        if not self.dirty or session is None or session.locked or pid is None or payload is None:
            return
        record_id = self.load_result.state.record_id if self.load_result else None
        base = self.base_version_id

        def write() -> Any:
            return autosave.write(session, pid, plans.PLAN_KIND, record_id, base, payload)

        self.ops.run(write, lambda at: self.autosave_label.setText(f"Autosaved {at:%H:%M:%S}"), self._failed)

    def autosave_now(self) -> None:
        """Write the working copy at once, on this thread (the app is locking or quitting)."""
        self.autosave_timer.stop()
        session, pid, payload = self._session(), self.patient_id, self._working_payload()
        if not self.dirty or session is None or session.locked or pid is None or payload is None:
            return
        record_id = self.load_result.state.record_id if self.load_result else None
        autosave.write(session, pid, plans.PLAN_KIND, record_id, self.base_version_id, payload)

    def toggle_present(self) -> None:
        if self.editor.content is None:
            return
        if self.present is None:
            from .present_mode import PresentWindow

            self.present = PresentWindow(self.window())
            self.present.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        if self.present.isVisible():
            self.present.hide()
            return
        self._render_present()
        self.present.open_on_best_screen()
        # The clinician keeps typing in the editor: the person's view must not take the keyboard.
        self.window().activateWindow()

    def _render_present(self) -> None:
        content = self.editor.content_with_pending()
        if self.present is None or content is None or self.layout_ is None:
            return
        layout = self.catalogue.for_record(content.layout)
        show_directory = any(s.crisis_directory for s in layout.sections)
        self.present.show_plan(layout.title, person_view(layout, content), self.directory if show_directory else None)

    # --- saving -----------------------------------------------------------------------------------------
    def _prepare(self) -> tuple[Session, str, PlanLayout, PlanContent] | None:
        session, pid = self._session(), self.patient_id
        if session is None or session.locked or pid is None or self.layout_ is None or self.editor.content is None:
            return None
        if self.editor.pending_entry():
            self.editor.commit_fields()  # typed but not added: it is part of what is saved
        self.message.clear_message()
        layout = self.catalogue.for_record(self.editor.content.layout)
        return session, pid, layout, self.editor.content.copy()

    def save_draft(self) -> None:
        self._save_draft(lambda loaded: self._saved(loaded, "Draft saved as a new version.", reload=False))

    def save_on_leave(self) -> None:
        """Leaving the patient with unsaved changes: keep them as a draft version, in the background."""
        if self.dirty and self.editor.content is not None and self.editor.content.has_content():
            self._save_draft(lambda _loaded: self.saved.emit())
            self.dirty = False  # if the save fails, the autosaved copy is still offered next time

    def _save_draft(self, on_done: Callable[[PlanLoad], None]) -> None:
        prepared = self._prepare()
        if prepared is None:
            return
        session, pid, layout, content = prepared
        base = self.base_version_id

        def save() -> PlanLoad:
            plans.save_draft(session, pid, layout, content, base)
            autosave.discard(session, pid, plans.PLAN_KIND)
            return load_for_patient(session, pid, audit=False)

        self.ops.run(save, on_done, self._failed)

    def sign(self) -> None:
        prepared = self._prepare()
        if prepared is None:
            return
        session, pid, layout, content = prepared
        today = session.store.clock.now().date()
        prompts = [p.text for p in plan_prompts(layout, content)]
        dialog = SignDialog(prompts, today, plans.add_months(today, self.review_months), self)
        if dialog.exec() != SignDialog.DialogCode.Accepted:
            return
        agreed_on, review = dialog.agreed_on, dialog.review_due
        assert agreed_on is not None and review is not None
        base = self.base_version_id

        def sign() -> PlanLoad:
            plans.sign_plan(session, pid, layout, content, base, agreed_with_person=True, agreed_on=agreed_on,
                            review_due=review)  # fmt: skip
            autosave.discard(session, pid, plans.PLAN_KIND)
            return load_for_patient(session, pid, audit=False)

        done = "Signed: this version is agreed and locked."
        self.ops.run(sign, lambda loaded: self._saved(loaded, done, reload=True), self._failed)

    def decline(self) -> None:
        prepared = self._prepare()
        if prepared is None:
            return
        session, pid, _layout, content = prepared
        dialog = DeclineDialog(session.store.clock.now().date(), self)
        if dialog.exec() != DeclineDialog.DialogCode.Accepted:
            return
        offered_on, reason, base = dialog.offered_on, dialog.reason, self.base_version_id
        assert offered_on is not None
        keep = content if content.has_content() else None

        def record() -> PlanLoad:
            plans.record_declined_offer(session, pid, offered_on, reason, base, keep)
            autosave.discard(session, pid, plans.PLAN_KIND)
            return load_for_patient(session, pid, audit=False)

        self.ops.run(record, lambda loaded: self._saved(loaded, "The declined offer is recorded.", reload=True),
                     self._failed)  # fmt: skip

    def end(self) -> None:
        prepared = self._prepare()
        if prepared is None:
            return
        session, pid, _layout, _content = prepared
        dialog = ReasonDialog("End this plan", "&End plan", "&Why is it ending?", self)
        if dialog.exec() != ReasonDialog.DialogCode.Accepted:
            return
        reason, base = dialog.reason, self.base_version_id

        def end() -> PlanLoad:
            plans.end_plan(session, pid, reason, base)
            return load_for_patient(session, pid, audit=False)

        self.ops.run(end, lambda loaded: self._saved(loaded, "The plan is ended; it stays in history.", reload=True),
                     self._failed)  # fmt: skip

    def discharge(self) -> None:
        session, pid = self._session(), self.patient_id
        if session is None or session.locked or pid is None:
            return
        today = session.store.clock.now().date()

        def check(d: date) -> None:
            if d > today:
                raise InvalidInput("The discharge date cannot be in the future; record it on the day.")

        dialog = DateNoteDialog("Record discharge", "&Record", "&Discharged on", today, check, self)
        if dialog.exec() != DateNoteDialog.DialogCode.Accepted:
            return
        day, note = dialog.value, dialog.note_line.text()
        assert day is not None
        self.ops.run(lambda: (record_discharge(session, pid, day, note), load_discharge(session, pid))[1],
                     self._discharge_saved, self._failed)  # fmt: skip

    def followup(self) -> None:
        session, pid = self._session(), self.patient_id
        if session is None or session.locked or pid is None:
            return
        dialog = DateNoteDialog("Follow-up done", "&Record", "Followed up &on", session.store.clock.now().date(),
                                parent=self)  # fmt: skip
        if dialog.exec() != DateNoteDialog.DialogCode.Accepted:
            return
        day, note = dialog.value, dialog.note_line.text()
        assert day is not None
        self.ops.run(lambda: (record_followup(session, pid, day, note), load_discharge(session, pid))[1],
                     self._discharge_saved, self._failed)  # fmt: skip

    def _discharge_saved(self, d: Discharge | None) -> None:
        self._show_discharge(d)
        self.message.show_ok("Recorded.")
        self.saved.emit()

    def _saved(self, loaded: PlanLoad, text: str, reload: bool) -> None:
        if self.patient_id is None:
            return
        self.load_result = loaded
        self.base_version_id = loaded.state.heads[-1] if loaded.state.heads else None
        if reload:
            self.show_plan(self.patient_id, loaded)
        else:
            self.dirty = False
            self.autosave_timer.stop()
            self._show_status()
        self.autosave_label.setText("Saved")
        self.message.show_ok(text)
        self.saved.emit()

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, PerfectCareError):
            self.message.show_error(str(error))
        else:
            raise error

    def _undo(self) -> None:
        self.editor.undo_stack.undo()

    def _redo(self) -> None:
        self.editor.undo_stack.redo()

    def clear(self) -> None:
        """Forget everything shown (locking, or another patient is opening)."""
        self.autosave_timer.stop()
        self.editor.clear()
        self.prompts.clear()
        self.prompt_texts = []
        self.status.clear()
        self.discharge_label.clear()
        self.autosave_label.clear()
        self.recover_text.clear()
        self.recover_bar.hide()
        self.message.clear_message()
        self.load_result = None
        self.dirty = False
        if self.present is not None:
            self.present.clear()
            self.present.hide()
