"""Sync with the hub from the app: rounds in the background and what the status bar says of them.

One controller per window. On an enrolled PC with a session unlocked it runs a round on the operation
helper's network lane (so saves never wait behind a round) every minute and a few seconds after each
save (debounced), never two at once and never while locked: locking cancels a round in flight and
drops its result (the round needs the data key; rounds resume at unlock). A hub that cannot be
reached is tried again after an exponential back-off with full jitter; a hub that refuses this PC is
not retried on its own (Sync now still tries). A PC that is not enrolled runs nothing and says so.

The status bar reads "Last synced 14:02 · 3 waiting · 1 needs attention"; its tooltip lists what the
hub refused and what from the hub failed checks (ids and reasons: never patient detail). A clock more
than five minutes from the hub's is said in both, with what to do.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QStatusBar

from ..errors import PerfectCareError
from .operation import NETWORK, Operations

if TYPE_CHECKING:
    from datetime import datetime

    from PySide6.QtGui import QAction

    from ..core.access.session import Session
    from ..core.storage.store import Store
    from ..sync.client import RoundReport
    from ..sync.status import Names, SyncStatus

NOT_SET_UP = "Sync: not set up (this PC keeps its own store)"
PERIOD_MS = 60_000  # a round every minute while unlocked
AFTER_SAVE_MS = 3_000  # and this long after the last save (saves in a burst make one round)
FIRST_MS = 1_000  # after signing in or unlocking: once the caseload has loaded
MAX_PROBLEMS_SHOWN = 10


@dataclass(frozen=True)
class Outcome:
    """What a round left, read on the worker: its report or its error, the status, the problems."""

    report: RoundReport | None
    error: PerfectCareError | None
    status: SyncStatus
    problems: tuple[str, ...]


def read_state(store: Store, names: Names | None = None) -> tuple[SyncStatus, tuple[str, ...]]:
    """The status and what sync could not do (in sentences, naming people from `names`: a snapshot taken
    on the GUI thread, so the worker never touches the session); no key."""
    from ..sync import status

    return status.read(store), tuple(status.problems(store, names))


def _round(client: Any, store: Store, dek: Any, cancelled: threading.Event, names: Names | None,
           admin: bool = False) -> Outcome | None:  # fmt: skip
    """One round, on the network lane; a sync error is an outcome to show, not an exception. None when
    the window locked before the round began: it never runs with the key after a lock."""
    from ..errors import SyncError
    from ..sync import status

    if cancelled.is_set():
        return None
    try:
        report = client.round(dek, admin=admin)  # an admin's PC pulls every PC's audit trail too
    except SyncError as exc:
        return Outcome(None, exc, *read_state(store, names))
    return Outcome(report, None, report.status, tuple(status.problems(store, names)))


class SyncController(QObject):
    pulled = Signal(object)  # a RoundReport that brought changes: the window refreshes what it shows

    def __init__(self, ops: Operations, status_bar: QStatusBar, label: QLabel, action: QAction,
                 parent: QObject | None = None, clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        """`label`: the status bar's sync line (a click on it syncs now); `action`: File > Sync now (F9),
        whose slot calls `sync_now`. A small Sync now button joins them in the status bar."""
        super().__init__(parent)
        from ..sync.backoff import Backoff

        self.hub_url: str | None = None  # machine policy's hub address, overriding the enrolment's
        self.read_url: str | None = None  # machine policy's read replica of the hub, for pulls

        self.ops, self.label, self.action = ops, label, action
        self.button = QPushButton("Sync now (F9)", status_bar)
        self.button.setObjectName("sync_now")
        self.button.setAccessibleName("Sync now")
        self.button.hide()
        status_bar.addPermanentWidget(self.button)
        self._clock = clock
        self.period_ms, self.after_save_ms, self.first_ms = PERIOD_MS, AFTER_SAVE_MS, FIRST_MS
        self.backoff = Backoff()
        self.enrolled = False
        self.rounds = 0  # rounds started (tests and the log read it)
        self._store: Store | None = None
        self._session: Session | None = None
        self._client: Any = None  # one SyncClient for the store, kept between rounds (its connection too)
        self._running = False
        self._again = False  # a save or Sync now came during a round: one more right after it
        self._manual = False  # the running round was asked for: say "Syncing…"
        self._status: SyncStatus | None = None
        self._problems: tuple[str, ...] = ()
        self._failure: str | None = None
        self._unreachable = False
        self._refused = False
        self._retry_at: float | None = None
        self._cancelled = threading.Event()  # the running round's: set when locking drops it

        self._next = QTimer(self)
        self._next.setSingleShot(True)
        self._next.timeout.connect(self._due)
        self._tick = QTimer(self)  # the "retrying in N s" countdown
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._render)
        label.installEventFilter(self)  # a click on the sync line
        self.button.clicked.connect(self.sync_now)
        self._render()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.label and event.type() == QEvent.Type.MouseButtonRelease and self.enrolled:
            self.sync_now()
        return False

    # --- the window's events --------------------------------------------------------------------------
    def store_ready(self, store: Store) -> None:
        """The store is open: say whether this PC syncs (read without a key, so before sign-in too)."""
        self._store = store
        self.ops.run(lambda: read_state(store), self._state_read, self._read_failed)

    def start(self, session: Session) -> None:
        """Signed in or unlocked: rounds may run (the first soon, to fetch what others saved)."""
        self._session = session
        self._store = session.store
        if self.enrolled and not self._refused:
            self._schedule(self.first_ms)
        elif not self.enrolled:
            store = session.store

            def read() -> Any:
                return read_state(store)

            self.ops.run(read, lambda state: self._state_read(state, start=True), self._read_failed)
        self._render()

    def pause(self) -> None:
        """Locked: no round until unlock. A round in flight is cancelled (its hub statement too) and its
        result dropped; nothing follows it. The back-off count is kept; unlocking tries once, soon."""
        if self._running:
            self._cancelled.set()  # before cancel: whatever the round returns now is dropped
            self._client.cancel()  # returns at once; the round ends on the network lane
            self._running = self._manual = False
        self._session = None
        self._next.stop()
        self._tick.stop()
        self._again = False
        self._retry_at = None
        self._render()

    def stop(self) -> None:
        """Signed out or quitting: pause, and close the hub connection on the worker, after any round."""
        self.pause()
        client, self._client = self._client, None
        if client is not None:
            self.ops.run(client.close, lane=NETWORK)  # after the round it may still be ending

    def local_change(self) -> None:
        """Something was saved here: show it waiting, and send it in a few seconds."""
        store = self._store
        if not self.enrolled or store is None or self._session is None:
            return
        names = self._names()
        self.ops.run(lambda: read_state(store, names), self._state_read, self._read_failed)
        if self._refused or self._retry_at is not None:
            return  # no automatic rounds while refused; a failing hub keeps its back-off
        if self._running:
            self._again = True
        else:
            self._schedule(self.after_save_ms)

    def sync_now(self) -> None:
        """F9, the button, a click on the status: a round at once, back-off forgotten."""
        if not self.enrolled or self._session is None or self._session.locked:
            return
        self.backoff.succeeded()
        self._retry_at = None
        self._tick.stop()
        self._manual = True
        if self._running:
            self._again = True  # after the round on the worker now; never a second one queued behind it
            self._render()
            return
        self._run()

    # --- rounds ----------------------------------------------------------------------------------------
    def _schedule(self, ms: float) -> None:
        self._next.start(max(0, int(ms)))

    def _due(self) -> None:
        if self._running:
            self._again = True
        else:
            self._run()

    def _run(self) -> None:
        session = self._session
        if session is None or session.locked or not self.enrolled:
            return
        from ..sync.client import SyncClient

        store, dek = session.store, session.require_unlocked()  # the key is taken here, on the GUI thread
        if self._client is None:
            self._client = SyncClient(store, self.hub_url, self.read_url)
        client = self._client
        self._running = True
        self._cancelled = cancelled = threading.Event()
        self._next.stop()
        self.rounds += 1
        self._render()
        names, admin = self._names(), session.is_admin
        self.ops.run(
            lambda: _round(client, store, dek, cancelled, names, admin),
            lambda outcome: self._round_done(outcome, cancelled, named=names is not None),
            lambda error: self._round_failed(error, cancelled),
            lane=NETWORK,
        )

    def _names(self) -> Names | None:
        """Who each patient is, for the problems' sentences: only while there are problems to name (or
        none known yet), as a snapshot of the caseload in memory taken here on the GUI thread, so it
        is never a decryption and the worker never touches the session. Otherwise they say 'a patient'."""
        session, st = self._session, self._status
        if session is None or session.locked or not session.patients.loaded:
            return None
        if st is not None and not (st.parked or st.rejected):
            return None  # nothing to name: no snapshot of every patient on every round
        from ..sync import status

        return status.patient_names(session)

    def _round_done(self, outcome: Outcome | None, cancelled: threading.Event, named: bool = False) -> None:
        from ..errors import HubAccessRefused, HubUnreachable, NotEnrolled

        if cancelled.is_set() or outcome is None:
            return  # cancelled at lock: nothing of it is shown or acted on
        self._running = False
        manual, self._manual = self._manual, False
        again, self._again = self._again, False
        self._status, self._problems = outcome.status, outcome.problems
        if not named and (outcome.status.parked or outcome.status.rejected) and (names := self._names()):
            store = self._store  # problems found this round: say them again with the people named
            assert store is not None  # set by store_ready()/start(), before any round
            self.ops.run(lambda: read_state(store, names), self._state_read, self._read_failed)
        error = outcome.error
        next_ms: float | None = self.period_ms
        if error is None:
            self.backoff.succeeded()
            self._failure, self._unreachable, self._refused, self._retry_at = None, False, False, None
            self._tick.stop()
            if again:
                next_ms = 0
            report = outcome.report
            if report is not None and (report.pulled or report.accounts):
                self.pulled.emit(report)
        elif isinstance(error, NotEnrolled):
            self.enrolled = False
            next_ms = None
        elif isinstance(error, HubAccessRefused):
            self._failure, self._refused, self._unreachable, self._retry_at = str(error), True, False, None
            self._tick.stop()
            next_ms = None  # an administrator must act; retrying would only be refused again
        else:
            self._failure, self._refused = str(error), False
            self._unreachable = isinstance(error, HubUnreachable)
            if manual and again:
                next_ms = 0  # Sync now pressed again during a failing round: try once more at once
                self._retry_at = None
            else:
                delay = self.backoff.failed()
                self._retry_at = self._clock() + delay
                next_ms = delay * 1000
                self._tick.start()
        if self._session is not None and not self._session.locked and next_ms is not None:
            self._schedule(next_ms)
        self._render()

    def _round_failed(self, error: BaseException, cancelled: threading.Event) -> None:
        """Not a sync error: the store itself failed, or a bug. Shown, retried later, never silent (a round
        cancelled at lock is not retried, but a bug in it is still raised)."""
        if cancelled.is_set():
            if not isinstance(error, PerfectCareError):
                raise error
            return
        self._running = False
        self._manual = self._again = False
        self._failure, self._unreachable = str(error) or type(error).__name__, False
        delay = self.backoff.failed()
        self._retry_at = self._clock() + delay
        self._tick.start()
        if self._session is not None and not self._session.locked:
            self._schedule(delay * 1000)
        self._render()
        if not isinstance(error, PerfectCareError):
            raise error

    def _state_read(self, state: tuple[SyncStatus, tuple[str, ...]], start: bool = False) -> None:
        self._status, self._problems = state
        was = self.enrolled
        self.enrolled = state[0].enrolled
        unlocked = self._session is not None and not self._session.locked
        if self.enrolled and (start or not was) and unlocked and not self._running and not self._refused:
            self._schedule(self.first_ms)
        self._render()

    def _read_failed(self, error: BaseException) -> None:
        if not isinstance(error, PerfectCareError):
            raise error
        self._failure = str(error)
        self._render()

    # --- what the status bar says ------------------------------------------------------------------------
    def text(self) -> str:
        from ..sync import status

        if not self.enrolled:
            return NOT_SET_UP
        st = self._status
        failing = self._failure is not None
        if self._running and self._manual:
            head = "Syncing…"
        elif self._refused:
            head = "Sync stopped: the hub refused this PC (ask an administrator)"
        elif failing and self._retry_at is not None:
            what = "Hub unreachable" if self._unreachable else "Sync failed"
            seconds = math.ceil(self._retry_at - self._clock())
            head = f"{what} — retrying in {seconds} s" if seconds > 0 else f"{what} — retrying now"
        elif st is not None and st.last_synced is not None:
            head = f"Last synced {self._when(st.last_synced)}"
        else:
            head = "Not yet synced"
        parts = [head]
        if st is not None:
            if st.waiting:
                parts.append(f"{st.waiting:,} waiting")
            elif head.startswith("Last synced"):
                parts.append("all sent")
            if st.parked:
                parts.append(f"{st.parked:,} refused by the hub")
            if st.rejected:
                parts.append(f"{st.rejected:,} from the hub failed checks")
            if st.needs_attention:
                parts.append(f"{st.needs_attention:,} {'needs' if st.needs_attention == 1 else 'need'} attention")
            if warning := status.clock_warning(st.clock_skew):
                parts.append(warning)
        return " · ".join(parts)

    def details(self) -> str:
        """The tooltip: the last failure in full, the counts in words, what the hub refused and why."""
        from ..sync import status

        if not self.enrolled:
            return ""
        st = self._status
        lines = []
        if self._failure:
            lines.append(self._failure)
        if st is not None:
            if warning := status.clock_warning(st.clock_skew):
                lines.append(f"{warning} ({status.CLOCK_CONSEQUENCE}).")
            if st.last_synced is not None:
                lines.append(f"Last synced {st.last_synced:%d %b %Y %H:%M}.")
            if st.waiting:
                lines.append(f"{st.waiting:,} changes made here are waiting to be sent to the hub.")
            if st.needs_attention:
                records = "1 record was" if st.needs_attention == 1 else f"{st.needs_attention:,} records were"
                lines.append(
                    f"{records} saved on two PCs at once: both versions are kept. The caseload's 'Needs attention' "
                    "filter finds the patients; open one to compare and merge."
                )
        lines += self._problems[:MAX_PROBLEMS_SHOWN]
        if len(self._problems) > MAX_PROBLEMS_SHOWN:
            lines.append(f"…and {len(self._problems) - MAX_PROBLEMS_SHOWN:,} more (perfectcare-admin sync lists them).")
        lines.append("Click here, or press F9, to sync now.")
        return "\n".join(lines)

    def _when(self, at: datetime) -> str:
        """14:02 today; 26 Nov 14:02 before (the store's clock: the one that wrote it)."""
        today = self._store.clock.now().date() if self._store is not None else at.date()
        return f"{at:%H:%M}" if at.date() == today else f"{at:%d %b %H:%M}"

    def _render(self) -> None:
        text = self.text()
        self.label.setText(text)
        self.label.setAccessibleDescription(text)
        self.label.setToolTip(self.details())
        if self.enrolled:
            self.label.setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            self.label.unsetCursor()
        self.button.setVisible(self.enrolled)
        self.button.setEnabled(self._session is not None and not self._running)
        self.action.setVisible(self.enrolled)
        if self._retry_at is None or self._refused:
            self._tick.stop()
