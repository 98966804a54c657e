"""The window clinicians live in: sign-in, caseload, patient pages, admin; auto-lock over all of it.

Widgets only call core services (Store, Session, caseload). Locking drops every shown patient detail
at once (models emptied, labels cleared, dialogs closed, clipboard cleared); the title never names a
patient. Unsaved form input stays in memory, hidden, and is back when the same user unlocks.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

# Only what the login window needs: PySide6 builds each class a module names (enums and all) at import,
# before the first paint. QMessageBox, QDialog, QToolTip and QKeySequence are imported where used
# (QKeySequence's overloads build the whole `Qt` namespace, some 35 ms).
from PySide6.QtCore import QEvent, QTimer
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QStackedWidget, QWidget

from .. import config
from ..errors import PerfectCareError
from .clipboard import ClipboardGuard
from .idle import IdleWatcher
from .login import LoginPage
from .operation import Operations
from .theme import apply_theme
from .widgets import after_first_paint

if TYPE_CHECKING:  # the store stack loads in the background, after the window is up
    from datetime import date

    from PySide6.QtGui import QCloseEvent, QKeySequence  # annotations only

    from ..core.access.session import Session
    from ..core.patients.caseload import CaseloadRow
    from ..core.patients.details import PatientDetails
    from ..core.storage.store import Store
    from ..sync.client import RoundReport
    from .sync_status import SyncController

SHORTCUTS = (
    ("Ctrl+F", "Search the caseload"),
    ("Ctrl+N", "New patient"),
    ("Enter", "Open the selected patient"),
    ("Ctrl+E", "Edit the patient's details"),
    ("Ctrl+S", "Save (the patient form; the plan as a draft version)"),
    ("Esc", "Cancel editing"),
    ("Ctrl+PgDown / Ctrl+PgUp", "Plan: next / previous section"),
    ("Enter", "Plan: add the entry typed (in a field); edit the selected entry (in the list)"),
    ("Delete, Alt+Up, Alt+Down", "Plan: remove, move up, move down the selected entry"),
    ("Ctrl+Z / Ctrl+Shift+Z", "Plan: undo / redo"),
    ("Ctrl+Shift+S", "Plan: sign as agreed with the person"),
    ("F5", "Plan: present mode for the person on/off"),
    ("Alt+Left", "Back to the caseload"),
    ("Ctrl+1", "Caseload"),
    ("Ctrl+3", "Administration (administrators)"),
    ("Ctrl+Shift+C", "Copy the NHS number (cleared from the clipboard after 30 seconds)"),
    ("Ctrl+P", "Print or save the open patient's copy"),
    ("Ctrl+Shift+P", "Print plans for the team (all, changed this week, due for review, selected)"),
    ("F9", "Sync with the hub now (a PC enrolled with a hub)"),
    ("Ctrl+L", "Lock now"),
    ("Ctrl+Shift+H", "High-contrast theme on/off"),
    ("F1", "This list"),
    ("Ctrl+Q", "Quit"),
)


class MainWindow(QMainWindow):
    def __init__(self, store: Store | None, ops: Operations, settings: dict[str, object] | None = None,
                 idle_clock: Callable[[], float] = time.monotonic,
                 open_store: Callable[[], Store] | None = None) -> None:  # fmt: skip
        """Give either an open `store`, or `open_store` to open it in the background once the window
        is up (the database libraries take longer to load than the window takes to show)."""
        super().__init__()
        self.store: Store | None = store
        self.ops = ops
        self.settings = settings if settings is not None else {}
        self.policy: Any = None  # policy.Settings, for Help > About / managed settings (set by ui.main)
        self.data_dir: Any = None
        self.log_file: Any = None
        self.crisis_directory: Any = None  # the national numbers with the trust's own, built with the pages
        self.admin_banner: QLabel | None = None  # stale crisis numbers, said to an admin at sign-in (made when needed)
        self.session: Session | None = None
        self._return_to: QWidget | None = None
        self._reloading = False  # the session re-reads the store after a sync (search waits)
        self.setWindowTitle("PerfectCare Desktop")
        self.resize(1200, 800)

        self.stack = QStackedWidget(self)
        self.setCentralWidget(self.stack)
        self.login_page = LoginPage(ops, self._attempt, "", self)
        self.login_page.succeeded.connect(self._signed_in)
        self.stack.addWidget(self.login_page)
        self.admin_page: QWidget | None = None
        self._pages_built = False  # the clinical pages are made at first sign-in: a faster first window

        self.clipboard = ClipboardGuard(self)
        self.idle = IdleWatcher(config.idle_lock_seconds(self.settings), idle_clock, self)
        self.idle.idle.connect(self.lock)
        self.idle.start()  # it watches for activity from the first paint on (see _start_in_background)

        self._build_actions()
        self._build_status_bar()
        self.sync: SyncController | None = None  # made with the pages, after the first paint
        self._show_signed_out()
        self._open_store = open_store
        if store is not None:
            self._store_ready(store)
        else:
            assert open_store is not None
            self.login_page.set_waiting("Opening the store…")
        # Start once the window is on screen: loading the database libraries competes for the
        # interpreter, and the person should see the window (and start typing) first.
        after_first_paint(self, self._start_in_background)

    def _start_in_background(self) -> None:
        """Open the store off the GUI thread, then make the clinical pages while the person types
        their password. The pages import the store stack: made after it has loaded, they do not
        block the GUI thread on those imports."""
        self._bind_shortcuts()  # first: Quit, F1 and the theme toggle work before the store is open
        app = QApplication.instance()
        if app is not None:
            # Not before: an application-wide Python filter wraps every object that gets an event,
            # and the first private Qt object wrapped loads every Qt class (some 60 ms). Nothing can
            # be locked before sign-in, which touches the idle clock itself.
            app.installEventFilter(self.idle)
        if self.store is not None:
            self._build_pages()
        elif self._open_store is not None:
            open_store = self._open_store

            def opened() -> tuple[Store, str]:
                store = open_store()
                return store, store.organisation

            self.ops.run(opened, self._store_opened, self._store_failed)

    def _store_opened(self, opened: tuple[Store, str]) -> None:
        store, organisation = opened
        self._store_ready(store, organisation)
        QTimer.singleShot(0, self._build_pages)  # let Sign in show as enabled first

    def _store_ready(self, store: Store, organisation: str | None = None) -> None:
        """The store is open: signing in may start. Its organisation's name is read on the worker (given,
        when opening it there read it too)."""
        self.store = store
        self.login_page.set_waiting(None)
        if organisation is None:
            self.ops.run(lambda: store.organisation, self._show_organisation)
        else:
            self._show_organisation(organisation)

    def _show_organisation(self, organisation: str) -> None:
        self.setWindowTitle(f"PerfectCare Desktop — {organisation}")
        self.login_page.set_organisation(organisation)

    def _store_failed(self, error: BaseException) -> None:
        if not isinstance(error, PerfectCareError):
            raise error
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(self, "PerfectCare Desktop", str(error))
        app = QApplication.instance()
        if app is not None:
            app.exit(1)

    # --- chrome -----------------------------------------------------------------------------------
    def _action(self, menu: Any, text: str, shortcut: str | QKeySequence.StandardKey | None,
                slot: Callable[[], object], *, needs_session: bool = True) -> QAction:  # fmt: skip
        action = QAction(self)  # not QAction(text, self): choosing that overload builds QIcon (3 ms)
        action.setText(text)
        if shortcut is not None:
            self._shortcuts.append((action, shortcut))  # bound by _bind_shortcuts, after the first paint
        # Never the slot itself: triggered(bool) would hand it `checked`, and the theme items' slot took it
        # for its default parameter (the theme's name): KeyError True, the theme never changed.
        action.triggered.connect(lambda: slot())
        action.setProperty("needs_session", needs_session)
        menu.addAction(action)
        self.addAction(action)
        return action

    def _bind_shortcuts(self) -> None:
        """Give the menu actions their shortcuts (the menus show them from then on). Not before the first
        paint: QKeySequence builds the whole `Qt` namespace (some 35 ms), and no menu can be opened nor
        key pressed in a window not yet on screen. Signing in binds them too, should it come first."""
        if not self._shortcuts:
            return
        from PySide6.QtGui import QKeySequence

        for action, shortcut in self._shortcuts:
            action.setShortcut(QKeySequence(shortcut))
        self._shortcuts.clear()

    def _build_actions(self) -> None:
        self._shortcuts: list[tuple[QAction, str | QKeySequence.StandardKey]] = []
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.new_action = self._action(file_menu, "&New patient", "Ctrl+N", self.new_patient)
        self.lock_action = self._action(file_menu, "&Lock", "Ctrl+L", self.lock)
        self.print_action = self._action(file_menu, "&Print or save a copy…", "Ctrl+P", self.print_copy)
        self.batch_action = self._action(file_menu, "Print plans for the &team…", "Ctrl+Shift+P", self.print_batch)
        # Shown only on a PC enrolled with a hub (the sync controller shows it).
        self.sync_action = self._action(file_menu, "&Sync now", "F9", self.sync_now)
        self.sync_action.setVisible(False)
        self.sign_out_action = self._action(file_menu, "Sign &out", None, self.sign_out)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", "Ctrl+Q", self.close, needs_session=False)
        go_menu = bar.addMenu("&Go")
        self.caseload_action = self._action(go_menu, "&Caseload", "Ctrl+1", self.show_caseload)
        self.admin_action = self._action(go_menu, "&Administration", "Ctrl+3", self.show_admin)
        self.copy_action = self._action(go_menu, "Copy NHS &number", "Ctrl+Shift+C", self.copy_nhs_number)
        view_menu = bar.addMenu("&View")
        group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name, label in (("light", "&Light theme"), ("high-contrast", "&High-contrast theme")):
            action = self._action(view_menu, label, None, functools.partial(self.set_theme, name), needs_session=False)
            action.setCheckable(True)
            group.addAction(action)
            self.theme_actions[name] = action
        self._action(view_menu, "Toggle high contrast", "Ctrl+Shift+H", self._toggle_theme, needs_session=False)
        self.theme_actions[str(self.settings.get("theme", "light"))].setChecked(True)
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", "F1", self.show_shortcuts, needs_session=False)
        self._action(help_menu, "&About / managed settings", None, self.show_about, needs_session=False)

    def _build_status_bar(self) -> None:
        self.user_label = QLabel(self)
        self.user_label.setAccessibleName("Signed-in user")
        self.lock_label = QLabel(self)
        self.lock_label.setAccessibleName("Lock state")
        self.sync_label = QLabel("Sync: not set up (this PC keeps its own store)", self)  # sync_status says more
        self.sync_label.setAccessibleName("Sync state")
        status = self.statusBar()
        status.addWidget(self.user_label)
        status.addWidget(self.lock_label)
        status.addPermanentWidget(self.sync_label)

    def _set_session_actions(self, enabled: bool) -> None:
        for action in self.actions():
            if action.property("needs_session"):
                action.setEnabled(enabled)
        if enabled and self.session is not None:
            self.admin_action.setEnabled(self.session.is_admin)

    # --- signing in, locking ------------------------------------------------------------------------
    def _attempt(self, username: str, password: str) -> Session | None:
        """Runs in the background: sign in, or unlock the current session."""
        if self.session is not None and self.session.locked:
            self.session.unlock(password)
            return None
        assert self.store is not None
        from ..core.access.session import Session  # here, not at import: the window shows before the store code loads

        return Session.sign_in(self.store, username, password)

    def _build_pages(self) -> None:
        if self._pages_built:
            return
        from .caseload import CaseloadPage
        from .patient_form import PatientForm
        from .patient_page import PatientPage

        self.caseload_page = CaseloadPage(self._search_ids, self._today, self)
        self.caseload_page.open_patient.connect(self.open_patient)
        self.caseload_page.new_patient.connect(self.new_patient)
        self.caseload_page.searched.connect(self._look_outside_my_teams)
        self.caseload_page.break_glass.connect(self._break_glass)
        self.patient_page = PatientPage(*self._build_record_tabs(), self)
        self.patient_page.back.connect(self._leave_patient)
        self.patient_page.mark_error.connect(self._mark_entered_in_error)
        self.patient_page.edit.connect(self.edit_patient)
        self.form_page = PatientForm(self.ops, self._save_patient, self)
        self.form_page.saved.connect(self._patient_saved)
        self.form_page.cancelled.connect(self._form_cancelled)
        for page in (self.caseload_page, self.patient_page, self.form_page):
            self.stack.addWidget(page)
        self._pages_built = True
        from .sync_status import SyncController

        self.sync = SyncController(self.ops, self.statusBar(), self.sync_label, self.sync_action, self)
        self.sync.hub_url = str(self.settings.get("hub_url") or "") or None
        self.sync.read_url = str(self.settings.get("hub_read_url") or "") or None
        self.sync.pulled.connect(self._after_pull)
        if self.store is not None:
            self.sync.store_ready(self.store)  # says whether this PC syncs, before anyone signs in

    def _build_record_tabs(self) -> tuple[Any, Any]:
        from ..core.clinical.crisis_directory import directory_in_force
        from ..core.clinical.formulations import FORMULATION_LAYOUTS
        from ..core.clinical.plan_layout import load_catalogue
        from .formulation_tab import FormulationTab
        from .plan_tab import PlanTab

        plan_layouts = load_catalogue()
        formulation_layouts = load_catalogue(layout_type=FORMULATION_LAYOUTS)
        problems = [f"A plan layout was not loaded: {p}" for p in plan_layouts.problems] + [
            f"A formulation layout was not loaded: {p}" for p in formulation_layouts.problems
        ]
        if problems:  # the default layouts are still offered
            self.statusBar().showMessage(" ".join(problems), 30000)
        try:
            self.crisis_directory = directory_in_force(self.settings)
        except PerfectCareError as exc:  # a broken trust entry: the nation's numbers still print
            from ..core.clinical.crisis_directory import load_directory

            problems.append(f"The trust's crisis contacts were not loaded: {exc}")
            self.statusBar().showMessage(" ".join(problems), 30000)
            try:
                self.crisis_directory = load_directory(nation=str(self.settings.get("crisis_nation") or "england"))
            except PerfectCareError:  # the file has no list for that nation: England's, as before nations
                self.crisis_directory = load_directory()
        plan = PlanTab(self.ops, lambda: self.session, plan_layouts, self.crisis_directory,
                       config.review_interval_months(self.settings), self)  # fmt: skip
        formulation = FormulationTab(self.ops, lambda: self.session, formulation_layouts, self)
        for tab in (plan, formulation):
            tab.saved.connect(self._record_saved)
        return plan, formulation

    def _signed_in(self, result: Session | None) -> None:
        self._bind_shortcuts()  # a no-op unless signing in came before the first paint (tests)
        if not self._pages_built:
            self._build_pages()
        if result is not None:
            self.session = result
        assert self.session is not None
        user = self.session.user
        self.user_label.setText(f"Signed in: {user.display_name} ({user.role})")
        self.lock_label.setText("Unlocked")
        self._tell_admin_about_crisis_numbers()
        self._set_session_actions(True)
        self.idle.touch()
        target = self._return_to
        self._return_to = None
        self._reload_caseload()  # first on the worker: what the clinician waits for
        if self.sync is not None:
            self.sync.start(self.session)  # rounds run while unlocked
        if target is self.patient_page and self.patient_page.record_id:
            self.open_patient(self.patient_page.record_id, audit=False, resume=True)
        elif target is self.form_page:
            self.stack.setCurrentWidget(self.form_page)
        elif target is not None and target is self.admin_page:
            self.show_admin()
        else:
            self.show_caseload()

    def _tell_admin_about_crisis_numbers(self) -> None:
        """An admin hears, at sign-in, that the crisis numbers printed on every copy are over 12 months old
        (or not confirmed at source): a banner over the pages until they sign out. Clinicians hear it in
        the print dialogs."""
        from ..core.clinical.crisis_directory import admin_notes

        session = self.session
        notes: list[str] = []
        if session is not None and session.is_admin and self.crisis_directory is not None:
            notes = admin_notes(self.crisis_directory, session.store.clock.now().date())
        if not notes and self.admin_banner is None:
            return
        if self.admin_banner is None:  # made only when needed: nothing extra before the first paint
            from PySide6.QtWidgets import QVBoxLayout

            stack = self.takeCentralWidget()
            assert stack is not None  # self.stack, the central widget since __init__
            holder = QWidget(self)
            column = QVBoxLayout(holder)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(0)
            self.admin_banner = QLabel(holder)
            self.admin_banner.setObjectName("crisis_numbers_banner")
            self.admin_banner.setProperty("role", "banner")
            self.admin_banner.setWordWrap(True)
            self.admin_banner.setContentsMargins(8, 6, 8, 6)
            self.admin_banner.setAccessibleName("Crisis numbers need checking")
            column.addWidget(self.admin_banner)
            column.addWidget(stack, 1)
            self.setCentralWidget(holder)
            holder.show()  # a child added to a window already on screen stays hidden until shown
            stack.show()
        text = "\n".join(f"⚠ {note}" for note in notes)
        self.admin_banner.setText(text)
        self.admin_banner.setAccessibleDescription(text)
        self.admin_banner.setVisible(bool(notes))

    def lock(self) -> None:
        """Hide every patient detail at once and ask for the password (Ctrl+L, or idle time)."""
        if self.session is None or self.session.locked:
            return
        current = self.stack.currentWidget()
        self._return_to = current if current is not self.login_page else None
        self._autosave_plan()  # sealed before the key is forgotten, written on the worker; restored at unlock
        self._hide_everything()
        session = self.session
        self.login_page.show_locked(session.user.username)
        self.stack.setCurrentWidget(self.login_page)
        self.lock_label.setText("Locked")
        if self.sync is not None:
            self.sync.pause()  # cancels a round in flight and drops its result; none until unlock (it needs the key)
        self._forget(session)

    def _forget(self, session: Session) -> None:
        """Forget the key and the decrypted details now, on this thread (no store is touched); the lock's
        audit entry is written on the store worker, after the drafts sealed just before."""
        audit_lock = session.forget()
        if audit_lock is not None:
            self.ops.run(audit_lock)

    def _autosave_plan(self) -> None:
        if self._pages_built:
            # Sealed here, written on the store worker: a lock never waits on the disk.
            for tab in self.patient_page.record_tabs:
                tab.autosave_now()

    def sign_out(self) -> None:
        if self.session is None:
            return
        self._autosave_plan()
        if self.sync is not None:
            self.sync.stop()
        self._forget(self.session)
        self.session = None
        self._return_to = None
        self._hide_everything()
        self.form_page.clear()
        self._show_signed_out()

    def _hide_everything(self) -> None:
        from PySide6.QtWidgets import QDialog, QToolTip

        QToolTip.hideText()
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog) and widget.isVisible():
                widget.reject()  # a confirmation naming a user or patient must not stay on screen
        self.caseload_page.clear()
        if self._return_to is not self.patient_page:
            self.patient_page.record_id = None
        self.patient_page.clear()  # keeps only record_id, a random id, to reopen after unlock
        if self.admin_page is not None:
            self.admin_page.clear()  # type: ignore[attr-defined]
        self.clipboard.expire()
        self._set_session_actions(False)

    def _show_signed_out(self) -> None:
        if self.admin_banner is not None:
            self.admin_banner.hide()  # for the admin who signed in; the next user hears it at their print
        self.user_label.setText("Not signed in")
        self.lock_label.setText("Locked")
        self.login_page.show_login()
        self.stack.setCurrentWidget(self.login_page)
        self._set_session_actions(False)

    # --- caseload ---------------------------------------------------------------------------------
    def _today(self) -> date:
        if self.store is not None:
            return self.store.clock.now().date()
        from datetime import date

        return date.today()

    def _search_ids(self, text: str) -> set[str]:
        if self.session is None or self.session.locked or self._reloading or not self.session.patients.loaded:
            # While the worker (re-)reads the patients the caseload searches again after; never a read and
            # decrypt of the whole list here on the GUI thread, beside the worker's.
            return set()
        return set(self.session.patients.search_ids(text))

    def _look_outside_my_teams(self, text: str) -> None:
        """An exact NHS number that finds nobody on my caseload may be someone in another team's care."""
        session = self.session
        digits = "".join(ch for ch in text if ch.isdigit())
        if session is None or session.locked or len(digits) != 10 or self.caseload_page.model.rowCount():
            return
        generation = session.generation

        def shown(found: tuple[str, str] | None) -> None:
            if self._current(session, generation) and self.caseload_page.search_box.text() == text:
                self.caseload_page.show_outside(*(found or (None, "")))

        self.ops.run(lambda: session.patients.outside_my_teams(digits), shown, lambda _e: None)

    def _break_glass(self, record_id: str) -> None:
        """Open someone outside my teams in an emergency, with a reason that is recorded and reported."""
        from PySide6.QtWidgets import QInputDialog

        session = self.session
        if session is None or session.locked:
            return
        reason, ok = QInputDialog.getText(
            self, "Open with a reason",
            "Why do you need this person's record now? Your reason is recorded and reported to your "
            "administrators; the record stays open to you for 12 hours.",
        )  # fmt: skip
        if not ok:
            return
        generation = session.generation

        def opened(_summary: object) -> None:
            if self._current(session, generation):
                self.caseload_page.show_outside(None, "")
                self.open_patient(record_id, audit=False)
                self._reload_caseload()

        self.ops.run(lambda: session.patients.break_glass(record_id, reason), opened, self._show_error)

    def _current(self, session: Session, generation: int) -> bool:
        """Whether work begun under this session and lock generation may show its result: never after a
        lock (even one unlocked again since), a sign-out or another sign-in."""
        return self.session is session and not session.locked and session.generation == generation

    def _reload_caseload(self) -> None:
        from ..core.patients.caseload import caseload

        session = self.session
        if session is None:
            return
        generation = session.generation

        def loaded(rows: list[CaseloadRow]) -> None:
            if self._current(session, generation):  # else dropped: the rows hold decrypted details
                self.caseload_page.set_rows(rows)

        def failed(error: BaseException) -> None:
            if self._current(session, generation):  # a load cut short by a lock says nothing
                self._show_error(error)

        self.ops.run(lambda: caseload(session), loaded, failed)

    def show_caseload(self) -> None:
        if self.session is None or self.session.locked:
            return
        self.stack.setCurrentWidget(self.caseload_page)
        self.caseload_page.focus_search()

    # --- sync -------------------------------------------------------------------------------------
    def sync_now(self) -> None:
        """F9: a round with the hub at once (on an enrolled PC)."""
        if self.sync is not None:
            self.sync.sync_now()

    def _local_change(self) -> None:
        """A version was saved here: the sync status counts it, and a round sends it soon."""
        if self.sync is not None:
            self.sync.local_change()

    def _after_pull(self, report: RoundReport) -> None:
        """A round brought changes: re-read the patients, then the caseload and the open patient."""
        session = self.session
        if session is None or session.locked or not self._pages_built:
            return  # unlocking reads everything afresh anyway
        changed = report.patients

        def reload() -> None:
            if changed:
                session.patients.reload()

        generation = session.generation

        def reloaded(_none: object) -> None:
            self._reloading = False
            if not self._current(session, generation):
                return
            self._reload_caseload()
            if self.patient_page.record_id in changed:
                self._refresh_open_patient()
            if report.accounts and self.admin_page is not None and self.stack.currentWidget() is self.admin_page:
                self.admin_page.refresh()  # type: ignore[attr-defined]

        def failed(error: BaseException) -> None:
            self._reloading = False
            if self._current(session, generation):
                self._show_error(error)

        self._reloading = bool(changed)
        self.ops.run(reload, reloaded, failed)

    def _refresh_open_patient(self) -> None:
        """Show what sync brought for the open patient; a tab with unsaved writing is left as it is."""
        session, record_id = self.session, self.patient_page.record_id
        if session is None or session.locked or record_id is None:
            return
        generation = session.generation

        def shown(result: tuple[Any, Any, Any, Any, int]) -> None:
            if not self._current(session, generation) or self.patient_page.record_id != record_id:
                return
            summary, history, plan, formulation, same_number = result
            self.patient_page.show_patient(summary, history, same_number)
            self.patient_page.plan_tab.changes_arrived(plan)
            self.patient_page.formulation_tab.changes_arrived(formulation)
            self.patient_page.refresh_attention()

        def failed(error: BaseException) -> None:
            if not self._current(session, generation):
                return
            if isinstance(error, PerfectCareError):  # withdrawn on another PC, say: said, not a dialog
                self.statusBar().showMessage(f"This patient's record changed on another PC: {error}", 15000)
            else:
                raise error

        self.ops.run(lambda: _load_patient_page(session, record_id, False), shown, failed)

    # --- patients ---------------------------------------------------------------------------------
    def open_patient(self, record_id: str, audit: bool = True, resume: bool = False) -> None:
        """Show a patient; `resume` (after unlock) brings back unsaved plan edits without asking."""
        session = self.session
        if session is None or session.locked:
            return

        tabs = self.patient_page.record_tabs
        for tab in tabs:
            if self.patient_page.record_id not in (None, record_id):
                tab.save_on_leave()
            tab.clear()
        generation = session.generation

        def shown(result: tuple[Any, Any, Any, Any, int]) -> None:
            if not self._current(session, generation):
                return  # locked since: the page reopens at unlock
            summary, history, plan, formulation, same_number = result
            self.patient_page.show_patient(summary, history, same_number)
            self.patient_page.plan_tab.show_record(record_id, plan, resume=resume)
            self.patient_page.formulation_tab.show_record(record_id, formulation, resume=resume)
            self.patient_page.refresh_attention()
            self.stack.setCurrentWidget(self.patient_page)
            if not resume:
                self.patient_page.edit_button.setFocus()

        self.ops.run(lambda: _load_patient_page(session, record_id, audit), shown, self._show_error)

    def _leave_patient(self) -> None:
        for tab in self.patient_page.record_tabs:
            tab.save_on_leave()
        self.show_caseload()

    def _record_saved(self) -> None:
        """A plan, formulation or discharge version was written: refresh the history and the caseload."""
        session, record_id = self.session, self.patient_page.record_id
        if session is None or session.locked or record_id is None:
            return
        from .patient_page import history_rows

        def load() -> Any:
            records = [(kind, session.records.history(rid)) for rid, kind in session.records.of_patient(record_id)]
            return history_rows(records, session.users.staff_names())

        generation = session.generation

        def shown(rows: Any) -> None:
            if self.patient_page.record_id == record_id and self._current(session, generation):
                self.patient_page.set_history(rows)

        self.ops.run(load, shown, self._show_error)
        self._reload_caseload()
        self._local_change()

    def _mark_entered_in_error(self, version_id: str, reason: str) -> None:
        session, record_id = self.session, self.patient_page.record_id
        if session is None or session.locked or record_id is None:
            return

        def marked(_version_id: str) -> None:
            self.open_patient(record_id, audit=False)
            self._local_change()

        self.ops.run(lambda: session.records.mark_entered_in_error(version_id, reason), marked, self._show_error)

    # --- printing, about -----------------------------------------------------------------------------
    def _variants(self) -> list[str] | None:
        value = self.settings.get("pdf_variants")
        return list(value) if isinstance(value, list) else None

    def print_copy(self) -> None:
        """The open patient's copy: preview, print, save (Ctrl+P)."""
        if self.session is None or self.session.locked or not self._pages_built:
            return
        record_id = self.patient_page.record_id
        if self.stack.currentWidget() is not self.patient_page or record_id is None:
            self.statusBar().showMessage("Open a patient first, or print for the team with Ctrl+Shift+P.", 8000)
            return
        for tab in self.patient_page.record_tabs:
            tab.save_on_leave()  # the copy is made from what is saved
        from .print_dialog import PrintDialog

        PrintDialog(self.ops, lambda: self.session, record_id, self._variants(), self.crisis_directory, self).exec()

    def print_batch(self) -> None:
        """Print plans for the team from the caseload (Ctrl+Shift+P)."""
        if self.session is None or self.session.locked or not self._pages_built:
            return
        from .batch_print import BatchPrintDialog

        selected = self.caseload_page.selected_ids() if self.stack.currentWidget() is self.caseload_page else []
        BatchPrintDialog(self.ops, lambda: self.session, selected, self._variants(), self.crisis_directory,
                         self).exec()  # fmt: skip

    def show_about(self) -> None:
        from ..policy import load_settings
        from .about import AboutDialog

        settings = self.policy if self.policy is not None else load_settings(dict(self.settings))
        AboutDialog(settings, self.data_dir, self.log_file, self).exec()

    def new_patient(self) -> None:
        if self.session is None or self.session.locked:
            return
        self.form_page.start_new()
        self.stack.setCurrentWidget(self.form_page)

    def edit_patient(self, record_id: str) -> None:
        session = self.session
        if session is None or session.locked:
            return
        generation = session.generation

        def loaded(summary: Any) -> None:
            if self._current(session, generation):
                self.form_page.start_edit(record_id, summary.details)
                self.stack.setCurrentWidget(self.form_page)

        # On the worker: the GUI thread never reads the store.
        self.ops.run(lambda: session.patients.get(record_id, audit_view=False), loaded, self._show_error)

    def _save_patient(self, record_id: str | None, details: PatientDetails) -> str:
        session = self.session
        if session is None or session.locked:
            from ..errors import SessionLocked

            raise SessionLocked("The session is locked: sign in again to save.")
        if record_id is None:
            return session.patients.add(details)
        session.patients.update(record_id, details)
        return record_id

    def _patient_saved(self, record_id: str) -> None:
        self._reload_caseload()
        self.open_patient(record_id, audit=False)
        self._local_change()

    def _form_cancelled(self) -> None:
        if self.form_page.record_id is None or self.patient_page.record_id is None:
            self.show_caseload()
        else:
            self.stack.setCurrentWidget(self.patient_page)

    def copy_nhs_number(self) -> None:
        if self.stack.currentWidget() is self.patient_page and self.patient_page.details["nhs"].text():
            self.clipboard.copy(self.patient_page.details["nhs"].text())
            self.statusBar().showMessage("NHS number copied; it leaves the clipboard in 30 seconds.", 5000)

    # --- admin ------------------------------------------------------------------------------------
    def show_admin(self) -> None:
        session = self.session
        if session is None or session.locked or not session.is_admin:
            return
        if self.admin_page is None:
            from .admin_page import AdminPage

            self.admin_page = AdminPage(session, self.ops, self)
            self.stack.addWidget(self.admin_page)
        else:
            self.admin_page.session = session  # type: ignore[attr-defined]
        self.admin_page.refresh()  # type: ignore[attr-defined]
        self.stack.setCurrentWidget(self.admin_page)

    # --- view -------------------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            # Finish pending deletions first: restyling a half-deleted dialog crashes Qt.
            QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            apply_theme(app, name)
        self.theme_actions[name].setChecked(True)
        self.settings["theme"] = name
        # Only this choice joins the user's file: self.settings is merged with policy, whose values
        # saved there would go on applying after IT removed the policy.
        config.save_user_choice("theme", name)

    def _toggle_theme(self) -> None:
        self.set_theme("light" if self.settings.get("theme") == "high-contrast" else "high-contrast")

    def show_shortcuts(self) -> None:
        from PySide6.QtGui import QKeySequence
        from PySide6.QtWidgets import QMessageBox

        text = "\n".join(f"{QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) or k}\t{what}"
                         for k, what in SHORTCUTS)  # fmt: skip
        QMessageBox.information(self, "Keyboard shortcuts", text)

    def _show_error(self, error: BaseException) -> None:
        from ..errors import SessionLocked

        if isinstance(error, SessionLocked) and (self.session is None or self.session.locked):
            return  # work queued before a lock, sign-out or quit: the lock screen says all there is to say
        if isinstance(error, PerfectCareError):
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.warning(self, "PerfectCare Desktop", str(error))
        else:
            raise error

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self._pages_built and self.stack.currentWidget() is self.form_page and self.form_page.given.text():
            from PySide6.QtWidgets import QMessageBox

            answer = QMessageBox.question(self, "Quit", "The patient form has not been saved. Quit anyway?")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        if self.session is not None and not self.session.locked:
            self._autosave_plan()
            self._forget(self.session)  # both written before the wait below returns
        if self.sync is not None:
            self.sync.stop()  # the hub connection closes on the worker, after any round still running
        self.ops.wait()
        event.accept()


def _load_patient_page(session: Session, record_id: str, audit: bool) -> tuple[Any, Any, Any, Any, int]:
    """On the worker: everything a patient's page shows (details, history, plan, formulation, and how
    many other patients have this NHS number)."""
    from .formulation_tab import load_formulation_for_patient
    from .patient_page import history_rows
    from .plan_tab import load_for_patient

    summary = session.patients.get(record_id, audit_view=audit)  # the one 'view' entry for the page
    plan = load_for_patient(session, record_id, audit=False)
    formulation = load_formulation_for_patient(session, record_id, audit=False, plan=plan.state)
    known = {s.record_id: list(s.history) for s in (plan.state, formulation.state) if s.record_id}
    records = [(kind, known.get(rid) or session.records.history(rid))
               for rid, kind in session.records.of_patient(record_id)]  # fmt: skip
    same_number = len(session.patients.others_with_nhs_number(record_id))
    return summary, history_rows(records, plan.staff), plan, formulation, same_number
