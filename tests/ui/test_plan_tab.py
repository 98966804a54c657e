"""The safety plan tab in the clinicians' window, driven by keyboard with pytest-qt on a real store:
write, sign, revise and compare; decline an offer; undo; autosave across a lock; present mode."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox
from stratification import every_text, rates_risk
from test_main_window import ADMIN, PASSWORD, IdleClock, sign_in, visible_texts

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.plan_content import PlanContent
from perfectcare_desktop.core.clinical.plans import AGREED, DECLINED, REVISION, add_months, load_plan
from perfectcare_desktop.core.patients.caseload import caseload
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage import autosave
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.ui.main_window import MainWindow
from perfectcare_desktop.ui.operation import Operations
from perfectcare_desktop.ui.plan_history import CompareDialog

# One entry per section of the default layout, typed as a clinician would with the person.
PLAN = {
    "warning_signs": [["I stop answering my phone"], ["Can't sleep and pace the kitchen"]],
    "coping_alone": [["Walk Bryn the dog along the prom"]],
    "distractions": [["Cafe in the library with Dafydd"]],
    "people_to_ask": [["Dafydd", "brother", "07700 900123", ""]],
    "professionals": [["Crisis team", "out of hours", "0151 123 4567", "24 hours"]],
    "making_safer": [["Tablets", "At home", "Mam keeps them and gives me a week at a time", "Mam"]],
    "reasons_for_living": [["Seeing my niece grow up"]],
    "where_plan_kept": [["Photo on my phone, Mam has a copy"]],
    "using_plan": [["Likely; if I feel too low Dafydd will remind me"]],
}
NOTES = "Clinician only: discussed with the duty consultant."


@pytest.fixture
def patient_store(store: Store) -> tuple[Store, str]:
    session = Session.sign_in(store, ADMIN, PASSWORD)
    pid = session.patients.add(PatientDetails("Gwenllian", "Llywelyn", date(1979, 5, 4), "943 476 5919"))
    session.lock()
    return store, pid


@pytest.fixture
def win(qtbot, patient_store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    w = patient_window(qtbot, patient_store[0], tmp_path, monkeypatch)
    qtbot.keyClick(w, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)  # Safety &plan tab
    assert w.patient_page.tabs.currentWidget() is w.patient_page.plan_tab
    return w


def patient_window(qtbot, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    """The clinicians' window, signed in, showing the store's only patient."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    w = MainWindow(store, Operations(synchronous=True), {"idle_lock_minutes": 5}, idle_clock=IdleClock())
    qtbot.addWidget(w)
    w.show()
    reactivate(qtbot, w)  # shortcuts reach only the active window
    sign_in(qtbot, w)
    qtbot.keyClick(w.caseload_page.search_box, Qt.Key.Key_Return)  # the only patient opens at once
    assert w.stack.currentWidget() is w.patient_page
    return w


def on_dialog(act: Callable[[QDialog], None]) -> None:
    """Act on the next modal dialog once it is open (exec() blocks the test until it closes)."""

    def run() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(10, run)
            return
        act(dialog)  # type: ignore[arg-type]

    QTimer.singleShot(0, run)


def reactivate(qtbot, w: MainWindow) -> None:
    """Offscreen, no window is active after a modal dialog closes (a desktop re-activates it)."""
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)


def type_plan(qtbot, w: MainWindow) -> None:
    """Every section by keyboard only: fields with Tab, Enter adds, Ctrl+PgDown to the next section."""
    editor = w.patient_page.plan_tab.editor
    editor.first_field().setFocus()
    for n, (key, entries) in enumerate(PLAN.items()):
        assert editor._section is not None and editor._section.key == key
        for entry in entries:
            for i, value in enumerate(entry):
                field = QApplication.focusWidget()
                assert field is list(editor.fields.values())[i]
                qtbot.keyClicks(field, value)
                if i < len(entry) - 1:
                    qtbot.keyClick(field, Qt.Key.Key_Tab)
            qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
        if n < len(PLAN) - 1:
            qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)


