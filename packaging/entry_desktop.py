"""Frozen entry point of perfectcare-desktop (windowed): the same function the pip script calls.

PERFECTCARE_FIRST_PAINT_FILE is for packaging/build.sh only: it times the frozen app's cold start the
way bench/bench_ui.py times the source tree (spawn to the first window's first paint; the spawn time
comes in PERFECTCARE_SPAWNED_AT), writes the seconds to that file and quits. Unset, nothing of it runs.
"""

import os
import sys


def _time_first_paint(out_file: str, spawned: float) -> None:
    import time

    from PySide6.QtCore import QObject, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])

    def done() -> None:
        with open(out_file, "w", encoding="utf-8") as fh:
            fh.write(f"{time.time() - spawned}\n")
        app.quit()

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
            if event.type() == event.Type.Paint:
                obj.removeEventFilter(self)  # its children paint next; the timer fires after the flush
                QTimer.singleShot(0, done)
            return False

    first_paint = FirstPaint(app)

    def watch() -> None:  # at the first pass of the event loop the window is shown, not yet painted
        shown = [w for w in app.topLevelWidgets() if w.isVisible()]
        if not shown:
            QTimer.singleShot(0, watch)
            return
        shown[0].installEventFilter(first_paint)
        shown[0].update()

    QTimer.singleShot(0, watch)


if __name__ == "__main__":
    if os.environ.get("PERFECTCARE_FIRST_PAINT_FILE"):
        _time_first_paint(os.environ["PERFECTCARE_FIRST_PAINT_FILE"], float(os.environ["PERFECTCARE_SPAWNED_AT"]))

    from perfectcare_desktop.app import main

    sys.exit(main())
