"""What the safety plan and safety formulation tabs share: the editor, the status line, autosave and
recovery of the draft, saving a draft version, and forgetting everything on lock. One mechanism,
two record kinds; each tab adds its own actions.

Autosave: a few seconds after the first unsaved change, the working copy (including an entry being
typed) is sealed into the store in the background; on lock and on quit it is written at once. So a
crash or power cut loses seconds at most, and reopening the patient offers the draft back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QScrollArea, QSplitter, QVBoxLayout, QWidget

from ..core import autosave
from ..core.plan_content import PlanContent
from ..core.plan_layout import LayoutCatalogue, PlanLayout
from ..errors import PerfectCareError
from .operation import Operations
from .plan_editor import PlanEditor
from .widgets import Message, em, shortcut_button

if TYPE_CHECKING:
    from ..core.session import Session
    from ..core.versions import VersionInfo

AUTOSAVE_MS = 3000  # at most this long between a change and its autosave


class RecordState(Protocol):
    record_id: str | None
    heads: tuple[str, ...]

    @property
    def current(self) -> VersionInfo | None: ...


class Loaded(Protocol):
    """What a tab reads for a patient in the background: the record, its autosave, staff names."""

    state: RecordState
    autosaved: autosave.Autosaved | None
    staff: dict[str, str]


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
                     base: str | None) -> Callable[[], str]:  # fmt: skip
        """On the GUI thread: the save the worker will run, with every value it needs taken now."""
        raise NotImplementedError

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
            self.restore_autosave()
            self.message.show_ok("Your unsaved changes are back. Save them with Ctrl+S when ready.")
            return
        self.recover_text.setText(
            f"A draft of this {self.noun} from {found.saved_at.strftime('%d %b %Y %H:%M')} was not saved as a "
            "version (the app closed first). Restore it to carry on, or discard it."
        )
        self.recover_bar.show()
        self.restore_button.setFocus()

    def restore_autosave(self) -> None:
        found = self.load_result.autosaved if self.load_result else None
        if found is None or self.layout_ is None:
            return
        content = PlanContent.from_payload(found.payload)
        self.editor.set_locked(False)  # the draft was being written: it is editable again
        self.editor.load(self.catalogue.for_record(content.layout), content)
        self.recover_bar.hide()
        self._changed()
        self.message.show_ok("Draft restored. Save it as a version with Ctrl+S, or carry on writing.")

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
        session, pid, payload, kind = self._session(), self.patient_id, self._working_payload(), self.kind
        if not self.dirty or session is None or session.locked or pid is None or payload is None:
            return
        record_id = self.load_result.state.record_id if self.load_result else None
        base = self.base_version_id

        def write() -> Any:
            return autosave.write(session, pid, kind, record_id, base, payload)

        self.ops.run(write, lambda at: self.autosave_label.setText(f"Autosaved {at:%H:%M:%S}"), self._failed)

    def autosave_now(self) -> None:
        """Write the working copy at once, on this thread (the app is locking or quitting)."""
        self.autosave_timer.stop()
        session, pid, payload = self._session(), self.patient_id, self._working_payload()
        if not self.dirty or session is None or session.locked or pid is None or payload is None:
            return
        record_id = self.load_result.state.record_id if self.load_result else None
        autosave.write(session, pid, self.kind, record_id, self.base_version_id, payload)

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
        base = self.base_version_id
        self._write(self._draft_saver(session, pid, layout, content, base), on_done)

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
        if reload:
            self.show_record(self.patient_id, loaded)
        else:
            self.dirty = False
            self.autosave_timer.stop()
            self._show_status()
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
        self.message.clear_message()
        self.load_result = None
        self.dirty = False
        self._after_clear()


def _same_content(autosaved: dict[str, Any], saved: dict[str, Any] | None) -> bool:
    """Whether an autosave holds nothing beyond the saved version (signing adds its own fields)."""
    draft = PlanContent.from_payload(autosaved)
    if saved is None:
        return not draft.has_content()
    # Sections and notes only: the plan's directory reference follows the directory in force.
    kept = PlanContent.from_payload(saved).to_payload()
    mine = draft.to_payload()
    return (mine["sections"], mine["clinician_notes"]) == (kept["sections"], kept["clinician_notes"])
