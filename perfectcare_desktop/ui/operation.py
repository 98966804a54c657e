"""The one way widgets run work in the background: a callable on a worker thread, its result or its
error delivered back on the GUI thread. No widget is ever touched from a worker.

Two lanes, each one worker running one item at a time. The store lane (the default) runs everything
that uses the session — saves, opening patients, the caseload — so a session is never used by two
threads at once. The network lane runs only the sync controller's hub rounds (they use the store and
the data key, never the session), so a save never waits behind a round on a slow or silent hub. The
store is safe from both at once: each thread gets its own SQLite connection from SQLAlchemy's pool,
WAL lets reads go on beside a write, and writes queue for SQLite's lock (BEGIN IMMEDIATE, busy
timeout); a round never holds that lock while it waits for the hub.

The GUI thread never touches the store: every read and write, however small (an audit entry, an
autosave, the organisation's name), is a job on the store lane. Work that must happen at once on the
GUI thread and also write is split in two: `Session.forget()` forgets the key and the decrypted details
at once and returns the lock's audit write for the lane; `autosave.writer` and
`Session.event_recorder` seal or stamp now, with the key, and return the write. `run_latest` coalesces
work only whose newest call matters (autosaves: one waiting per record at most).

Tests pass `synchronous=True`: the callable runs inline and callbacks fire before `run` returns
(called directly, not through the signal). `in_job()` tells the tests' guard (tests/ui/conftest.py)
that such inline work stands for the worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

STORE, NETWORK = "store", "network"  # the lanes

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]

_job = threading.local()  # `running`: this thread is running a job's callable (a worker, or inline in tests)


def in_job() -> bool:
    """Whether the calling thread is running work handed to `Operations.run` (not a widget's own code).
    The tests' guard (tests/ui/conftest.py) uses it: store access on the GUI thread is allowed only there,
    that is, only when tests run jobs inline with `synchronous=True`."""
    return bool(getattr(_job, "running", False))


def _run_job(fn: Callable[[], Any]) -> Any:
    outer = in_job()
    _job.running = True
    try:
        return fn()
    finally:
        _job.running = outer


class _Relay(QObject):
    """Lives on the GUI thread; worker threads emit its signal, Qt queues the call to the GUI thread.

    The connection is Qt's default (automatic) one: a signal emitted on another thread than the
    receiver's is queued to the receiver's thread, exactly as an explicit queued connection would be.
    (Naming `Qt.ConnectionType` would build the whole `Qt` namespace, some 35 ms, before the first
    window shows.) Only `_Job.run`, on a worker thread, emits it.
    """

    finished = Signal(object, object, object)  # callback, value, error

    def __init__(self) -> None:
        super().__init__()
        self.finished.connect(self._deliver)

    @Slot(object, object, object)
    def _deliver(self, callbacks: tuple[Done | None, Failed | None, Callable[[], None]], value: Any,
                 error: BaseException | None) -> None:  # fmt: skip
        on_done, on_error, after = callbacks
        try:
            if error is not None:
                if on_error is None:
                    raise error
                on_error(error)
            elif on_done is not None:
                on_done(value)
        finally:
            after()


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay, callbacks: tuple) -> None:
        super().__init__()
        self.fn, self.relay, self.callbacks = fn, relay, callbacks

    def run(self) -> None:
        try:
            value, error = _run_job(self.fn), None
        except BaseException as exc:  # handed to the GUI thread, never lost in the worker
            value, error = None, exc
        self.relay.finished.emit(self.callbacks, value, error)


class Operations(QObject):
    def __init__(self, synchronous: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.synchronous = synchronous
        self._pools = {lane: self._one_worker() for lane in (STORE, NETWORK)}
        self._relay = _Relay()
        self._pending = 0
        self._latest: dict[Hashable, tuple[Callable[[], Any], Done | None, Failed | None]] = {}
        self._latest_guard = threading.Lock()  # _latest is taken from by the worker

    @property
    def busy(self) -> bool:
        """Work queued or running whose callbacks have not been delivered yet."""
        return self._pending > 0

    def _one_worker(self) -> QThreadPool:
        pool = QThreadPool(self)
        pool.setMaxThreadCount(1)
        return pool

    def run(self, fn: Callable[[], Any], on_done: Done | None = None, on_error: Failed | None = None,
            lane: str = STORE) -> None:  # fmt: skip
        """Run `fn` off the GUI thread, after what is queued on its lane; then `on_done(result)` or
        `on_error(exception)` on the GUI thread."""
        self._pending += 1
        callbacks = (on_done, on_error, self._finished_one)
        if self.synchronous:
            try:
                value, error = _run_job(fn), None
            except Exception as exc:
                value, error = None, exc
            self._relay._deliver(callbacks, value, error)
        else:
            self._pools[lane].start(_Job(fn, self._relay, callbacks))

    def run_latest(self, key: Hashable, fn: Callable[[], Any], on_done: Done | None = None,
                   on_error: Failed | None = None, lane: str = STORE) -> None:  # fmt: skip
        """Like `run`, coalesced by `key`: while a call for `key` waits its turn on the lane, a newer one
        takes its place (only the newest runs, with its own callbacks). So at most one waits per key,
        beside one running: work that only the newest result matters for (an autosave) never piles up."""
        with self._latest_guard:
            waiting = key in self._latest
            self._latest[key] = (fn, on_done, on_error)
        if waiting:
            return
        taken: list[tuple[Callable[[], Any], Done | None, Failed | None]] = []

        def newest() -> Any:
            with self._latest_guard:
                taken.append(self._latest.pop(key))
            return taken[0][0]()

        def done(value: Any) -> None:
            if taken[0][1] is not None:
                taken[0][1](value)

        def failed(error: BaseException) -> None:
            if taken[0][2] is None:
                raise error
            taken[0][2](error)

        self.run(newest, done, failed, lane)

    def _finished_one(self) -> None:
        self._pending -= 1

    def wait(self, msecs: int = 30000) -> bool:
        """Block until queued work on both lanes is done, or `msecs` have passed (shutdown and tests)."""
        end = time.monotonic() + msecs / 1000
        return all(pool.waitForDone(max(0, int((end - time.monotonic()) * 1000))) for pool in self._pools.values())
