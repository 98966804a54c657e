"""Sync rounds on their own worker, in the real window on real stores and a real hub: while a round
waits on a hub that stopped answering (the test PostgreSQL behind a black-hole proxy, tests/hub_proxy.py),
Ctrl+S saves at once, and locking cancels the round and drops its result. And the status bar says when
this PC's clock is far from the hub's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hub_proxy import HubProxy
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from sync_support import first_pc
from test_main_window import IdleClock, sign_in
from test_plan_tab import reactivate
from test_sync_ui import add_patient, open_only_patient, press_f9, sync_text
from testsupport import ADMIN, ADMIN_PASSWORD, ORG

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.plan_content import PlanContent
from perfectcare_desktop.core.clinical.plans import load_plan
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.sync import enrolment, hub_address
from perfectcare_desktop.sync.status import clock_warning
from perfectcare_desktop.ui.main_window import MainWindow
from perfectcare_desktop.ui.operation import Operations

ROUND_ENDS_MS = 10_000  # a cancelled round ends within this (the cancel request's timeout, 2 s, and a margin)


@pytest.fixture
def proxy(pg_cluster) -> Iterator[HubProxy]:
    p = HubProxy(pg_cluster.port)
    yield p
    p.close()  # also frees a round left waiting, should a test fail


@pytest.fixture
def window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., MainWindow]]:
    """The window on `store` with the real workers, signed in, caseload loaded; `hub_url` as machine
    policy's (the proxy)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    made: list[MainWindow] = []

    def make(store: Store, hub_url: str | None = None) -> MainWindow:
        settings: dict[str, object] = {"idle_lock_minutes": 5, "hub_url": hub_url}
        w = MainWindow(store, Operations(), settings, idle_clock=IdleClock())
        qtbot.addWidget(w)
        made.append(w)
        w.show()
        qtbot.waitUntil(lambda: w.sync is not None)
        w.sync.first_ms, w.sync.after_save_ms, w.sync.period_ms = 50, 60_000, 60_000
        reactivate(qtbot, w)
        sign_in(qtbot, w)
        qtbot.waitUntil(lambda: w.stack.currentWidget() is w.caseload_page and w.caseload_page.model.total() > 0)
        return w

    yield make
    for w in made:
        w.close()  # locks: a round still waiting is cancelled
        assert w.ops.wait()


@pytest.fixture
def stores() -> Iterator[list[Store]]:
    made: list[Store] = []
    yield made
    for store in made:
        store.close()


def stuck_round(qtbot, tmp_path: Path, hub_db: str, proxy: HubProxy, stores: list[Store],
                window: Callable[..., MainWindow]) -> tuple[MainWindow, str]:  # fmt: skip
    """An enrolled PC's window whose hub is the proxy; a patient open; then the hub goes silent and F9
    starts a round that waits on it. Returns the window and the patient's id."""
    pc = first_pc(tmp_path / "pc1", hub_db)
    stores.append(pc.store)
    pid = add_patient(pc.session)
    pc.session.lock()
    w = window(pc.store, proxy.url(hub_address.parse(hub_db)["dbname"]))
    qtbot.waitUntil(lambda: "all sent" in sync_text(w))  # the first round went through the proxy
    open_only_patient(qtbot, w)
    proxy.black_hole()
    press_f9(qtbot, w)
    qtbot.waitUntil(lambda: proxy.swallowed > 0)  # the round has sent to the hub, and waits for its answer
    assert sync_text(w).startswith("Syncing…")
    return w, pid


def test_ctrl_s_saves_at_once_while_a_round_waits_on_a_silent_hub(qtbot, tmp_path: Path, hub_db: str,
                                                                  proxy: HubProxy, stores, window) -> None:  # fmt: skip
    w, pid = stuck_round(qtbot, tmp_path, hub_db, proxy, stores, window)
    tab = w.patient_page.plan_tab
    field = tab.editor.first_field()
    field.setFocus()
    qtbot.keyClicks(field, "Pacing the kitchen at night")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    qtbot.keyClick(field, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "Draft saved" in tab.message.text(), timeout=5000)
    saved = PlanContent.from_payload(load_plan(w.session, pid, audit_view=False).current.payload)
    assert [e["text"] for e in saved.section("warning_signs").entries] == ["Pacing the kitchen at night"]
    assert sync_text(w).startswith("Syncing…")  # the round is still waiting on the hub
    qtbot.waitUntil(lambda: "waiting" in sync_text(w))  # and the save is counted as waiting to be sent


def test_locking_cancels_a_round_waiting_on_a_silent_hub_and_drops_its_result(qtbot, tmp_path: Path, hub_db: str,
                                                                              proxy: HubProxy, stores,
                                                                              window) -> None:  # fmt: skip
    w, _pid = stuck_round(qtbot, tmp_path, hub_db, proxy, stores, window)
    rounds = w.sync.rounds
    reactivate(qtbot, w)
    qtbot.keyClick(w, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert w.session.locked and w.stack.currentWidget() is w.login_page
    assert w.ops.wait(ROUND_ENDS_MS)  # the round ended: cancelled, not left to the hub's deadline
    qtbot.wait(300)  # had its result been kept, it would have been delivered by now
    assert w.sync.rounds == rounds and w.sync.backoff.failures == 0  # no failure counted, no retry while locked
    assert "unreachable" not in sync_text(w).lower() and "Syncing" not in sync_text(w)
    assert "lost" not in w.sync_label.toolTip()

    queued = waiting_items(w.store)
    assert queued  # what the cancelled round was sending is still queued
    proxy.forward()  # the hub answers again: after unlocking, all of it is sent
    sign_in(qtbot, w)
    qtbot.waitUntil(lambda: not queued & waiting_items(w.store), timeout=20_000)
    assert w.sync.rounds > rounds


def waiting_items(store: Store) -> set[int]:
    with store.reading() as conn:
        return {r[0] for r in conn.exec_driver_sql("SELECT oid FROM outbox")}


class AheadClock:
    """The real time, as a PC whose clock is `days` ahead would tell it."""

    def __init__(self, days: float) -> None:
        self.offset = timedelta(days=days)

    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None) + self.offset


def test_a_clock_days_ahead_of_the_hubs_is_said_in_the_status_bar(qtbot, tmp_path: Path, hub_db: str, stores,
                                                                  window) -> None:  # fmt: skip
    store, _ = Store.create(tmp_path / "pc1", ORG, ADMIN, ADMIN_PASSWORD, clock=AheadClock(days=2))
    stores.append(store)
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    enrolment.init_hub(session, hub_db)
    add_patient(session)
    session.lock()
    w = window(store)
    qtbot.waitUntil(lambda: "clock" in sync_text(w))  # after the first round has compared the clocks
    assert "This PC's clock is 2 days ahead of the hub's: ask IT to correct it" in sync_text(w)
    assert "(times on records saved here will be wrong)" in w.sync_label.toolTip()


def test_the_clock_warning_says_how_far_and_which_way() -> None:
    assert clock_warning(None) is None and clock_warning(300) is None and clock_warning(-120) is None
    assert clock_warning(2 * 86_400 + 600) == "This PC's clock is 2 days ahead of the hub's: ask IT to correct it"
    assert clock_warning(-36 * 3_600) == "This PC's clock is 36 hours behind the hub's: ask IT to correct it"
    assert clock_warning(420) == "This PC's clock is 7 minutes ahead of the hub's: ask IT to correct it"