def sign_by_keyboard(qtbot, w: MainWindow) -> None:
    def act(dialog: QDialog) -> None:
        qtbot.keyClick(dialog.agreed_box, Qt.Key.Key_Space)  # type: ignore[attr-defined]
        qtbot.keyClick(dialog.agreed_box, Qt.Key.Key_Return)  # type: ignore[attr-defined]

    on_dialog(act)
    qtbot.keyClick(w, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: "Signed" in w.patient_page.plan_tab.message.text())
    reactivate(qtbot, w)


def test_write_a_full_plan_by_keyboard_sign_it_revise_it_and_compare(qtbot, win: MainWindow, patient_store) -> None:
    store, pid = patient_store
    tab = win.patient_page.plan_tab
    type_plan(qtbot, win)
    win.patient_page.plan_tab.editor.notes.setFocus()
    qtbot.keyClicks(tab.editor.notes, NOTES)
    content = tab.editor.content
    assert content is not None
    assert content.section("people_to_ask").entries == [
        {"name": "Dafydd", "relationship": "brother", "phone": "07700 900123", "notes": ""}
    ]
    assert [e["text"] for e in content.section("warning_signs").entries] == [e[0] for e in PLAN["warning_signs"]]
    assert tab.prompt_texts == [] and tab.prompts.text() == "Nothing to check."  # every section filled

    sign_by_keyboard(qtbot, win)
    session = win.session
    state = load_plan(session, pid, audit_view=False)
    assert state.status == AGREED and state.agreed is not None and state.agreed.signed
    assert state.agreed.review_due == add_months(store.clock.now().date(), 3)  # the settings' default
    assert PlanContent.from_payload(state.agreed.payload).clinician_notes == NOTES
    assert "Signed" in tab.message.text() and "Agreed" in tab.status.text()

    # Edit the signed plan: a revision starts from it; the agreed plan stays in use.
    editor = tab.editor
    editor.nav.setCurrentRow(1)
    editor.first_field().setFocus()
    qtbot.keyClicks(editor.first_field(), "Listen to the Manics, loud")
    qtbot.keyClick(editor.first_field(), Qt.Key.Key_Return)
    qtbot.keyClick(win, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "Draft saved" in tab.message.text())
    state = load_plan(session, pid, audit_view=False)
    assert state.status == REVISION and len(state.history) == 2 and state.agreed is not None
    assert "Agreed plan in use" in tab.status.text()

    # History lists both; Compare shows the added entry side by side.
    page = win.patient_page
    assert len([v for v in page.history_versions if v.kind == "safety_plan"]) == 2
    seen: list[tuple[str, str, str, str]] = []

    def check(dialog: QDialog) -> None:
        assert isinstance(dialog, CompareDialog)
        m = dialog.table.model()
        seen.extend(tuple(str(m.index(r, c).data()) for c in range(4)) for r in range(m.rowCount()))
        dialog.reject()

    on_dialog(check)
    page.compare_button.click()
    assert ("Things I can do on my own", "", "Listen to the Manics, loud", "added") in seen
    statuses = [row[3] for row in page.history_model.rows if row[2] == "Safety plan"]
    assert statuses == ["revision", "agreed, signed"]


def test_pasted_rich_text_is_kept_as_plain_text_and_scripts_survive(qtbot, win: MainWindow, patient_store) -> None:
    from PySide6.QtCore import QMimeData

    _, pid = patient_store
    editor = win.patient_page.plan_tab.editor
    mime = QMimeData()
    mime.setHtml("<b style='color:red'>Ring</b> <i>Mam</i>")
    mime.setText("Ring Mam")
    QApplication.clipboard().setMimeData(mime)
    editor.first_field().paste()
    qtbot.keyClick(editor.first_field(), Qt.Key.Key_Return)
    editor.first_field().insert("جب میں اداس ہوتا ہوں 🌊 dw i'n mynd am dro")  # keyClicks cannot type these
    qtbot.keyClick(editor.first_field(), Qt.Key.Key_Return)
    QApplication.clipboard().clear()
    win.patient_page.plan_tab.save_draft()
    saved = PlanContent.from_payload(load_plan(win.session, pid, audit_view=False).current.payload)
    assert saved.section("warning_signs").entries == [
        {"text": "Ring Mam"},
        {"text": "جب میں اداس ہوتا ہوں 🌊 dw i'n mynd am dro"},
    ]


