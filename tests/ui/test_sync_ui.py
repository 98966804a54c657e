"""Sync in the clinicians' window, on real store files and a real PostgreSQL hub: the status bar, Sync
now (F9), back-off while the hub is down, refreshing after a pull, and comparing and merging a plan
saved on two PCs at once. The window runs the real background worker (not the synchronous one)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import psycopg
import pytest
import sync_support
from pg_cluster import PgCluster
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox
from sync_support import plan
from test_main_window import IdleClock, sign_in
from test_plan_tab import on_dialog, patient_window, reactivate
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical import formulations
from perfectcare_desktop.core.clinical.plan_content import PlanContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import REVISION, load_plan, save_draft, sign_plan
from perfectcare_desktop.core.patients.caseload import caseload
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage import autosave
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.errors import InvalidInput, NotAllowed
from perfectcare_desktop.sync import status
from perfectcare_desktop.sync.backoff import Backoff
from perfectcare_desktop.sync.client import one_round
from perfectcare_desktop.sync.status import SyncStatus
from perfectcare_desktop.ui.caseload import FILTERS
from perfectcare_desktop.ui.main_window import MainWindow
from perfectcare_desktop.ui.operation import Operations
from perfectcare_desktop.ui.plan_history import CompareDialog
from perfectcare_desktop.ui.sync_status import NOT_SET_UP

LAYOUT = load_catalogue().latest()
NHS = "943 476 5919"


@pytest.fixture
def pcs() -> Iterator[list[sync_support.Pc]]:
    made: list[sync_support.Pc] = []
    yield made
    for pc in made:
        pc.close()


def first_pc(folder: Path, hub_url: str, pcs: list[sync_support.Pc]) -> Session:
    pcs.append(sync_support.first_pc(folder, hub_url))
    return pcs[-1].session


def join(first: Session, hub_url: str, folder: Path, pcs: list[sync_support.Pc]) -> Session:
    pcs.append(sync_support.join(first, hub_url, folder))
    return pcs[-1].session


def sync(session: Session) -> None:
    one_round(session.store, session.require_unlocked())


def add_patient(session: Session) -> str:
    return session.patients.add(PatientDetails("Gwenllian", "Llywelyn", date(1979, 5, 4), NHS))


@pytest.fixture
def open_window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Make the window on a store with the real worker; quick timers; signed in, caseload loaded."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    made: list[MainWindow] = []

    def make(store: Store, **timers: int) -> MainWindow:
        w = MainWindow(store, Operations(), {"idle_lock_minutes": 5}, idle_clock=IdleClock())
        qtbot.addWidget(w)
        made.append(w)
        w.show()
        qtbot.waitUntil(lambda: w.sync is not None)  # made with the pages, after the first paint
        w.sync.first_ms, w.sync.after_save_ms, w.sync.period_ms = 50, 60_000, 60_000
        for name, value in timers.items():
            setattr(w.sync, name, value)
        reactivate(qtbot, w)
        sign_in(qtbot, w)
        qtbot.waitUntil(
            lambda: w._pages_built and w.stack.currentWidget() is w.caseload_page and w.caseload_page.model.total() > 0
        )
        return w

    yield make
    for w in made:
        w.close()  # locks, closes the hub connection on the worker, waits for the worker
        w.ops.wait()


def start_from(qtbot, side: Callable[[CompareDialog], int]) -> None:
    """On the next Compare and merge dialog, press Alt+1 or Alt+2 (Start from version A or B) for the side
    `side` picks. The dialog must be the active window for its shortcuts; a safety net closes it should the
    key not land, so a failing test fails instead of hanging."""

    def act(dialog: QDialog) -> None:
        assert isinstance(dialog, CompareDialog)
        QTimer.singleShot(5000, dialog, dialog.reject)
        dialog.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
        key = (Qt.Key.Key_1, Qt.Key.Key_2)[side(dialog)]
        qtbot.keyClick(dialog, key, Qt.KeyboardModifier.AltModifier)  # animateClick: the dialog closes soon

    on_dialog(act)


def open_only_patient(qtbot, w: MainWindow) -> None:
    qtbot.keyClick(w.caseload_page.search_box, Qt.Key.Key_Return)  # the only patient opens at once
    qtbot.waitUntil(
        lambda: w.stack.currentWidget() is w.patient_page and w.patient_page.plan_tab.load_result is not None
    )


def type_and_save(qtbot, w: MainWindow, text: str) -> None:
    tab = w.patient_page.plan_tab
    field = tab.editor.first_field()
    field.setFocus()
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key.Key_Return)
    qtbot.keyClick(w, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "Draft saved" in tab.message.text())


def press_f9(qtbot, w: MainWindow) -> None:
    reactivate(qtbot, w)
    qtbot.keyClick(w, Qt.Key.Key_F9)


def sync_text(w: MainWindow) -> str:
    return w.sync_label.text()


# --- (a) no hub: exactly as before -------------------------------------------------------------------------
def test_with_no_hub_the_label_stays_and_no_round_runs(qtbot, store: Store, open_window) -> None:
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    add_patient(session)
    session.lock()
    w = open_window(store)
    open_only_patient(qtbot, w)
    type_and_save(qtbot, w, "I stop answering my phone")
    press_f9(qtbot, w)
    qtbot.mouseClick(w.sync_label, Qt.MouseButton.LeftButton)
    w.ops.wait()
    assert sync_text(w) == NOT_SET_UP and w.sync_label.toolTip() == ""
    assert w.sync.rounds == 0 and not w.sync.enrolled
    assert not w.sync_action.isVisible() and not w.sync.button.isVisible()


# --- (b) an enrolled PC: waiting after a save, F9 sends it ---------------------------------------------------
def test_saves_wait_then_sync_now_sends_them_and_rounds_pause_while_locked(qtbot, tmp_path: Path, hub_db: str,
                                                                          pcs, open_window) -> None:  # fmt: skip
    session = first_pc(tmp_path / "pc1", hub_db, pcs)
    add_patient(session)
    session.lock()
    w = open_window(session.store)
    qtbot.waitUntil(lambda: sync_text(w).startswith("Last synced") and "all sent" in sync_text(w))
    assert w.sync.button.isVisible() and w.sync_action.isVisible() and "F9" in w.sync_label.toolTip()

    open_only_patient(qtbot, w)
    type_and_save(qtbot, w, "I stop answering my phone")
    qtbot.waitUntil(lambda: re.search(r"· \d+ waiting", sync_text(w)) is not None)
    waiting = status.read(session.store).waiting
    assert waiting >= 1 and f"{waiting} waiting" in sync_text(w)

    rounds = w.sync.rounds
    press_f9(qtbot, w)
    qtbot.waitUntil(lambda: w.sync.rounds > rounds and "all sent" in sync_text(w))
    assert status.read(session.store).waiting == 0
    assert re.fullmatch(r"Last synced \d\d:\d\d · all sent", sync_text(w))

    # Locked: the key is gone, so no round runs; unlocking resumes them.
    w.sync.period_ms = 100
    qtbot.mouseClick(w.sync_label, Qt.MouseButton.LeftButton)  # a click on the status syncs too
    qtbot.waitUntil(lambda: w.sync.rounds >= rounds + 3)  # then every 100 ms
    qtbot.keyClick(w, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    w.ops.wait()
    locked_at = w.sync.rounds
    qtbot.wait(400)
    assert w.sync.rounds == locked_at
    sign_in(qtbot, w)
    qtbot.waitUntil(lambda: w.sync.rounds > locked_at)


# --- (c) the hub is down: said, retried with back-off, nothing lost ------------------------------------------
def test_a_stopped_hub_is_said_and_retried_then_sync_now_drains(qtbot, tmp_path: Path, private_pg_cluster: PgCluster,
                                                                 pcs, open_window) -> None:  # fmt: skip
    cluster = private_pg_cluster  # its own server, to stop and start
    session = first_pc(tmp_path / "pc1", cluster.create_database("hub"), pcs)
    add_patient(session)
    session.lock()
    w = open_window(session.store)
    qtbot.waitUntil(lambda: "all sent" in sync_text(w))
    w.sync.backoff = Backoff(base_seconds=0.2, cap_seconds=0.5, rng=random.Random(7))
    open_only_patient(qtbot, w)
    try:
        cluster.stop()
        type_and_save(qtbot, w, "Pacing the kitchen at night")
        waiting = status.read(session.store).waiting
        rounds = w.sync.rounds
        press_f9(qtbot, w)
        qtbot.waitUntil(lambda: sync_text(w).startswith("Hub unreachable — retrying"))
        assert f"· {waiting} waiting" in sync_text(w)
        assert "Cannot reach the hub" in w.sync_label.toolTip() or "lost" in w.sync_label.toolTip()
        qtbot.waitUntil(lambda: w.sync.backoff.failures >= 3)  # tried again on its own, after a wait each time
        assert w.sync.rounds >= rounds + 3
        assert status.read(session.store).waiting >= waiting  # nothing sent, nothing dropped
    finally:
        cluster.start()
    w.sync.backoff.base_seconds = 60.0  # no automatic retry before Sync now
    press_f9(qtbot, w)
    qtbot.waitUntil(lambda: "all sent" in sync_text(w), timeout=10000)
    assert status.read(session.store).waiting == 0 and w.sync.backoff.failures == 0


# --- (d) the same plan edited on two PCs: needs attention, compare, merge ---------------------------------------
def test_a_plan_saved_on_two_pcs_needs_attention_and_is_merged_into_one(qtbot, tmp_path: Path, hub_db: str, pcs,
                                                                       open_window) -> None:  # fmt: skip
    a = first_pc(tmp_path / "pc1", hub_db, pcs)
    pid = add_patient(a)
    base = save_draft(a, pid, LAYOUT, plan("Shouting"), None)
    sync(a)
    b = join(a, hub_db, tmp_path / "pc2", pcs)
    # Offline on both PCs, from the same version: A signs it with the person, B adds to the draft.
    today = a.store.clock.now().date()
    va = sign_plan(a, pid, LAYOUT, plan("Shouting", "Drinking alone"), base, agreed_with_person=True,
                   agreed_on=today, review_due=today.replace(year=today.year + 1))  # fmt: skip
    sync(a)
    vb = save_draft(b, pid, LAYOUT, plan("Shouting", "Giving things away"), base)

    w = open_window(b.store)  # signing in syncs: B's draft goes up, A's signed version comes down
    page = w.caseload_page
    qtbot.waitUntil(lambda: w.sync.rounds >= 1 and "1 needs attention" in sync_text(w))
    qtbot.waitUntil(lambda: "needs attention" in page.model.index(0, 0).data())
    page.filter_box.setCurrentIndex(len(FILTERS) - 1)  # Needs attention (two versions to merge)
    assert page.model.rowCount() == 1
    page.filter_box.setCurrentIndex(0)

    open_only_patient(qtbot, w)
    tab = w.patient_page.plan_tab
    assert tab.conflict_bar.isVisible() and "Needs attention" in tab.conflict_text.text()
    assert "needs attention" in w.patient_page.tabs.tabText(0)
    assert w.patient_page.attention.isVisible() and "safety plan" in w.patient_page.attention.text()

    seen: list[str] = []

    def agreed_side(dialog: CompareDialog) -> int:
        m = dialog.table.model()
        seen.extend(str(m.index(r, c).data()) for r in range(m.rowCount()) for c in range(4))
        agreed = next(i for i, (label, _content) in enumerate(dialog._choices) if "Agreed" in label)
        return 0 if dialog.earlier.currentIndex() == agreed else 1

    start_from(qtbot, agreed_side)
    qtbot.keyClick(w, Qt.Key.Key_C, Qt.KeyboardModifier.AltModifier)  # Compare and merge…
    qtbot.waitUntil(lambda: tab.merge_of is not None)
    reactivate(qtbot, w)
    assert {"Drinking alone", "Giving things away"} <= set(seen)
    assert set(tab.merge_of) == {va, vb} and tab.merge_from is not None and tab.merge_from.version_id == va
    assert "Merging" in tab.conflict_text.text() and "stays in use until you sign" in tab.conflict_text.text()
    assert tab.cancel_merge_button.isVisible()
    # What B wrote goes into the merge by hand: the clinician decides what the plan says.
    entries = tab.editor.content.section("warning_signs").entries
    assert [e["text"] for e in entries] == ["Shouting", "Drinking alone"]
    type_and_save(qtbot, w, "Giving things away")

    state = load_plan(b, pid, audit_view=False)
    merged = state.heads[0]
    assert len(state.heads) == 1 and sorted(state.history[-1].parents) == sorted([va, vb])
    assert state.history[-1].status == REVISION and state.agreed is not None and state.agreed.version_id == va
    assert not tab.conflict_bar.isVisible() and "needs attention" not in w.patient_page.tabs.tabText(0)
    assert not w.patient_page.attention.isVisible()
    qtbot.waitUntil(lambda: any("merging 2 versions" in row[4] for row in w.patient_page.history_model.rows))

    press_f9(qtbot, w)
    qtbot.waitUntil(lambda: "all sent" in sync_text(w) and "attention" not in sync_text(w))
    sync(a)
    for session in (a, b):
        assert load_plan(session, pid, audit_view=False).heads == (merged,)
        assert status.read(session.store).needs_attention == 0
        session.patients.reload()
        assert not any(r.needs_attention for r in caseload(session))
    assert version_ids(a.store) == version_ids(b.store)
    w.show_caseload()
    qtbot.waitUntil(lambda: "needs attention" not in page.model.index(0, 0).data())


def version_ids(store: Store) -> set[str]:
    with store.reading() as conn:
        return {r[0] for r in conn.exec_driver_sql("SELECT version_id FROM versions")}


# --- pulled changes: shown at once, unless the clinician is writing ----------------------------------------
def test_changes_pulled_for_the_open_patient_never_clobber_unsaved_typing(qtbot, tmp_path: Path, hub_db: str,
                                                                         pcs, open_window) -> None:  # fmt: skip
    a = first_pc(tmp_path / "pc1", hub_db, pcs)
    pid = add_patient(a)
    base = save_draft(a, pid, LAYOUT, plan("Shouting"), None)
    sync(a)
    b = join(a, hub_db, tmp_path / "pc2", pcs)
    b.lock()
    w = open_window(b.store)
    qtbot.waitUntil(lambda: "all sent" in sync_text(w))
    open_only_patient(qtbot, w)
    tab = w.patient_page.plan_tab

    # Not writing: the tab shows what arrived.
    first = save_draft(a, pid, LAYOUT, plan("Shouting", "Not sleeping"), base)
    sync(a)
    press_f9(qtbot, w)
    qtbot.waitUntil(lambda: tab.arrived.isVisible() and tab.base_version_id == first)
    assert [e["text"] for e in tab.editor.content.section("warning_signs").entries] == ["Shouting", "Not sleeping"]

    # Writing: the editor is left alone; a line says the new version is in History.
    field = tab.editor.first_field()
    field.setFocus()
    qtbot.keyClicks(field, "Typing, not yet saved")
    assert tab.editing()
    second = save_draft(a, pid, LAYOUT, plan("Shouting", "Not sleeping", "Pacing"), first)
    sync(a)
    press_f9(qtbot, w)
    qtbot.waitUntil(lambda: any(v.version_id == second for v in w.patient_page.history_versions))
    assert "arrived" in tab.arrived.text() and tab.base_version_id == first
    assert field.text() == "Typing, not yet saved"


# --- merging without a hub (two heads made here): formulations and refusals ----------------------------------
def test_a_formulation_with_a_signed_head_merges_as_a_review_version(session: Session) -> None:
    layout = load_catalogue(layout_type=formulations.FORMULATION_LAYOUTS).latest()
    pid = add_patient(session)

    def content(text: str) -> PlanContent:
        c = PlanContent.blank(layout, {}, schema=formulations.SCHEMA)
        c.section("presenting").entries = [{"text": text}]
        return c

    base = formulations.save_draft(session, pid, layout, content("first"), None)
    signed = formulations.sign_formulation(session, pid, layout, content("signed"), base,
                                           review_due=date(2099, 1, 1))  # fmt: skip
    other = formulations.save_draft(session, pid, layout, content("other PC"), base)  # a second head
    state = formulations.load_formulation(session, pid, audit_view=False)
    assert state.in_conflict and set(state.heads) == {signed, other}

    with pytest.raises(NotAllowed, match="signed and locked"):
        formulations.save_draft(session, pid, layout, content("merged"), signed, merge_of=(signed, other))
    with pytest.raises(InvalidInput, match="two or more saved versions"):
        formulations.save_draft(session, pid, layout, content("merged"), signed, new_version=True, merge_of=(signed,))
    assert formulations.load_formulation(session, pid, audit_view=False).history == state.history  # nothing saved

    merged = formulations.save_draft(session, pid, layout, content("merged"), signed, new_version=True,
                                     merge_of=(signed, other))  # fmt: skip
    after = formulations.load_formulation(session, pid, audit_view=False)
    assert after.heads == (merged,) and sorted(after.current.parents) == sorted([signed, other])
    assert next(v for v in after.history if v.version_id == signed).signed  # the signed version stays as it was


def two_heads(store: Store) -> tuple[Session, str, str, str]:
    """A plan with two heads made here, as sync leaves them: (signed-in session, patient, one, two).
    `two` is saved a minute after `one`: heads are shown in the one order of versions (time saved, then
    random id), so with the same time their order would be a coin toss."""
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    pid = add_patient(session)
    base = save_draft(session, pid, LAYOUT, plan("Shouting"), None)
    one = save_draft(session, pid, LAYOUT, plan("Shouting", "One"), base)
    store.clock.advance(minutes=1)
    two = save_draft(session, pid, LAYOUT, plan("Shouting", "Two"), base)
    return session, pid, one, two


def test_merging_a_plan_in_the_window_without_a_hub(qtbot, store: Store, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Two heads made here (as sync leaves them): the tab's merge names both; cancelling leaves both."""

    session, pid, one, two = two_heads(store)
    session.lock()
    w = patient_window(qtbot, store, tmp_path, monkeypatch)
    tab = w.patient_page.plan_tab
    assert tab.conflict_bar.isVisible()

    start_from(qtbot, lambda _dialog: 1)
    tab.merge_button.click()
    assert tab.merge_of == (one, two) and tab.merge_from.version_id == two
    tab.cancel_merge()
    assert tab.merge_of is None and tab.conflict_bar.isVisible() and not tab.cancel_merge_button.isVisible()

    start_from(qtbot, lambda _dialog: 0)
    tab.merge_button.click()
    assert tab.merge_from.version_id == one
    tab.save_draft()
    state = load_plan(w.session, pid, audit_view=False)
    assert len(state.heads) == 1 and sorted(state.current.parents) == sorted([one, two])
    assert [e["text"] for e in PlanContent.from_payload(state.current.payload).section("warning_signs").entries] == [
        "Shouting",
        "One",
    ]


