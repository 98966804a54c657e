"""The safety formulation tab: the shared record editor (see record_tab) over the formulation
layout — safety assessment, formulation, management and planning, involving others — with signing,
addenda, the person's own view, and a new version at review.

A signed version is shown read-only: it is locked. The banner above it says so and offers what can
be done instead (an addendum, the person's view, a new version), so an attempt to edit it is met
with an explanation, never a silent change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from ..core.clinical import formulations, plans
from ..core.clinical.formulations import FormulationState, Note
from ..core.clinical.plan_content import PlanContent
from ..core.clinical.plan_layout import LayoutCatalogue, PlanLayout
from ..core.clinical.plan_prompts import plan_prompts
from ..core.storage import autosave
from .operation import Operations
from .plan_dialogs import ReasonDialog, SignFormulationDialog
from .record_tab import RecordTab
from .widgets import shortcut_button

if TYPE_CHECKING:
    from PySide6.QtWidgets import QLayout

    from ..core.access.session import Session

DEFAULT_REVIEW_DAYS = 28


@dataclass(frozen=True)
class FormulationLoad:
    state: FormulationState
    autosaved: autosave.Autosaved | None
    staff: dict[str, str]
    linked_plan: str  # the safety plan version the current formulation version links to, in words ("" if none)


def load_formulation_for_patient(session: Session, patient_id: str, audit: bool = True,
                                 plan: plans.PlanState | None = None) -> FormulationLoad:  # fmt: skip
    """`plan`: the patient's plan when the caller has read it already (it is not decrypted twice).
    The link itself is taken when the formulation is signed (formulations.sign_formulation)."""
    state = formulations.load_formulation(session, patient_id, audit_view=audit)
    link = state.current.payload.get("safety_plan_version") if state.current else None
    linked = ""
    if link:
        plan = plan or plans.load_plan(session, patient_id, audit_view=False)
        v = next((v for v in plan.history if v.version_id == link), None)
        linked = f"{plan.display_status(v)}, saved {v.created_at:%d %b %Y %H:%M}" if v else "not on this PC yet"
    return FormulationLoad(
        state, autosave.read(session, patient_id, formulations.FORMULATION_KIND), session.users.staff_names(), linked
    )


def note_lines(notes: list[Note], staff: dict[str, str]) -> list[str]:
    out = []
    for n in notes:
        when = n.version.created_at.strftime("%d %b %Y %H:%M")
        who = staff.get(n.version.author_id, "unknown user")
        line = f"{formulations.NOTE_LABELS.get(n.kind, n.kind)} — {when}, {who}:\n{n.text}"
        if n.withdrawn_reason is not None:
            line += f"\n(Entered in error: {n.withdrawn_reason})"
        out.append(line)
    return out


class FormulationTab(RecordTab):
    kind = formulations.FORMULATION_KIND
    noun = "formulation"

    def __init__(self, ops: Operations, session: Callable[[], Session | None], catalogue: LayoutCatalogue,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(ops, session, catalogue, parent)
        self.new_version = False  # the clinician started a review version from the signed one
        self.editor.show_clinician_notes(False)

        self.locked_banner = QLabel(self)
        self.locked_banner.setWordWrap(True)
        self.locked_banner.setAccessibleName("Locked")
        self.locked_banner.hide()
        self.sign_button = shortcut_button("Sign…", "Ctrl+Shift+S", self.sign, self, name="sign_formulation")
        self.addendum_button = shortcut_button("Add &addendum…", "Ctrl+Shift+A", self.add_addendum, self,
                                               name="addendum")  # fmt: skip
        self.view_button = shortcut_button("The person's &view…", None, self.add_persons_view, self,
                                           name="persons_view")  # fmt: skip
        self.new_button = shortcut_button("New version for re&view…", None, self.start_new_version, self,
                                          name="new_version")  # fmt: skip
        actions = QHBoxLayout()
        for b in (self.save_button, self.sign_button, self.undo_button, self.redo_button):
            actions.addWidget(b)
        actions.addStretch(1)
        more = QHBoxLayout()
        for b in (self.addendum_button, self.view_button, self.new_button):
            more.addWidget(b)
        more.addStretch(1)

        bars: list[QWidget | QLayout] = [self.locked_banner, actions, more]
        self.notes_view = self._build_page("Addenda and the person's view (signed, dated):",
                                           "Addenda and the person's view", bars)  # fmt: skip

    # --- the record tab's hooks ----------------------------------------------------------------------
    def _blank(self, layout: PlanLayout) -> PlanContent:
        return PlanContent.blank(layout, {}, schema=formulations.SCHEMA)

    @staticmethod
    def _load(session: Session, patient_id: str) -> FormulationLoad:
        return load_formulation_for_patient(session, patient_id, audit=False)

    def _draft_saver(self, session: Session, pid: str, layout: PlanLayout, content: PlanContent,
                     base: str | None, merge_of: tuple[str, ...] | None) -> Callable[[], str]:  # fmt: skip
        new = self.new_version  # read here, on the GUI thread
        return lambda: formulations.save_draft(session, pid, layout, content, base, new_version=new, merge_of=merge_of)

    def editing(self) -> bool:
        # A review version begun from the signed one and not yet saved: a refresh would end it.
        started = self.new_version and self.load_result is not None and self.load_result.state.locked
        return super().editing() or started

    def _merge_started(self) -> None:
        # A signed version is locked: a merge that follows one is a new version for review.
        state = self.load_result.state
        merged = self.merge_of or ()
        self.new_version = any(v.signed for v in state.history if v.version_id in merged)
        self._show_lock()

    def _merge_note(self) -> str:
        if not self.new_version:
            return ""
        return "A signed version is locked: the merge is a new version for review, and the signed one stays as it is."

    def show_record(self, patient_id: str, loaded: Any, resume: bool = False) -> None:
        self.new_version = False
        self.editor.set_locked(loaded.state.locked)
        super().show_record(patient_id, loaded, resume)

    def restore_autosave(self, *, resumed: bool = False) -> None:
        state = self.load_result.state if self.load_result else None
        self.new_version = bool(state and state.locked)  # a draft begun from the signed version
        super().restore_autosave(resumed=resumed)
        self._show_lock()

    def _show_status(self) -> None:
        loaded: FormulationLoad = self.load_result
        state, current = loaded.state, loaded.state.current
        if current is None:
            text = "No safety formulation yet."
        else:
            who = loaded.staff.get(current.author_id, "unknown user")
            text = f"{state.display_status(current)} — {current.created_at:%d %b %Y %H:%M}, {who}."
            if current.signed and current.review_due:
                text += f" Review by {current.review_due:%d %b %Y}."
            if current.signed:
                plan = loaded.linked_plan
                text += f" Linked to the safety plan in force when signed: {plan}." if plan else " No safety plan."
        if self.merge_of is not None:
            text += " Merging two versions: not saved yet."
        self.status.setText(text)  # a conflict is said in the banner below, with what to do

    def _after_show(self, loaded: Any) -> None:
        self._show_lock()
        state: FormulationState = loaded.state
        current = state.current
        lines = note_lines(state.notes_about(current.version_id), loaded.staff) if current else []
        self.notes_view.setText("\n\n".join(lines) or "None.")

    def _show_lock(self) -> None:
        state = self.load_result.state if self.load_result else None
        locked = bool(state and state.locked and not self.new_version)
        self.editor.set_locked(locked)
        for b in (self.save_button, self.sign_button):
            b.setEnabled(not locked)
        signed = bool(state and state.current and state.current.signed)
        self.addendum_button.setEnabled(signed)
        self.view_button.setEnabled(signed)
        self.new_button.setEnabled(locked)
        if locked:
            self.locked_banner.setText(
                "Locked: this version is signed, so it cannot be edited. Add a dated addendum "
                "(Ctrl+Shift+A), record the person's view, or at review start a new version from it."
            )
        elif self.new_version:
            self.locked_banner.setText("New version for review, started from the signed one (which stays as it is).")
        # While merging, the merge banner says what happens to a signed version.
        self.locked_banner.setVisible(locked or (self.new_version and self.merge_of is None))

    def _after_clear(self) -> None:
        self.new_version = False
        self.notes_view.clear()
        self.locked_banner.hide()
        self.editor.set_locked(False)

    # --- actions ---------------------------------------------------------------------------------------
    def start_new_version(self) -> None:
        if self.load_result is None or not self.load_result.state.locked:
            return
        self.new_version = True
        self._show_lock()
        self.editor.first_field().setFocus()

    def sign(self) -> None:
        if self.editor.locked:
            self.message.show_error("This version is already signed and locked. Add an addendum instead.")
            return
        prepared = self._prepare()
        if prepared is None:
            return
        session, pid, layout, content = prepared
        today = session.store.clock.now().date()

        # The plan's checklist, over the formulation's sections: mostly empty is seen before signing.
        prompts = [p.text for p in plan_prompts(layout, content)]
        dialog = SignFormulationDialog(prompts, today, today + timedelta(days=DEFAULT_REVIEW_DAYS), self)
        if dialog.exec() != SignFormulationDialog.DialogCode.Accepted:
            return
        review, base, new, merge = dialog.value, self.base_version_id, self.new_version, self.merge_of
        assert review is not None

        def sign() -> str:  # links the safety plan in force now, read on the worker at signing
            return formulations.sign_formulation(session, pid, layout, content, base, review_due=review,
                                                 new_version=new, merge_of=merge)  # fmt: skip

        self._write(sign, lambda loaded: self._saved(loaded, "Signed: this version is locked.", reload=True))

    def add_addendum(self) -> None:
        self._add_note(formulations.ADDENDUM, "Add an addendum", "&Addendum",
                       "Write the addendum; it is dated and signed in your name.")  # fmt: skip

    def add_persons_view(self) -> None:
        self._add_note(formulations.DISAGREEMENT, "Record the person's view", "In their &words",
                       "Write what the person says, in their words.")  # fmt: skip

    def _add_note(self, note_type: str, title: str, label: str, empty: str) -> None:
        session, pid = self._session(), self.patient_id
        state = self.load_result.state if self.load_result else None
        if session is None or session.locked or pid is None or state is None or state.current is None:
            return
        dialog = ReasonDialog(title, "&Add", label, self, multiline=True, empty_message=empty)
        if dialog.exec() != ReasonDialog.DialogCode.Accepted:
            return
        about, text = state.current.version_id, dialog.reason
        done = f"{formulations.NOTE_LABELS[note_type]} added, dated and signed."
        load = self._load

        def add() -> FormulationLoad:
            formulations.add_note(session, pid, about, note_type, text)
            return load(session, pid)

        self.ops.run(add, lambda loaded: self._note_added(loaded, done), self._failed)

    def _note_added(self, loaded: FormulationLoad, text: str) -> None:
        self.load_result = loaded
        self._after_show(loaded)
        self.message.show_ok(text)
        self.saved.emit()