def test_an_over_long_entry_is_refused_in_words_and_nothing_is_saved(qtbot, win: MainWindow, patient_store) -> None:
    _, pid = patient_store
    tab = win.patient_page.plan_tab
    tab.editor.first_field().setMaxLength(100000)
    tab.editor.first_field().setText("x" * 4001)
    tab.editor.commit_fields()
    tab.save_draft()
    assert "4,001 characters; the limit is 4,000" in tab.message.text()
    assert load_plan(win.session, pid, audit_view=False).record_id is None


def test_a_malformed_trust_layout_is_reported_and_the_default_still_works(
    qtbot, patient_store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from perfectcare_desktop.core.resources import RESOURCES_ENV, resources_dir

    copy = tmp_path / "resources"
    shutil.copytree(resources_dir(), copy)
    (copy / "plan_layouts" / "trust.json").write_text('{"format": "perfectcare.plan_layout/1", "id": "t"}')
    monkeypatch.setenv(RESOURCES_ENV, str(copy))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    store, _ = patient_store
    w = MainWindow(store, Operations(synchronous=True), {"idle_lock_minutes": 5}, idle_clock=IdleClock())
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitActive(w):
        w.activateWindow()
    sign_in(qtbot, w)
    assert (
        "A plan layout was not loaded: trust.json: 'version' must be a whole number" in w.statusBar().currentMessage()
    )
    qtbot.keyClick(w.caseload_page.search_box, Qt.Key.Key_Return)
    assert [s.key for s in w.patient_page.plan_tab.layout_.sections][0] == "warning_signs"


def test_a_declined_offer_is_recorded_and_seen_in_the_caseload(qtbot, win: MainWindow, patient_store) -> None:
    _, pid = patient_store

    def act(dialog: QDialog) -> None:
        qtbot.keyClicks(dialog.reason_edit, "Wants to think about it")  # type: ignore[attr-defined]
        dialog.ok.click()  # type: ignore[attr-defined]

    on_dialog(act)
    win.patient_page.plan_tab.decline_button.click()
    reactivate(qtbot, win)
    state = load_plan(win.session, pid, audit_view=False)
    assert state.status == DECLINED and state.current.payload["declined"]["reason"] == "Wants to think about it"
    qtbot.keyClick(win.patient_page, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)  # back to the caseload
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.caseload_page)
    model = win.caseload_page.model
    assert win.stack.currentWidget() is win.caseload_page
    shown = [str(model.index(0, c).data()) for c in range(model.columnCount())]
    assert "Offered, declined" in shown


def test_signing_needs_the_person_agreement_and_a_sensible_review(qtbot, win: MainWindow, patient_store) -> None:
    _, pid = patient_store
    editor = win.patient_page.plan_tab.editor
    qtbot.keyClicks(editor.first_field(), "I stop eating")
    qtbot.keyClick(editor.first_field(), Qt.Key.Key_Return)
    messages: list[str] = []

    def act(dialog: QDialog) -> None:
        assert dialog.checklist.count() >= 4  # type: ignore[attr-defined]  # the clinician's prompts
        dialog.ok.click()  # type: ignore[attr-defined]  # not ticked
        messages.append(dialog.message.text())  # type: ignore[attr-defined]
        dialog.agreed_box.setChecked(True)  # type: ignore[attr-defined]
        dialog.review_line.setText("31/02/2027")  # type: ignore[attr-defined]
        dialog.ok.click()  # type: ignore[attr-defined]
        messages.append(dialog.message.text())  # type: ignore[attr-defined]
        dialog.reject()

    on_dialog(act)
    win.patient_page.plan_tab.sign_button.click()
    assert "agreed with the person" in messages[0]
    assert "Review date '31/02/2027' is not a date" in messages[1]
    assert load_plan(win.session, pid, audit_view=False).record_id is None  # nothing signed or saved