# --- a draft restored after a lock or a crash comes back as it was begun --------------------------------------
def entries(content: PlanContent) -> list[str]:
    return [e["text"] for e in content.section("warning_signs").entries]


def test_a_merge_in_progress_survives_a_lock_and_saves_as_the_merge(
    qtbot, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session, pid, one, two = two_heads(store)
    session.lock()
    w = patient_window(qtbot, store, tmp_path, monkeypatch)
    tab = w.patient_page.plan_tab
    start_from(qtbot, lambda _dialog: 1)
    tab.merge_button.click()
    field = tab.editor.first_field()
    field.setFocus()
    qtbot.keyClicks(field, "One")  # what the clinician takes from version A
    qtbot.keyClick(field, Qt.Key.Key_Return)
    reactivate(qtbot, w)
    qtbot.keyClick(w, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert w.session.locked and tab.merge_of is None  # forgotten while locked

    sign_in(qtbot, w)
    assert tab.merge_of == (one, two) and tab.merge_from.version_id == two  # still the merge, from B
    assert "Merging the 2 versions" in tab.conflict_text.text() and tab.cancel_merge_button.isVisible()
    assert "merge is restored" in tab.message.text()
    assert entries(tab.editor.content) == ["Shouting", "Two", "One"]
    tab.save_draft()
    state = load_plan(w.session, pid, audit_view=False)
    assert len(state.heads) == 1 and sorted(state.current.parents) == sorted([one, two])  # the conflict is gone
    assert entries(PlanContent.from_payload(state.current.payload)) == ["Shouting", "Two", "One"]


def test_a_draft_restored_after_the_plan_changed_elsewhere_keeps_both(
    qtbot, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The draft began from version A; B (another PC's, on top of A) arrived before it was restored. Saving
    it must not land on top of B as if the clinician had seen B: both are kept, needing attention."""
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    pid = add_patient(session)
    first = save_draft(session, pid, LAYOUT, plan("Shouting"), None)
    state = load_plan(session, pid, audit_view=False)
    autosave.write(session, pid, "safety_plan", state.record_id, first, plan("Shouting", "Mine").to_payload())
    theirs = save_draft(session, pid, LAYOUT, plan("Shouting", "Theirs"), first)  # came by sync meanwhile
    session.lock()
    w = patient_window(qtbot, store, tmp_path, monkeypatch)
    tab = w.patient_page.plan_tab
    assert tab.recover_bar.isVisible() and tab.base_version_id == theirs
    qtbot.keyClick(tab.restore_button, Qt.Key.Key_Space)
    assert tab.base_version_id == first and tab.merge_of is None
    assert "changed after you began it" in tab.message.text()
    tab.save_draft()
    state = load_plan(w.session, pid, audit_view=False)
    mine = next(v for v in state.history if entries(PlanContent.from_payload(v.payload)) == ["Shouting", "Mine"])
    assert set(state.heads) == {theirs, mine.version_id} and mine.parents == (first,)
    qtbot.waitUntil(lambda: tab.conflict_bar.isVisible() and "Needs attention" in tab.conflict_text.text())


def test_a_merge_draft_left_by_a_crash_is_offered_back_as_the_merge(
    qtbot, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session, pid, one, two = two_heads(store)
    rid = load_plan(session, pid, audit_view=False).record_id
    autosave.write(session, pid, "safety_plan", rid, one, plan("Shouting", "One", "Two").to_payload(), (one, two))
    found = autosave.read(session, pid, "safety_plan")
    assert found is not None and found.merge_of == (one, two)
    session.lock()
    w = patient_window(qtbot, store, tmp_path, monkeypatch)
    tab = w.patient_page.plan_tab
    assert tab.recover_bar.isVisible()
    qtbot.keyClick(tab.restore_button, Qt.Key.Key_Space)
    assert tab.merge_of == (one, two) and tab.merge_from.version_id == one
    assert entries(tab.editor.content) == ["Shouting", "One", "Two"]
    tab.save_draft()
    state = load_plan(w.session, pid, audit_view=False)
    assert len(state.heads) == 1 and sorted(state.current.parents) == sorted([one, two])


def test_two_records_with_one_nhs_number_are_flagged_in_the_caseload_and_on_each_page(
    qtbot, store: Store, open_window
) -> None:
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    session.patients.import_batch([(PatientDetails("Gwenllian", "Llywelyn", date(1979, 5, 4), NHS), []),
                          (PatientDetails("Gwen", "Llywelyn", date(1979, 4, 5), NHS), [])])  # fmt: skip
    session.lock()
    w = open_window(store)
    page = w.caseload_page
    names = [page.model.index(r, 0).data() for r in range(page.model.rowCount())]
    assert sorted(names) == ["Gwen Llywelyn  — needs attention: another record has this NHS number",
                             "Gwenllian Llywelyn  — needs attention: another record has this NHS number"]  # fmt: skip
    ids = {r.patient.details.given_name: r.record_id for r in caseload(w.session)}
    w.open_patient(ids["Gwen"])
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.patient_page and w.patient_page.attention.isVisible())
    text = w.patient_page.attention.text()
    assert "another patient record has this NHS number (search the caseload for 943 476 5919)" in text
    assert "entered in error" in text
    reactivate(qtbot, w)
    qtbot.keyClick(w, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert "943" not in w.patient_page.attention.text() and w.patient_page.nhs_formatted == ""


# --- the status line in words --------------------------------------------------------------------------------
def test_the_status_line_says_each_part_and_leaves_out_zeros(qtbot, store: Store, open_window) -> None:
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    add_patient(session)
    session.lock()
    w = open_window(store)
    c = w.sync
    at = datetime.combine(store.clock.now().date(), datetime.min.time()).replace(hour=14, minute=2)
    c._state_read((SyncStatus(True, at, 3, 0, 1, 0), ()))
    c.pause()  # no round: this store has no hub
    assert sync_text(w) == "Last synced 14:02 · 3 waiting · 1 needs attention"
    c._state_read((SyncStatus(True, at, 0, 1, 0, 2), ("This PC's version x was refused by the hub.",)))
    assert sync_text(w) == "Last synced 14:02 · all sent · 1 refused by the hub · 2 from the hub failed checks"
    assert "refused by the hub" in w.sync_label.toolTip()
    c._state_read((SyncStatus(True, None, 12, 0, 2, 0), ()))
    assert sync_text(w) == "Not yet synced · 12 waiting · 2 need attention"


def test_what_the_hub_sent_that_failed_checks_names_the_person_in_the_tooltip(
    qtbot, tmp_path: Path, hub_db: str, pcs, open_window
) -> None:
    """A damaged version of a patient this PC knows: the status says a change failed checks, and its
    tooltip names the person (from the caseload already in memory) and what happens next."""
    a = first_pc(tmp_path / "pc1", hub_db, pcs)
    b = join(a, hub_db, tmp_path / "pc2", pcs)
    pid = add_patient(a)
    sync(a)
    sync(b)
    v = save_draft(a, pid, LAYOUT, plan("Pacing at night"), None)
    sync(a)
    with psycopg.connect(hub_db) as conn:  # a byte of the ciphertext altered on the hub
        conn.execute(
            "UPDATE versions SET payload = set_byte(payload, 40, get_byte(payload, 40) # 1) WHERE version_id = %s",
            (v,),
        )
    b.lock()
    w = open_window(b.store)
    press_f9(qtbot, w)
    qtbot.waitUntil(lambda: "1 from the hub failed checks" in sync_text(w))
    qtbot.waitUntil(lambda: "Gwenllian" in w.sync_label.toolTip())  # named once the caseload snapshot is read
    tip = w.sync_label.toolTip()
    assert f"Gwenllian Llywelyn (NHS {NHS}): a change to their record from the hub" in tip
    assert "tried again when the hub's copy is repaired" in tip
