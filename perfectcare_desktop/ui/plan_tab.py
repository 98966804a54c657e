"""The safety plan tab of a patient: the shared record editor (see record_tab) with the plan's own
actions: sign as agreed (saying first if a contact may be someone the person does not want involved,
as the safety formulation records them), present mode for the person, offer declined, end, discharge
and follow-up, and the clinician's checklist beside the editor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from ..core.clinical import plans
from ..core.clinical.crisis_directory import CrisisDirectory
from ..core.clinical.discharge import (
    DISCHARGE_TYPES,
    Discharge,
    load_discharge,
    record_discharge,
    record_followup,
    uk_local,
)
from ..core.clinical.formulations import load_formulation
from ..core.clinical.involvement import match_sentence, not_involved, possible_matches
from ..core.clinical.plan_content import PlanContent, person_view
from ..core.clinical.plan_layout import LayoutCatalogue, PlanLayout
from ..core.clinical.plan_prompts import plan_prompts
from ..core.storage import autosave
from .operation import Operations
from .plan_dialogs import DeclineDialog, DischargeDialog, FollowupDialog, ReasonDialog, SignDialog
from .record_tab import AUTOSAVE_MS, RecordTab
from .widgets import shortcut_button

if TYPE_CHECKING:
    from ..core.access.session import Session
    from .present_mode import PresentWindow

__all__ = ["AUTOSAVE_MS", "PlanLoad", "PlanTab", "load_for_patient"]


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
        session.users.staff_names(),
    )


class PlanTab(RecordTab):
    kind = plans.PLAN_KIND
    noun = "plan"

    def __init__(self, ops: Operations, session: Callable[[], Session | None], catalogue: LayoutCatalogue,
                 directory: CrisisDirectory, review_months: int, parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(ops, session, catalogue, parent)
        self.directory, self.review_months = directory, review_months
        self.present: PresentWindow | None = None
        self.discharge_label = QLabel(self)
        self.discharge_label.setAccessibleName("Discharge")
        self.discharge_label.setWordWrap(True)
        self.discharge_: Discharge | None = None

        self.sign_button = shortcut_button("Sign as agreed…", "Ctrl+Shift+S", self.sign, self, name="sign")
        self.present_button = shortcut_button("Present", "F5", self.toggle_present, self, name="present")
        self.decline_button = shortcut_button("&Offer declined…", None, self.decline, self, name="declined")
        self.end_button = shortcut_button("End plan…", None, self.end, self, name="end_plan")
        self.discharge_button = shortcut_button("Discharge…", None, self.discharge, self, name="discharge")
        self.followup_button = shortcut_button("Follow-&up…", None, self.followup, self, name="followup")
        actions = QHBoxLayout()
        for b in (self.save_button, self.sign_button, self.present_button, self.undo_button, self.redo_button):
            actions.addWidget(b)
        actions.addStretch(1)
        more = QHBoxLayout()
        for b in (self.decline_button, self.end_button, self.discharge_button, self.followup_button):
            more.addWidget(b)
        more.addWidget(self.discharge_label, 1)

        self.prompt_texts: list[str] = []
        self.prompts = self._build_page("Check before signing (for you, never on the person's copy):",
                                        "Checklist for the clinician", [actions, more])  # fmt: skip

    # --- the record tab's hooks ---------------------------------------------------------------------
    def show_plan(self, patient_id: str, loaded: PlanLoad, resume: bool = False) -> None:
        self.show_record(patient_id, loaded, resume)

    def _blank(self, layout: PlanLayout) -> PlanContent:
        return PlanContent.blank(layout, self.directory.ref)

    def _loaded_content(self, content: PlanContent) -> None:
        content.directory = dict(self.directory.ref)  # a new version uses the directory in force now

    @staticmethod
    def _load(session: Session, patient_id: str) -> PlanLoad:
        return load_for_patient(session, patient_id, audit=False)

    def _draft_saver(self, session: Session, pid: str, layout: PlanLayout, content: PlanContent,
                     base: str | None, merge_of: tuple[str, ...] | None) -> Callable[[], str]:  # fmt: skip
        return lambda: plans.save_draft(session, pid, layout, content, base, merge_of)

    def _merge_note(self) -> str:
        agreed = self.load_result.state.agreed if self.load_result is not None else None
        if agreed is None:
            return ""
        return (f"The plan agreed on {agreed.created_at:%d %b %Y} stays in use until you sign the merged plan; "
                "saved as a draft, the merge is a revision of it.")  # fmt: skip

    def _after_show(self, loaded: Any) -> None:
        self._show_discharge(loaded.discharge)

    def _after_change(self) -> None:
        self.prompt_texts = []
        if self.layout_ is not None and self.editor.content is not None:
            self.prompt_texts = [p.text for p in plan_prompts(self.layout_, self.editor.content)]
        self.prompts.setText("\n\n".join(f"• {t}" for t in self.prompt_texts) or "Nothing to check.")

    def _after_live(self) -> None:
        if self.present is not None and self.present.isVisible():
            self._render_present()

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
                if current.review_due:
                    text += f" Offer again by {current.review_due:%d %b %Y}."
        if agreed is not None:
            text += f" Agreed plan in use since {agreed.created_at.strftime('%d %b %Y')}"
            if agreed.review_due:
                text += f"; review by {agreed.review_due.strftime('%d %b %Y')}"
            text += ". Editing starts a revision; the agreed plan stays in use until the revision is signed."
        if self.merge_of is not None:
            text += " Merging two versions: not saved yet."
        self.status.setText(text)  # a conflict is said in the banner below, with what to do

    def _show_discharge(self, d: Discharge | None) -> None:
        """The discharge and where its follow-up stands, in words: due, attempted, missed or done."""
        self.discharge_ = d
        session = self._session()
        if d is None or session is None:
            self.discharge_label.setText("Not discharged.")
            return
        when = f"{uk_local(d.discharged_at):%H:%M on %d %b %Y}" if d.time_recorded else f"{d.discharged_on:%d %b %Y}"
        kind = DISCHARGE_TYPES.get(d.discharge_type or "", "kind not recorded")
        owner = f" Follow-up: {d.owner}." if d.owner else ""
        state = d.state_text(session.store.clock.now())
        self.discharge_label.setText(f"Discharged {when} ({kind}).{owner} {state}")

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

    def sign(self) -> None:
        prepared = self._prepare()
        if prepared is None:
            return
        session, pid, _layout, _content = prepared
        # Who the person does not want involved, read now from the formulation (not when the tab loaded).
        self.ops.run(lambda: not_involved(load_formulation(session, pid, audit_view=False)),
                     lambda people: self._sign(prepared, people), self._failed)  # fmt: skip

    def _sign(self, prepared: tuple[Session, str, PlanLayout, PlanContent], people: list[dict[str, str]]) -> None:
        session, pid, layout, content = prepared
        if session.locked or pid != self.patient_id:
            return  # locked, or another patient opened, while the formulation was read
        today = session.store.clock.now().date()
        prompts = [p.text for p in plan_prompts(layout, content)]
        involvement = [match_sentence(m, layout) for m in possible_matches(content, people)]
        dialog = SignDialog(prompts, today, plans.add_months(today, self.review_months), self, involvement)
        if dialog.exec() != SignDialog.DialogCode.Accepted:
            return
        agreed_on, review = dialog.agreed_on, dialog.review_due
        assert agreed_on is not None and review is not None
        base, merge = self.base_version_id, self.merge_of

        def sign() -> str:
            return plans.sign_plan(session, pid, layout, content, base, agreed_with_person=True,
                                   agreed_on=agreed_on, review_due=review, merge_of=merge)  # fmt: skip

        self._write(sign, lambda loaded: self._saved(loaded, "Signed: this version is agreed and locked.", True))

    def decline(self) -> None:
        prepared = self._prepare()
        if prepared is None:
            return
        session, pid, _layout, content = prepared
        dialog = DeclineDialog(session.store.clock.now().date(), self)
        if dialog.exec() != DeclineDialog.DialogCode.Accepted:
            return
        offered_on, reason, base, merge = dialog.offered_on, dialog.reason, self.base_version_id, self.merge_of
        reoffer = dialog.reoffer_on
        assert offered_on is not None
        keep = content if content.has_content() else None

        self._write(lambda: plans.record_declined_offer(session, pid, offered_on, reason, base, keep, merge,
                                                        reoffer_on=reoffer),
                    lambda loaded: self._saved(loaded, "The declined offer is recorded.", reload=True))  # fmt: skip

    def end(self) -> None:
        prepared = self._prepare()
        if prepared is None:
            return
        session, pid, _layout, _content = prepared
        dialog = ReasonDialog("End this plan", "&End plan", "&Why is it ending?", self)
        if dialog.exec() != ReasonDialog.DialogCode.Accepted:
            return
        reason, base, merge = dialog.reason, self.base_version_id, self.merge_of

        done = "The plan is ended; it stays in history."
        self._write(lambda: plans.end_plan(session, pid, reason, base, merge),
                    lambda loaded: self._saved(loaded, done, True))  # fmt: skip

    def discharge(self) -> None:
        """Time (UK), kind and follow-up owner; the dialog refuses a future time or a missing choice in
        words and saves nothing, and the core checks again."""
        session, pid, loaded = self._session(), self.patient_id, self.load_result
        if session is None or session.locked or pid is None or loaded is None:
            return  # nothing shown (the patient is still loading): the staff names come with it
        staff = loaded.staff
        dialog = DischargeDialog(uk_local(session.store.clock.now()), staff, self)
        if dialog.exec() != DischargeDialog.DialogCode.Accepted:
            return
        at, kind, owner_id = dialog.discharged_at, dialog.discharge_type, dialog.owner_user_id
        owner_text, note = dialog.owner_line.text(), dialog.note_line.text()
        assert at is not None and kind is not None

        def save() -> Discharge | None:
            record_discharge(session, pid, at, discharge_type=kind, owner_user_id=owner_id,
                             owner_text="" if owner_id else owner_text, note=note)  # fmt: skip
            return load_discharge(session, pid)

        self.ops.run(save, self._discharge_saved, self._failed)

    def followup(self) -> None:
        """A contact made, an attempt that did not reach the person (with the next attempt due), or the
        person declining: each a new version; a follow-up before the discharge or in the future is refused."""
        session, pid, d = self._session(), self.patient_id, self.discharge_
        if session is None or session.locked or pid is None:
            return
        if d is None:
            self.message.show_error("Record the discharge first; there is no discharge to follow up.")
            return
        dialog = FollowupDialog(uk_local(session.store.clock.now()), uk_local(d.discharged_at), self)
        if dialog.exec() != FollowupDialog.DialogCode.Accepted:
            return
        at, outcome, nxt, note = dialog.at, dialog.outcome, dialog.next_attempt_due, dialog.note_line.text()
        assert at is not None and outcome is not None

        def save() -> Discharge | None:
            record_followup(session, pid, at, note, outcome=outcome, next_attempt_due=nxt)
            return load_discharge(session, pid)

        self.ops.run(save, self._discharge_saved, self._failed)

    def _discharge_saved(self, d: Discharge | None) -> None:
        self._show_discharge(d)
        self.message.show_ok("Recorded.")
        self.saved.emit()

    def _after_clear(self) -> None:
        self.prompts.clear()
        self.prompt_texts = []
        self.discharge_label.clear()
        if self.present is not None:
            self.present.clear()
            self.present.hide()
