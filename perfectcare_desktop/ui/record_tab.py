"""What the safety plan and safety formulation tabs share: the editor, the status line, autosave and
recovery of the draft, saving a draft version, and forgetting everything on lock. One mechanism,
two record kinds; each tab adds its own actions.

Two versions saved on different PCs (heads, after sync) are both kept. A banner says so and offers
"Compare and merge…": the clinician picks the version to start from, the editor loads it marked as a
merge, and the next save or signature writes one version whose parents are all the heads.

Autosave: a few seconds after the first unsaved change, the working copy (including an entry being
typed) is sealed into the store in the background; on lock and on quit it is sealed at once (with the
key, before it is forgotten) and is the store worker's next write (quitting waits for it). So a crash
or power cut loses seconds at most, and reopening the patient offers the draft back. Writes never
pile up: a newer copy takes the place of one still waiting for the worker.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..core.clinical.plan_content import PlanContent
from ..core.clinical.plan_layout import LayoutCatalogue, PlanLayout
from ..core.storage import autosave
from ..errors import PerfectCareError
from .operation import Operations
from .plan_editor import PlanEditor
from .widgets import Message, em, shortcut_button

if TYPE_CHECKING:
    from ..core.access.session import Session
    from ..core.storage.versions import VersionInfo

AUTOSAVE_MS = 3000  # at most this long between a change and its autosave


class RecordState(Protocol):
    # Read-only, as the records' states are frozen dataclasses.
    @property
    def record_id(self) -> str | None: ...
    @property
    def history(self) -> tuple[VersionInfo, ...]: ...
    @property
    def heads(self) -> tuple[str, ...]: ...

    @property
    def current(self) -> VersionInfo | None: ...

    @property
    def in_conflict(self) -> bool: ...

    def display_status(self, v: VersionInfo) -> str: ...


class Loaded(Protocol):
    """What a tab reads for a patient in the background: the record, its autosave, staff names."""

    # Read-only, as a tab's load is a frozen dataclass.
    @property
    def state(self) -> RecordState: ...
    @property
    def autosaved(self) -> autosave.Autosaved | None: ...
    @property
    def staff(self) -> dict[str, str]: ...


class RecordTab(QWidget):
    saved = Signal()  # a version was written: the page refreshes its history and the caseload
    kind = ""  # the record kind (core.plans.PLAN_KIND, core.formulations.FORMULATION_KIND)
    noun = "record"  # for messages: "plan", "formulation"

    def __init__(self, ops: Operations, session: Callable[[], Session | None], catalogue: LayoutCatalogue,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.ops, self._session, self.catalogue = ops, session, catalogue
        self.patient_id: str | None = None
        self.layout_: PlanLayout | None = None
        self.load_result: Any = None
        self.base_version_id: str | None = None
        self.dirty = False
        self.merge_of: tuple[str, ...] | None = None  # merging: the heads the next save follows
        self.merge_from: VersionInfo | None = None  # the head the merge started from

        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName(f"{self.noun.capitalize()} status")
        self.autosave_label = QLabel(self)
        self.autosave_label.setAccessibleName("Autosave")
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

        # Two heads: both kept; the banner says so and leads to the comparison. While merging, it
        # says where the merge started and offers to compare again or to give up the merge.
        self.conflict_bar = QFrame(self)
        self.conflict_bar.setObjectName("conflict_bar")
        self.conflict_bar.setProperty("role", "banner")  # framed, so it is not read past (no colour meaning)
        self.conflict_text = QLabel(self.conflict_bar)
        self.conflict_text.setWordWrap(True)
        self.conflict_text.setAccessibleName("Needs attention")
        self.merge_button = shortcut_button("&Compare and merge…", None, self.compare_and_merge, self.conflict_bar,
                                            name="compare_and_merge")  # fmt: skip
        self.cancel_merge_button = shortcut_button("Ca&ncel merge", None, self.cancel_merge, self.conflict_bar,
                                                   name="cancel_merge")  # fmt: skip
        bar = QHBoxLayout(self.conflict_bar)
        bar.setContentsMargins(4, 4, 4, 4)
        bar.addWidget(self.conflict_text, 1)
        bar.addWidget(self.merge_button)
        bar.addWidget(self.cancel_merge_button)
        self.conflict_bar.hide()
        self.arrived = QLabel(self)  # changes from another PC came while the clinician was writing
        self.arrived.setWordWrap(True)
        self.arrived.setAccessibleName("Changes from another PC")
        self.arrived.setProperty("role", "banner")
        self.arrived.hide()

        self.save_button = shortcut_button("Save draft", QKeySequence.StandardKey.Save, self.save_draft, self,
                                           name="save_draft")  # fmt: skip
        self.undo_button = shortcut_button("Undo", QKeySequence.StandardKey.Undo, self._undo, self, name="undo")
        self.redo_button = shortcut_button("Redo", "Ctrl+Shift+Z", self._redo, self, name="redo")

        self.editor = PlanEditor(self)
        self.editor.changed.connect(self._changed)
        self.editor.live_changed.connect(self._live)
        self.editor.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.editor.undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave_soon)

    def _build_page(self, side_title: str, side_name: str, bars: list[QWidget | QLayout]) -> QLabel:
        """Lay the tab out: status and autosave, the recovery bar, the kind's own bars, the message, then
        the editor beside a side panel; returns the side panel's label. A wrapped label, not a list
        view: list views cut long wrapped items short ("…")."""
        side = QLabel(self)
        side.setWordWrap(True)
        side.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        side.setAccessibleName(side_name)
        side.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard
                                     | Qt.TextInteractionFlag.TextSelectableByMouse)  # fmt: skip
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(side)
        box = QWidget(self)
        box_layout = QVBoxLayout(box)
        box_layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel(side_title, box)
        title.setWordWrap(True)
        box_layout.addWidget(title)
        box_layout.addWidget(scroll, 1)
        box.setMinimumWidth(em(self, 15))
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.editor)
        split.addWidget(box)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)

        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.autosave_label)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.recover_bar)
        layout.addWidget(self.conflict_bar)
        layout.addWidget(self.arrived)
        for bar in bars:
            if isinstance(bar, QLayout):
                layout.addLayout(bar)
            else:
                layout.addWidget(bar)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)
        return side

    # --- hooks for the two kinds ------------------------------------------------------------------------
    def _blank(self, layout: PlanLayout) -> PlanContent:
        raise NotImplementedError

    @staticmethod
    def _load(session: Session, patient_id: str) -> Any:
        """Read what the tab shows, on the worker (so a plain function, never the widget's state; no
        audit entry: the page audits the view)."""
        raise NotImplementedError

    def _draft_saver(self, session: Session, pid: str, layout: PlanLayout, content: PlanContent,
                     base: str | None, merge_of: tuple[str, ...] | None) -> Callable[[], str]:  # fmt: skip
        """On the GUI thread: the save the worker will run, with every value it needs taken now."""
        raise NotImplementedError

    def _merge_started(self) -> None:
        """Kind-specific set-up when a merge starts (a formulation with a signed head: a review version)."""

    def _merge_note(self) -> str:
        """Kind-specific words for the merge banner (what happens to a signed version)."""
        return ""

    def _show_status(self) -> None:
        raise NotImplementedError

    def _after_show(self, loaded: Any) -> None:
        """Kind-specific parts of the page (discharge, notes, lock state)."""

    def _after_change(self) -> None:
        """Kind-specific reaction to an edit (the plan's checklist)."""

    def _after_live(self) -> None:
        """Kind-specific reaction to typing (the plan's present mode)."""

    def _after_clear(self) -> None:
        """Kind-specific forgetting (present mode, notes)."""

    # --- showing a patient's record ------------------------------------------------------------------
    def show_record(self, patient_id: str, loaded: Loaded, resume: bool = False) -> None:
        self.patient_id, self.load_result = patient_id, loaded
        self.merge_of = self.merge_from = None
        self.arrived.hide()
        current = loaded.state.current
        self.layout_ = self.catalogue.for_record(current.payload.get("layout") if current else None)
        content = PlanContent.from_payload(current.payload) if current else None
        if content is None or not current or not current.payload.get("layout"):
            content = self._blank(self.layout_)
        self.base_version_id = loaded.state.heads[-1] if loaded.state.heads else None
        self._loaded_content(content)
        self.editor.load(self.layout_, content)
        self.dirty = False
        self.message.clear_message()
        self.autosave_label.clear()
        self._show_status()
        self._show_conflict()
        self._after_show(loaded)
        self._after_change()
        self._offer_recovery(loaded.autosaved, current.payload if current else None, resume)

    def _loaded_content(self, content: PlanContent) -> None:
        """Adjust content just read before editing starts (the plan takes the directory in force)."""

    def _offer_recovery(self, found: autosave.Autosaved | None, saved_payload: dict[str, Any] | None,
                        resume: bool) -> None:  # fmt: skip
        self.recover_bar.hide()
        if found is None:
            return
        if _same_content(found.payload, saved_payload):
            self._discard_slot()  # nothing beyond what was saved
            return
        if resume:  # back from a lock: carry on where the clinician was, without a question
            self.restore_autosave(resumed=True)
            return
        self.recover_text.setText(
            f"A draft of this {self.noun} from {found.saved_at.strftime('%d %b %Y %H:%M')} was not saved as a "
            "version (the app closed first). Restore it to carry on, or discard it."
        )
        self.recover_bar.show()
        self.restore_button.setFocus()

    def restore_autosave(self, *, resumed: bool = False) -> None:
        """The draft comes back as it was begun: from the version it started from (not whatever is
        newest now, which another PC may have saved since) and, if it was a merge, as that merge."""
        found = self.load_result.autosaved if self.load_result else None
        if found is None or self.layout_ is None:
            return
        state = self.load_result.state
        known = {v.version_id: v for v in state.history}
        started = known.get(found.base_version_id or "")
        content = PlanContent.from_payload(found.payload)
        self.editor.set_locked(False)  # the draft was being written: it is editable again
        if found.merge_of and started is not None and set(found.merge_of) <= known.keys():
            self._enter_merge(started, found.merge_of)
        elif started is not None or found.base_version_id is None:
            self.base_version_id = found.base_version_id  # None: begun before this record had a version
        self.editor.load(self.catalogue.for_record(content.layout), content)
        self.recover_bar.hide()
        self._changed()
        self._show_conflict()
        self.message.show_ok(self._restored_words(state, resumed))

    def _restored_words(self, state: Any, resumed: bool) -> str:
        save = "Save it as a version with Ctrl+S, or carry on writing."
        if self.merge_of is not None:
            return f"Your merge is restored, as you left it. {save}"
        if self.base_version_id in state.heads or (self.base_version_id is None and not state.heads):
            return "Your unsaved changes are back. Save them with Ctrl+S when ready." if resumed else (
                f"Draft restored. {save}")  # fmt: skip
        # The record changed after the draft began (another PC, via sync): saving keeps both.
        return (f"Draft restored. This {self.noun} was changed after you began it (see History), so saving "
                "keeps both versions, marked “needs attention”, for you to compare and merge.")  # fmt: skip

    def discard_autosave(self) -> None:
        self.recover_bar.hide()
        self._discard_slot()

    def _discard_slot(self) -> None:
        session, pid, kind = self._session(), self.patient_id, self.kind
        if session is not None and pid is not None:
            self.ops.run(lambda: autosave.discard(session, pid, kind), None, self._failed)

    # --- editing and autosave ----------------------------------------------------------------------------
    def _changed(self) -> None:
        self.dirty = True
        self.autosave_label.setText("Not yet saved")
        if not self.autosave_timer.isActive():
            self.autosave_timer.start()  # not restarted per change: a steady typist still autosaves
        self._after_change()

    def _live(self) -> None:
        if self.editor.pending_entry() and not self.autosave_timer.isActive():
            self.dirty = True
            self.autosave_timer.start()
        self._after_live()

    def _working_payload(self) -> dict[str, Any] | None:
        content = self.editor.content_with_pending()
        return content.to_payload() if content is not None else None

    def autosave_soon(self) -> None:
        """Write the working copy in the background (the timer's job)."""
        self._queue_autosave()

    def autosave_now(self) -> None:
        """The app is locking, signing out or quitting: seal the working copy now, while the key is held;
        the store worker writes it next, before the lock's audit entry (quitting waits for it)."""
        self.autosave_timer.stop()
        self._queue_autosave()

    def _queue_autosave(self) -> None:
        """Seal the working copy here (the key and the editor are read on this thread) and hand the write
        to the store worker, coalesced: one waiting write per user, patient and kind at most, a newer
        copy taking the place of one not yet written."""
        session, pid, payload, kind = self._session(), self.patient_id, self._working_payload(), self.kind
        if not self.dirty or session is None or session.locked or pid is None or payload is None:
            return
        record_id = self.load_result.state.record_id if self.load_result else None
        try:
            write = autosave.writer(session, pid, kind, record_id, self.base_version_id, payload, self.merge_of)
        except PerfectCareError as exc:
            self._failed(exc)
            return

        def written(at: Any) -> None:
            if self.patient_id == pid and self.dirty:
                self.autosave_label.setText(f"Autosaved {at:%H:%M:%S}")

        self.ops.run_latest(("autosave", session.user.user_id, pid, kind), write, written, self._failed)

    # --- saving ---------------------------------------------------------------------------------------
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

    def _save_draft(self, on_done: Callable[[Any], None]) -> None:
        prepared = self._prepare()
        if prepared is None:
            return
        session, pid, layout, content = prepared
        base, merge = self.base_version_id, self.merge_of
        self._write(self._draft_saver(session, pid, layout, content, base, merge), on_done)

    def _write(self, save: Callable[[], object], on_done: Callable[[Any], None]) -> None:
        """Run a save in the background; then clear the autosave slot and re-read the record."""
        session, pid, kind, load = self._session(), self.patient_id, self.kind, self._load
        assert session is not None and pid is not None

        def job() -> Any:
            save()
            autosave.discard(session, pid, kind)
            return load(session, pid)

        self.ops.run(job, on_done, self._failed)

    def _saved(self, loaded: Any, text: str, reload: bool) -> None:
        if self.patient_id is None:
            return
        self.load_result = loaded
        self.base_version_id = loaded.state.heads[-1] if loaded.state.heads else None
        self.merge_of = self.merge_from = None  # a merge is saved: its version follows every head it named
        self.arrived.hide()
        if reload:
            self.show_record(self.patient_id, loaded)
        else:
            self.dirty = False
            self.autosave_timer.stop()
            self._show_status()
            self._show_conflict()
            self._after_show(loaded)
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
        self.status.clear()
        self.autosave_label.clear()
        self.recover_text.clear()
        self.recover_bar.hide()
        self.conflict_text.clear()
        self.conflict_bar.hide()
        self.arrived.clear()
        self.arrived.hide()
        self.message.clear_message()
        self.load_result = None
        self.dirty = False
        self.merge_of = self.merge_from = None
        self._after_clear()

    # --- changes from another PC, and merging two heads ------------------------------------------------
    def editing(self) -> bool:
        """Whether the clinician has work here that a refresh from the store would throw away."""
        return self.dirty or self.merge_of is not None or self.editor.pending_entry() is not None

    def changes_arrived(self, loaded: Loaded) -> None:
        """Sync brought versions for this patient. Shown at once unless the clinician is writing: then
        their editor is left alone and a line says the new versions are in History."""
        if self.patient_id is None:
            return
        before = [v.version_id for v in self.load_result.state.history] if self.load_result else []
        changed = [v.version_id for v in loaded.state.history] != before
        if self.editing():
            if changed:
                self.arrived.setText(
                    f"Changes to this {self.noun} from another PC arrived; they are in History. What you are "
                    "writing here is kept: save it as usual (if both were changed, you will be asked to compare "
                    "and merge)."
                )
                self.arrived.show()
            return
        self.show_record(self.patient_id, loaded)
        if changed:
            self.arrived.setText(f"Updated with changes to this {self.noun} from another PC (see History).")
            self.arrived.show()

    def _label_of(self, v: VersionInfo) -> str:
        state, staff = self.load_result.state, self.load_result.staff
        who = staff.get(v.author_id, "unknown user")
        return f"{v.created_at:%d %b %Y %H:%M} · {state.display_status(v)} · {who}"

    def _described(self, v: VersionInfo) -> str:
        state, staff = self.load_result.state, self.load_result.staff
        who = staff.get(v.author_id, "unknown user")
        status = state.display_status(v).split(" (")[0].lower()  # "revision in draft", without its aside
        return f"the version saved {v.created_at:%d %b %Y %H:%M} by {who} ({status})"

    def _show_conflict(self) -> None:
        state = self.load_result.state if self.load_result is not None else None
        if self.merge_of is not None and self.merge_from is not None:
            text = (
                f"Merging the {len(self.merge_of)} versions of this {self.noun} saved on different PCs. You started "
                f"from {self._described(self.merge_from)}. Add what you need from the other (Compare again shows "
                "it), then save or sign: that version follows both, and both stay in History."
            )
            note = self._merge_note()
            self.conflict_text.setText(f"{text} {note}" if note else text)
            self._set_merge_button("&Compare again…")
            self.cancel_merge_button.show()
            self.conflict_bar.show()
        elif state is not None and state.in_conflict:
            self.conflict_text.setText(
                f"⚠ Needs attention: this {self.noun} was saved on two PCs at once, so there are "
                f"{len(state.heads)} versions. Both are kept. Compare them and pick the one to start from; "
                "saving it then joins them into one version again."
            )
            self._set_merge_button("&Compare and merge…")
            self.cancel_merge_button.hide()
            self.conflict_bar.show()
        else:
            self.conflict_bar.hide()
        self.conflict_text.setAccessibleDescription(self.conflict_text.text())

    def _set_merge_button(self, text: str) -> None:
        self.merge_button.setText(text)
        self.merge_button.setAccessibleName(text.replace("&", ""))

    def compare_and_merge(self) -> None:
        """The heads side by side; "Start from version A/B" starts the merge from that one. Typing not
        yet saved is saved first (as a version of its own), so it is part of what is compared."""
        if self.load_result is None:
            return
        if self.merge_of is None and (self.dirty or self.editor.pending_entry() is not None):
            first = "What you had typed is saved as a version first, so it is part of the comparison."

            def saved_then_compare(loaded: Any) -> None:
                self._saved(loaded, first, reload=False)
                self._open_comparison()

            self._save_draft(saved_then_compare)
            return
        self._open_comparison()

    def _open_comparison(self) -> None:
        from .plan_history import CompareDialog

        state = self.load_result.state if self.load_result is not None else None
        if state is None:
            return
        heads = self.merge_of or state.heads
        versions = [v for v in state.history if v.version_id in heads]
        if len(versions) < 2:
            return
        choices = [(self._label_of(v), PlanContent.from_payload(v.payload)) for v in versions]
        catalogue = self.catalogue
        dialog = CompareDialog(choices, lambda c: catalogue.for_record(c.layout), self, left=0, right=1, merge=True,
                               title=f"Compare and merge: two versions of the {self.noun}")  # fmt: skip
        accepted = dialog.exec() == CompareDialog.DialogCode.Accepted
        chosen = dialog.chosen
        dialog.deleteLater()
        if not accepted or chosen is None:
            return
        if self.merge_of is not None and self.dirty:
            answer = QMessageBox.question(
                self, "Start the merge again",
                "Start the merge again from the version you picked? What you have typed in the merge is not saved.",
            )  # fmt: skip
            if answer != QMessageBox.StandardButton.Yes:
                return
        self._start_merge(versions[chosen], tuple(v.version_id for v in versions))

    def _start_merge(self, start: VersionInfo, heads: tuple[str, ...]) -> None:
        content = PlanContent.from_payload(start.payload)
        self.layout_ = self.catalogue.for_record(content.layout)
        self._loaded_content(content)
        self._enter_merge(start, heads)
        self.editor.set_locked(False)
        self.editor.load(self.layout_, content)
        self.dirty = False  # nothing is saved until the clinician saves or signs
        self.autosave_timer.stop()
        self.arrived.hide()
        self._show_status()
        self._show_conflict()
        self._after_change()
        self.message.show_ok("The merge starts from the version you picked. Nothing is saved until you save or sign.")
        self.editor.first_field().setFocus()

    def _enter_merge(self, start: VersionInfo, heads: tuple[str, ...]) -> None:
        """Mark the editor as a merge of `heads` that started from `start` (picked, or restored)."""
        self.merge_of, self.merge_from = heads, start
        self.base_version_id = start.version_id
        self._merge_started()

    def cancel_merge(self) -> None:
        """Give up the merge: the record shows as it is saved, both versions still to merge."""
        if self.merge_of is None or self.patient_id is None or self.load_result is None:
            return
        if self.dirty:
            answer = QMessageBox.question(self, "Cancel the merge",
                                          "Cancel the merge? What you have typed in it is not saved.")  # fmt: skip
            if answer != QMessageBox.StandardButton.Yes:
                return
            self._discard_slot()
        self.show_record(self.patient_id, dataclasses.replace(self.load_result, autosaved=None))


def _same_content(autosaved: dict[str, Any], saved: dict[str, Any] | None) -> bool:
    """Whether an autosave holds nothing beyond the saved version (signing adds its own fields)."""
    draft = PlanContent.from_payload(autosaved)
    if saved is None:
        return not draft.has_content()
    # Sections and notes only: the plan's directory reference follows the directory in force.
    kept = PlanContent.from_payload(saved).to_payload()
    mine = draft.to_payload()
    return (mine["sections"], mine["clinician_notes"]) == (kept["sections"], kept["clinician_notes"])
