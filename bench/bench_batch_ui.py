"""Is the window responsive while a team's batch prints? Prints figures, asserts nothing.

A store of --patients synthetic people (demo data: most have an agreed plan) is printed from the real
BatchPrintDialog on the real background worker, one file per person. Meanwhile a 10 ms timer on the GUI
thread records how late each tick fires: that lateness is how long a click or a key press would wait.
Printed: the batch's plans per second, and the GUI thread's tick lateness (p50, p95, max). Target
(a responsive window): p95 lateness under 50 ms, max under 200 ms.

Usage: .venv/bin/python bench/bench_batch_ui.py [--patients 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["PERFECTCARE_INSECURE_FAST_KDF"] = "1"  # a benchmark store, never a real one

from bench_store import percentile  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.demo.demo_data import add_demo_data  # noqa: E402
from perfectcare_desktop.core.storage.store import Store  # noqa: E402
from perfectcare_desktop.ui.batch_print import BatchPrintDialog  # noqa: E402
from perfectcare_desktop.ui.operation import Operations  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=300)
    args = parser.parse_args()
    app = QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-ui-"))
    store, _ = Store.create(folder / "store", "Bench Trust", "bench", "a long bench password")
    session = Session.sign_in(store, "bench", "a long bench password")
    add_demo_data(session, args.patients, seed=3)
    out = folder / "out"
    out.mkdir()

    ops = Operations()
    dialog = BatchPrintDialog(ops, lambda: session, [])
    dialog.show()
    dialog.per_person.setChecked(True)
    dialog.target.setText(str(out))
    lateness: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, (now - last[0]) * 1000 - 10))
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    t0 = time.perf_counter()
    dialog.start()
    while dialog.running:
        app.processEvents()
        time.sleep(0.001)
    elapsed = time.perf_counter() - t0
    timer.stop()
    ops.wait()
    result = dialog.batch_result
    if result is None:
        print("the batch failed:", dialog.message.text())
        return
    print(f"batch: {result.printed} plans in {elapsed:.1f} s = {result.printed / elapsed:.1f} plans/s "
          f"({len(list(out.iterdir()))} files)")  # fmt: skip
    p95, worst = percentile(lateness, 95), max(lateness)
    verdict = "met" if p95 < 50 and worst < 200 else "NOT met"
    print(f"GUI thread lateness over {len(lateness)} ticks: p50 {statistics.median(lateness):.1f}  p95 {p95:.1f}  "
          f"max {worst:.1f} ms   (target p95 < 50 ms, max < 200 ms) {verdict}")  # fmt: skip
    store.close()


if __name__ == "__main__":
    main()
