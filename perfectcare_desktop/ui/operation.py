"""The one way widgets run work in the background: a callable on a worker thread, its result or its
error delivered back on the GUI thread. No widget is ever touched from a worker.

Store work runs one item at a time (a single worker), so a session is never used by two threads at
once. Tests pass `synchronous=True`: the callable runs inline and callbacks fire before `run` returns
(called directly, not through the signal).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


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
            value, error = self.fn(), None
        except BaseException as exc:  # handed to the GUI thread, never lost in the worker
            value, error = None, exc
        self.relay.finished.emit(self.callbacks, value, error)


class Operations(QObject):
    def __init__(self, synchronous: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.synchronous = synchronous
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay()
        self._pending = 0

    @property
    def busy(self) -> bool:
        """Work queued or running whose callbacks have not been delivered yet."""
        return self._pending > 0

    def run(self, fn: Callable[[], Any], on_done: Done | None = None, on_error: Failed | None = None) -> None:
        """Run `fn` off the GUI thread; then `on_done(result)` or `on_error(exception)` on the GUI thread."""
        self._pending += 1
        callbacks = (on_done, on_error, self._finished_one)
        if self.synchronous:
            try:
                value, error = fn(), None
            except Exception as exc:
                value, error = None, exc
            self._relay._deliver(callbacks, value, error)
        else:
            self._pool.start(_Job(fn, self._relay, callbacks))

    def _finished_one(self) -> None:
        self._pending -= 1

    def wait(self, msecs: int = 30000) -> bool:
        """Block until queued work is done (shutdown and tests)."""
        return self._pool.waitForDone(msecs)
