"""Idle auto-lock: any key or mouse activity resets the clock; after the idle time, `idle` fires once.

The clock is injectable (seconds, monotonic) so tests move time instead of waiting five minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer, Signal

_ACTIVITY = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseMove,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}


class IdleWatcher(QObject):
    idle = Signal()

    def __init__(self, idle_seconds: int, clock: Callable[[], float] = time.monotonic,
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._last = clock()
        self._armed = True
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() in _ACTIVITY:
            self.touch()
        return False

    def touch(self) -> None:
        self._last = self._clock()
        self._armed = True

    def check(self) -> None:
        if self._armed and self._clock() - self._last >= self.idle_seconds:
            self._armed = False  # fire once per idle period
            self.idle.emit()