def test_undo_and_redo_entries(qtbot, win: MainWindow) -> None:
    editor = win.patient_page.plan_tab.editor
    for text in ("first", "second"):
        qtbot.keyClicks(editor.first_field(), text)
        qtbot.keyClick(editor.first_field(), Qt.Key.Key_Return)
    editor.entries.setFocus()
    editor.entries.setCurrentRow(1)
    qtbot.keyClick(editor.entries, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert [e["text"] for e in editor.content.section("warning_signs").entries] == ["second", "first"]
    qtbot.keyClick(editor.entries, Qt.Key.Key_Delete)
    assert [e["text"] for e in editor.content.section("warning_signs").entries] == ["first"]

    def texts() -> list[str]:
        return [e["text"] for e in editor.content.section("warning_signs").entries]

    qtbot.keyClick(editor.entries, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: texts() == ["second", "first"])
    qtbot.keyClick(editor.entries, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: texts() == ["first", "second"])
    mods = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(editor.entries, Qt.Key.Key_Z, mods)
    qtbot.waitUntil(lambda: texts() == ["second", "first"])
    # Edit in place: Enter on the entry loads it, Enter in the field saves the change.
    qtbot.keyClick(editor.entries, Qt.Key.Key_F2)
    field = editor.first_field()
    assert field.text() == editor.content.section("warning_signs").entries[editor.entries.currentRow()]["text"]
    field.setText("changed")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert "changed" in [e["text"] for e in editor.content.section("warning_signs").entries]


def test_a_section_can_be_recorded_as_discussed_not_applicable(qtbot, win: MainWindow, patient_store) -> None:
    _, pid = patient_store
    tab = win.patient_page.plan_tab
    tab.editor.set_section_state("making_safer", "not_applicable", "No access to means discussed; none at home")
    assert not any("making the situation safer" in t for t in tab.prompt_texts)
    qtbot.keyClick(win, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "Draft saved" in tab.message.text())
    saved = PlanContent.from_payload(load_plan(win.session, pid, audit_view=False).current.payload)
    assert saved.section("making_safer").state == "not_applicable"
    assert saved.section("making_safer").reason.startswith("No access")


def test_a_phone_number_in_a_wrong_format_is_warned_and_kept(qtbot, win: MainWindow) -> None:
    editor = win.patient_page.plan_tab.editor
    editor.nav.setCurrentRow(3)  # people I can ask for help
    editor.fields["name"].setText("Jo")
    qtbot.keyClicks(editor.fields["phone"], "0151 12")
    assert editor.phone_note.isVisible() and "11 digits" in editor.phone_note.text()
    qtbot.keyClick(editor.fields["phone"], Qt.Key.Key_Return)
    assert editor.content.section("people_to_ask").entries[0]["phone"] == "0151 12"
    assert any("phone number may be wrong" in t for t in win.patient_page.plan_tab.prompt_texts)


def test_lock_autosaves_hides_the_plan_and_unlock_brings_it_back(qtbot, win: MainWindow, patient_store) -> None:
    _, pid = patient_store
    editor = win.patient_page.plan_tab.editor
    qtbot.keyClicks(editor.first_field(), "Gwenllian's sister Nia")  # typed, not yet added
    qtbot.keyClick(win, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert win.session.locked
    shown = "\n".join(visible_texts(win))
    assert "Nia" not in shown and "Gwenllian" not in shown
    assert editor.content is None  # forgotten, not merely hidden
    sign_in(qtbot, win)
    assert win.stack.currentWidget() is win.patient_page
    content = win.patient_page.plan_tab.editor.content
    assert content is not None and content.section("warning_signs").entries == [{"text": "Gwenllian's sister Nia"}]
    assert "unsaved changes are back" in win.patient_page.plan_tab.message.text()
    assert load_plan(win.session, pid, audit_view=False).record_id is None  # still only a working copy


def test_reopening_offers_a_draft_left_by_a_crash(qtbot, win: MainWindow, patient_store) -> None:
    _, pid = patient_store
    session = win.session
    payload = PlanContent.from_payload({"sections": {"coping_alone": ["Crossword in bed"]}}).to_payload()
    autosave.write(session, pid, "safety_plan", None, None, payload)
    qtbot.keyClick(win.patient_page, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.caseload_page)
    qtbot.keyClick(win.caseload_page.search_box, Qt.Key.Key_Return)
    tab = win.patient_page.plan_tab
    assert tab.recover_bar.isVisible() and "was not saved as a version" in tab.recover_text.text()
    qtbot.keyClick(tab.restore_button, Qt.Key.Key_Space)
    assert tab.editor.content.section("coping_alone").entries == [{"text": "Crossword in bed"}]
    assert not tab.recover_bar.isVisible()


def test_present_mode_follows_typing_and_never_shows_clinician_notes(qtbot, win: MainWindow) -> None:
    tab = win.patient_page.plan_tab
    tab.editor.notes.setPlainText(NOTES)
    qtbot.keyClick(win, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: tab.present is not None and tab.present.isVisible())
    present = tab.present
    qtbot.keyClicks(tab.editor.first_field(), "I go quiet")
    text = present.plain_text()
    assert "I go quiet" in text  # live, before the entry is even added
    assert "116 123" in text and "SHOUT to 85258" in text and "checked on 1 November 2026" in text
    assert "Clinician only" not in text and "Gwenllian" not in text and "943" not in text
    qtbot.keyClick(win, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert not present.isVisible() and "I go quiet" not in present.plain_text()


def test_discharge_and_follow_up_feed_the_caseload(qtbot, win: MainWindow, patient_store, clock) -> None:
    store, pid = patient_store
    today = clock.now().date()

    def discharge(dialog: QDialog) -> None:
        dialog.day_line.setText((today - timedelta(days=1)).strftime("%d/%m/%Y"))  # type: ignore[attr-defined]
        dialog.type_box.setCurrentIndex(1)  # type: ignore[attr-defined]
        dialog.owner_line.setText("Crisis team")  # type: ignore[attr-defined]
        dialog.ok.click()  # type: ignore[attr-defined]

    on_dialog(discharge)
    win.patient_page.plan_tab.discharge_button.click()
    assert "72-hour follow-up due by" in win.patient_page.plan_tab.discharge_label.text()
    row = next(r for r in caseload(win.session) if r.record_id == pid)
    assert row.followup_due == today + timedelta(days=2)


def test_no_widget_offers_a_risk_rating(qtbot, win: MainWindow) -> None:
    """Rule 1 in the widgets: no field, choice, column, label, tip or placeholder rates risk, shown or not."""
    texts: list[str] = []
    for tab in win.patient_page.record_tabs:  # the plan and the formulation, every section of each
        for row in range(tab.editor.nav.count()):
            tab.editor.nav.setCurrentRow(row)
            texts += every_text(win)
    assert len(set(texts)) > 150
    assert not [t for t in set(texts) if rates_risk(t)]


def test_leaving_the_patient_keeps_unsaved_changes_as_a_draft(qtbot, win: MainWindow, patient_store) -> None:
    _, pid = patient_store
    editor = win.patient_page.plan_tab.editor
    qtbot.keyClicks(editor.first_field(), "Pacing at night")
    qtbot.keyClick(editor.first_field(), Qt.Key.Key_Return)
    qtbot.keyClicks(editor.first_field(), "Not eating")  # typed, not added: kept too
    qtbot.keyClick(win.patient_page, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.caseload_page)
    state = load_plan(win.session, pid, audit_view=False)
    assert state.status == "draft"
    assert PlanContent.from_payload(state.current.payload).section("warning_signs").entries == [
        {"text": "Pacing at night"},
        {"text": "Not eating"},
    ]
    assert autosave.read(win.session, pid, "safety_plan") is None  # the working copy is done with
    row = next(r for r in caseload(win.session) if r.record_id == pid)
    assert row.plan_state_label == "Draft"
