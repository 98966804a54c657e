"""The record editor (safety plans and formulations): each section an ordered list of entries, or
for a formulation's narrative sections one block of free text.

Keyboard first: Ctrl+PgDown / Ctrl+PgUp move between sections; in a section, type into the fields and
press Enter to add the entry; in the list, Enter or F2 edits, Delete removes, Alt+Up / Alt+Down
reorder. Every change to an entry or a section's state goes on a QUndoStack (Ctrl+Z / Ctrl+Shift+Z).
The editor edits a PlanContent in memory; saving is the plan tab's job.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..core.clinical.plan_content import SECTION_STATES, PlanContent, SectionContent, entry_text
from ..core.clinical.plan_layout import FIELD_LABELS, PlanLayout, Section
from ..core.patients.phone import phone_warning
from .widgets import em, shortcut_button

_STATE_CHOICES = (("", "Filled in"), *SECTION_STATES.items())


class _SectionChange(QUndoCommand):
    """One edit of one section, kept as before/after copies: simple, and undo can never drift."""

    def __init__(self, editor: PlanEditor, key: str, before: SectionContent, after: SectionContent, text: str,
                 select: int | None) -> None:  # fmt: skip
        super().__init__(text)
        self.editor, self.key, self.before, self.after, self.select = editor, key, before, after, select

    def redo(self) -> None:
        self.editor._set_section(self.key, self.after, self.select)

    def undo(self) -> None:
        self.editor._set_section(self.key, self.before, self.select)


def _copy(sc: SectionContent) -> SectionContent:
    return SectionContent([dict(e) for e in sc.entries], sc.state, sc.reason)


class PlanEditor(QWidget):
    changed = Signal()  # the content changed (an entry, a section state, the notes)
    live_changed = Signal()  # anything the person would see changed, including text being typed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_: PlanLayout | None = None
        self.content: PlanContent | None = None
        self.undo_stack = QUndoStack(self)
        self._section: Section | None = None
        self._editing: int | None = None  # index of the entry loaded into the fields, if any
        self._loading = False
        self.locked = False  # a signed version on show: nothing can be changed
        self.text_edit: QPlainTextEdit | None = None  # the free-text block of a "text" section

        self.nav = QListWidget(self)
        self.nav.setAccessibleName("Plan sections")
        self.nav.setWordWrap(True)  # section titles are sentences: wrap rather than cut them off
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.nav.setMinimumWidth(em(self, 14))
        self.nav.setSpacing(2)
        self.nav.currentRowChanged.connect(self._show_section)

        self.title = QLabel(self)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.title.setFont(font)
        self.ask = QLabel(self)
        self.ask.setWordWrap(True)
        self.ask.setAccessibleName("Question to ask")
        self.entries = QListWidget(self)
        self.entries.setAccessibleName("Entries")
        self.entries.setWordWrap(True)
        self.entries.itemActivated.connect(lambda _item: self.edit_selected())

        self.fields_form = QFormLayout()
        self.fields: dict[str, QLineEdit] = {}
        self.phone_note = QLabel(self)
        self.phone_note.setWordWrap(True)
        self.phone_note.setProperty("role", "error")
        self.phone_note.setAccessibleName("Phone number check")
        self.phone_note.hide()

        self.add_button = shortcut_button("&Add entry", None, self.commit_fields, self, name="add_entry")
        self.add_button.setToolTip("Add the entry — Enter in any field")
        self.cancel_button = shortcut_button("Cancel edit", None, self.cancel_edit, self, name="cancel_edit")
        self.cancel_button.setToolTip("Esc")
        self.remove_button = shortcut_button("Remove", None, self.remove_selected, self, name="remove_entry")
        self.remove_button.setToolTip("Delete in the list")
        self.up_button = shortcut_button("Move up", None, lambda: self.move_selected(-1), self, name="move_up")
        self.up_button.setToolTip("Alt+Up in the list")
        self.down_button = shortcut_button("Move down", None, lambda: self.move_selected(1), self, name="move_down")
        self.down_button.setToolTip("Alt+Down in the list")
        buttons = QHBoxLayout()
        for b in (self.add_button, self.cancel_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        self.state = QComboBox(self)
        self.state.setAccessibleName("Section recorded as")
        for value, label in _STATE_CHOICES:
            self.state.addItem(label, value)
        self.state.activated.connect(self._state_chosen)
        self.reason = QLineEdit(self)
        self.reason.setAccessibleName("Reason (for the clinical record, not on the person's copy)")
        self.reason.setPlaceholderText("Reason (optional; not on the person's copy)")
        self.reason.editingFinished.connect(self._reason_done)
        state_row = QHBoxLayout()
        state_label = QLabel("Section &recorded as:", self)
        state_label.setBuddy(self.state)
        state_row.addWidget(state_label)
        state_row.addWidget(self.state)
        state_row.addWidget(self.reason, 1)

        self.notes = QPlainTextEdit(self)
        self.notes.setAccessibleName("Clinician notes (never on the person's copy)")
        self.notes.setPlaceholderText("Notes for clinicians only. Never shown in present mode or on the person's copy.")
        self.notes.setMaximumHeight(em(self, 8))
        self.notes.textChanged.connect(self._notes_changed)
        notes_label = QLabel("Clinician &notes (never on the person's copy):", self)
        notes_label.setBuddy(self.notes)
        self.notes_label = notes_label

        panel = QWidget(self)
        right = QVBoxLayout(panel)
        right.addWidget(self.title)
        right.addWidget(self.ask)
        right.addWidget(self.entries, 1)
        right.addLayout(self.fields_form)
        right.addWidget(self.phone_note)
        right.addLayout(buttons)
        right.addLayout(state_row)
        right.addWidget(notes_label)
        right.addWidget(self.notes)
        # At 200% text on a small screen the section panel scrolls instead of squashing its fields.
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(panel)
        self.entries.setMinimumHeight(em(self, 5))
        split = QSplitter(self)
        split.addWidget(self.nav)
        split.addWidget(scroll)
        split.setStretchFactor(1, 3)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(split)

        def shortcut(
            seq: str | QKeySequence.StandardKey, slot: Callable[[], object], widget: QWidget | None = None
        ) -> None:
            s = QShortcut(QKeySequence(seq), widget or self, slot)
            s.setContext(Qt.ShortcutContext.WidgetShortcut if widget else Qt.ShortcutContext.WidgetWithChildrenShortcut)

        shortcut("Ctrl+PgDown", lambda: self.go_section(1))
        shortcut("Ctrl+PgUp", lambda: self.go_section(-1))
        shortcut(QKeySequence.StandardKey.Delete, self.remove_selected, self.entries)
        shortcut("Alt+Up", lambda: self.move_selected(-1), self.entries)
        shortcut("Alt+Down", lambda: self.move_selected(1), self.entries)
        shortcut("F2", self.edit_selected, self.entries)

    # --- loading ------------------------------------------------------------------------------------
    def load(self, layout: PlanLayout, content: PlanContent) -> None:
        """Show a plan; the undo history starts afresh."""
        self._loading = True
        self.layout_, self.content = layout, content.copy()
        for s in layout.sections:
            self.content.section(s.key)
        self.undo_stack.clear()
        self._editing = None
        self.notes.setPlainText(self.content.clinician_notes)
        self.nav.clear()
        for s in layout.sections:
            self.nav.addItem(QListWidgetItem(s.title))
        self._refresh_nav()
        self._loading = False
        self.nav.setCurrentRow(0)

    def clear(self) -> None:
        """Forget everything shown (the app is locking or the patient was closed)."""
        self._loading = True
        self.layout_ = self.content = self._section = None
        self.undo_stack.clear()
        self.nav.clear()
        self.entries.clear()
        for f in self.fields.values():
            f.clear()
        self.notes.clear()
        self.reason.clear()
        self.title.clear()
        self.ask.clear()
        self._loading = False

    # --- sections -----------------------------------------------------------------------------------
    def go_section(self, step: int) -> None:
        if self.nav.count():
            self.nav.setCurrentRow((self.nav.currentRow() + step) % self.nav.count())
            self.first_field().setFocus()

    def first_field(self) -> QLineEdit | QPlainTextEdit:
        """Where typing starts in the current section: its first field, or its text block."""
        return self.text_edit if self.text_edit is not None else next(iter(self.fields.values()))

    def _show_section(self, row: int) -> None:
        if self.layout_ is None or not 0 <= row < len(self.layout_.sections):
            return
        if self._section is not None and self.pending_entry():
            self.commit_fields()  # typed but not added: moving on must not lose it
        self._section = self.layout_.sections[row]
        self._editing = None
        self.title.setText(self._section.title)
        self.ask.setText(f"Ask: {self._section.ask}")
        self._build_fields(self._section)
        self._refresh_section()

    def _build_fields(self, section: Section) -> None:
        while self.fields_form.rowCount():
            self.fields_form.removeRow(0)
        self.fields = {}
        self.text_edit = None
        is_text = section.kind == "text"
        for w in (self.entries, self.add_button, self.remove_button, self.up_button, self.down_button):
            w.setVisible(not is_text)
        if is_text:
            self._build_text_block(section)
            return
        for name in section.fields:
            edit = QLineEdit(self)
            label = "Entry (the person's own words)" if name == "text" else FIELD_LABELS[name]
            edit.setAccessibleName(label)
            if name == section.fields[0] and section.example:
                edit.setPlaceholderText(f"e.g. {section.example}")
            edit.returnPressed.connect(self.commit_fields)
            edit.textChanged.connect(self._typing)
            QShortcut(QKeySequence("Esc"), edit, self.cancel_edit, context=Qt.ShortcutContext.WidgetShortcut)
            self.fields[name] = edit
            self.fields_form.addRow(label, edit)
            if self.isVisible():
                edit.show()  # now, not at the next layout pass: it may take focus at once
            edit.setReadOnly(self.locked)
        self.phone_note.hide()

    def _build_text_block(self, section: Section) -> None:
        edit = QPlainTextEdit(self)
        edit.setAccessibleName(section.title)
        edit.setTabChangesFocus(True)  # Tab moves on, as in every other field
        edit.setMinimumHeight(em(self, 10))
        if section.example:
            edit.setPlaceholderText(f"e.g. {section.example}")
        sc = self._current()
        edit.setPlainText(sc.entries[0].get("text", "") if sc and sc.entries else "")
        edit.setReadOnly(self.locked)
        edit.textChanged.connect(self._text_block_changed)
        self.text_edit = edit
        self.fields_form.addRow(edit)
        if self.isVisible():
            edit.show()
        self.phone_note.hide()

    def _text_block_changed(self) -> None:
        # Typed text is written straight into the content (its own undo is the text box's, Ctrl+Z).
        sc = self._current()
        if sc is None or self.text_edit is None or self._loading or self.locked:
            return
        text = self.text_edit.toPlainText()
        sc.entries = [{"text": text}] if text.strip() else []
        if sc.entries:
            sc.state, sc.reason = "", ""
        self._refresh_nav()
        self._content_changed()

    def show_clinician_notes(self, shown: bool) -> None:
        """Plans have notes kept from the person's copy; a formulation is all clinical record."""
        self.notes_label.setVisible(shown)
        self.notes.setVisible(shown)
        self.reason.setPlaceholderText("Reason (optional; not on the person's copy)" if shown else "Reason (optional)")

    def set_locked(self, locked: bool) -> None:
        """Show a signed version read-only: every field and action refuses changes."""
        self.locked = locked
        for edit in self.fields.values():
            edit.setReadOnly(locked)
        if self.text_edit is not None:
            self.text_edit.setReadOnly(locked)
        for w in (self.add_button, self.remove_button, self.up_button, self.down_button, self.state, self.reason):
            w.setEnabled(not locked)
        self.notes.setReadOnly(locked)

    def _refresh_section(self) -> None:
        section, sc = self._section, self._current()
        if section is None or sc is None:
            return
        row = self.entries.currentRow()
        self.entries.clear()
        for e in sc.entries:
            self.entries.addItem(entry_text(section, e))
        if self.entries.count():
            self.entries.setCurrentRow(min(max(row, 0), self.entries.count() - 1))
        if self.text_edit is not None:
            text = sc.entries[0].get("text", "") if sc.entries else ""
            if self.text_edit.toPlainText() != text:  # undo of a section state, a restored draft
                self._loading = True
                self.text_edit.setPlainText(text)
                self._loading = False
        self.state.setCurrentIndex(max(0, self.state.findData(sc.state)))
        self.reason.setText(sc.reason)
        self.reason.setEnabled(bool(sc.state) and not self.locked)
        editing = self._editing is not None
        self.add_button.setText("Save &change" if editing else "&Add entry")
        self.cancel_button.setVisible(editing)
        self._refresh_nav()

    def _refresh_nav(self) -> None:
        if self.layout_ is None or self.content is None:
            return
        for i, s in enumerate(self.layout_.sections):
            sc = self.content.section(s.key)
            if sc.entries:
                mark = " · written" if s.kind == "text" else f" · {len(sc.entries)}"
            elif sc.state:
                mark = " · " + SECTION_STATES[sc.state].split("— ")[-1]
            else:
                mark = " · empty"
            item = self.nav.item(i)
            if item is not None:
                item.setText(s.title + mark)

    def _current(self) -> SectionContent | None:
        if self.content is None or self._section is None:
            return None
        return self.content.section(self._section.key)

    # --- edits (all through the undo stack) -----------------------------------------------------------
    def _push(self, text: str, after: SectionContent, select: int | None = None) -> None:
        sc = self._current()
        assert sc is not None and self._section is not None
        self.undo_stack.push(_SectionChange(self, self._section.key, _copy(sc), after, text, select))

    def _set_section(self, key: str, value: SectionContent, select: int | None) -> None:
        assert self.content is not None and self.layout_ is not None
        self.content.sections[key] = _copy(value)
        if self._section is None or self._section.key != key:
            row = next(i for i, s in enumerate(self.layout_.sections) if s.key == key)
            self.nav.setCurrentRow(row)
        self._refresh_section()
        if select is not None and 0 <= select < self.entries.count():
            self.entries.setCurrentRow(select)
        # Told from here, not from the stack's indexChanged: that also fires while Qt tears the
        # window down, when Python can no longer deliver the signal.
        self._content_changed()

    def commit_fields(self) -> None:
        """Add the typed entry (or save the change to the entry being edited)."""
        sc = self._current()
        if sc is None or self.locked or self.text_edit is not None:
            return
        entry = {name: edit.text().strip() for name, edit in self.fields.items()}
        if not any(entry.values()):
            return
        after = _copy(sc)
        if self._editing is not None and self._editing < len(after.entries):
            after.entries[self._editing] = entry
            index, text = self._editing, "Edit entry"
        else:
            after.entries.append(entry)
            index, text = len(after.entries) - 1, "Add entry"
        after.state, after.reason = "", ""  # an entry means the section is filled in
        self._editing = None
        self._clear_fields()
        self._push(text, after, index)
        self.first_field().setFocus()

    def edit_selected(self) -> None:
        sc, row = self._current(), self.entries.currentRow()
        if sc is None or self.locked or not 0 <= row < len(sc.entries):
            return
        self._editing = row
        for name, edit in self.fields.items():
            edit.setText(sc.entries[row].get(name, ""))
        self._refresh_section()
        self.first_field().setFocus()
        self.first_field().selectAll()

    def cancel_edit(self) -> None:
        self._editing = None
        self._clear_fields()
        self._refresh_section()

    def remove_selected(self) -> None:
        sc, row = self._current(), self.entries.currentRow()
        if sc is None or self.locked or not 0 <= row < len(sc.entries):
            return
        after = _copy(sc)
        del after.entries[row]
        self._editing = None
        self._push("Remove entry", after, min(row, len(after.entries) - 1))
        self.entries.setFocus()

    def move_selected(self, step: int) -> None:
        sc, row = self._current(), self.entries.currentRow()
        if sc is None or self.locked or not 0 <= row < len(sc.entries) or not 0 <= row + step < len(sc.entries):
            return
        after = _copy(sc)
        after.entries[row], after.entries[row + step] = after.entries[row + step], after.entries[row]
        self._push("Move entry", after, row + step)
        self.entries.setFocus()

    def _state_chosen(self, index: int) -> None:
        sc = self._current()
        value = self.state.itemData(index)
        if sc is None or value == sc.state:
            return
        after = _copy(sc)
        after.state = value
        if not value:
            after.reason = ""
        self._push("Record section as " + self.state.itemText(index).lower(), after)
        if value:
            self.reason.setFocus()

    def _reason_done(self) -> None:
        sc = self._current()
        if sc is None or not sc.state or self.reason.text().strip() == sc.reason:
            return
        after = _copy(sc)
        after.reason = self.reason.text().strip()
        self._push("Reason", after)

    def set_section_state(self, key: str, state: str, reason: str = "") -> None:
        """For callers and tests: record a section as discussed, with its reason."""
        assert self.layout_ is not None
        self.nav.setCurrentRow(next(i for i, s in enumerate(self.layout_.sections) if s.key == key))
        self.state.setCurrentIndex(self.state.findData(state))
        self._state_chosen(self.state.currentIndex())
        self.reason.setText(reason)
        self._reason_done()

    def _clear_fields(self) -> None:
        for edit in self.fields.values():
            edit.blockSignals(True)
            edit.clear()
            edit.blockSignals(False)
        self.phone_note.hide()

    # --- live feedback --------------------------------------------------------------------------------
    def _typing(self) -> None:
        phone = self.fields.get("phone")
        if phone is not None:
            warning = phone_warning(phone.text())
            self.phone_note.setText(f"⚠ {warning} The number is kept as typed." if warning else "")
            self.phone_note.setVisible(bool(warning))
        if not self._loading:
            self.live_changed.emit()

    def _notes_changed(self) -> None:
        if self.content is None or self._loading or self.locked:
            return
        self.content.clinician_notes = self.notes.toPlainText()
        self.changed.emit()  # notes are not shown to the person: no live update needed

    def _content_changed(self) -> None:
        if self._loading:
            return
        self.changed.emit()
        self.live_changed.emit()

    def pending_entry(self) -> tuple[str, int | None, dict[str, str]] | None:
        """The entry being typed, not yet added: (section key, index being edited, fields)."""
        if self._section is None or self.text_edit is not None or self.locked:
            return None
        entry = {name: edit.text() for name, edit in self.fields.items()}
        if not any(v.strip() for v in entry.values()):
            return None
        return self._section.key, self._editing, entry

    def content_with_pending(self) -> PlanContent | None:
        """What the person sees live: the content plus the entry being typed."""
        if self.content is None:
            return None
        view = self.content.copy()
        pending = self.pending_entry()
        if pending:
            key, index, entry = pending
            sc = view.section(key)
            if index is not None and index < len(sc.entries):
                sc.entries[index] = entry
            else:
                sc.entries.append(entry)
        return view
