"""Desktop shell benchmarks: prints figures, asserts nothing.

1. Cold start to the login window (process spawn to the window's first paint), as a ratio to a bare
   PySide6 window started and timed the same way.
2. Sign-in to caseload shown with 10,000 patients (key derivation reported separately).
3. Search keystroke latency at that size (type a name letter by letter, and an NHS number).
4. Resident memory with that caseload open.

Usage: .venv/bin/python bench/bench_ui.py [--patients 10000] [--reuse DIR] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ADMIN, PASSWORD = "bench", "bench password 1"

# Both children start the same way: this prelude makes the QApplication and prints the seconds from
# spawn to the end of the first paint of the first window (every widget in it painted and flushed:
# what a person sees), then quits. An event-loop pass alone is not enough: Qt paints a newly shown
# window a pass or more later, so work queued with a zero timer still runs before the window shows.
# The filter goes on the window only: an application-wide Python filter has every object that gets an
# event wrapped for Python, which costs the app (private Qt classes) far more than a bare window.
PRELUDE = """
import sys, time
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == event.Type.Paint:
            obj.removeEventFilter(self)  # its children paint next; the timer fires after the flush
            QTimer.singleShot(0, lambda: (print(time.time() - float(sys.argv[1]), flush=True), app.quit()))
        return False
first_paint = FirstPaint()
def watch():  # at the first pass of the event loop the window is shown, not yet painted
    shown = [w for w in app.topLevelWidgets() if w.isVisible()]
    if not shown:
        QTimer.singleShot(0, watch)
        return
    shown[0].installEventFilter(first_paint)
    shown[0].update()  # had it painted already, the next paint is timed: never earlier than the truth
QTimer.singleShot(0, watch)
"""

BARE = f"""{PRELUDE}
from PySide6.QtWidgets import QMainWindow
w = QMainWindow(); w.resize(1200, 800); w.show()
app.exec()
"""

APP = f"""{PRELUDE}
from perfectcare_desktop.app import main  # the real entry point, as the desktop shortcut starts it
sys.exit(main(["--data-dir", sys.argv[2]]))
"""


def _shown_after(code: str, *args: str, pycache: Path) -> float:
    """Seconds from spawning a fresh process to its first window painted (as printed by the child).

    Bytecode is cached in `pycache` (the first, warm-up, run writes it) as it is for an installed app:
    with PYTHONDONTWRITEBYTECODE set, every start would otherwise compile the app's modules afresh,
    a cost only the app pays, and no PC that has the app installed does.
    """
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": tempfile.mkdtemp(),
           "PYTHONPYCACHEPREFIX": str(pycache)}  # fmt: skip
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    spawned = time.time()
    out = subprocess.run([sys.executable, "-c", code, str(spawned), *args], check=True, env=env,
                         capture_output=True, text=True).stdout  # fmt: skip
    return float(out.split()[0])


def cold_start(data_dir: Path, runs: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="pc-bench-pyc-") as folder:
        pycache = Path(folder)
        # Warm the OS file cache and the bytecode cache, as on a PC's second start.
        _shown_after(BARE, pycache=pycache), _shown_after(APP, str(data_dir), pycache=pycache)
        bare, app = [], []
        for _ in range(runs):  # interleaved, so machine load hits both alike
            bare.append(_shown_after(BARE, pycache=pycache))
            app.append(_shown_after(APP, str(data_dir), pycache=pycache))
    return statistics.median(bare), statistics.median(app)


def build_store(folder: Path, patients: int) -> None:
    os.environ["PERFECTCARE_INSECURE_FAST_KDF"] = "1"
    from perfectcare_desktop.core.access.session import Session
    from perfectcare_desktop.core.demo.demo_data import add_demo_data
    from perfectcare_desktop.core.storage.store import Store

    store, _ = Store.create(folder, "Bench Trust", ADMIN, PASSWORD)
    t0 = time.perf_counter()
    add_demo_data(Session.sign_in(store, ADMIN, PASSWORD), patients, seed=1)
    print(f"built {patients:,} patients in {time.perf_counter() - t0:.1f} s (not a target)")
    store.close()


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def in_process(data_dir: Path) -> dict[str, object]:
    from PySide6.QtWidgets import QApplication

    from perfectcare_desktop.crypto import kdf
    from perfectcare_desktop.ui.main_window import MainWindow
    from perfectcare_desktop.ui.operation import Operations

    app = QApplication.instance() or QApplication([])
    from perfectcare_desktop.core.storage.store import Store

    store = Store.open(data_dir)
    ops = Operations()  # the real background worker, as in the app
    window = MainWindow(store, ops, {})
    window.resize(1200, 800)
    window.show()
    deadline = time.monotonic() + 30
    while not window._pages_built and time.monotonic() < deadline:  # made after the first paint,
        app.processEvents()  # while a person would be typing their password
        time.sleep(0.001)

    derive_times: list[float] = []
    real_derive = kdf.derive_key

    def timed_derive(*args: object, **kwargs: object) -> bytes:
        t = time.perf_counter()
        try:
            return real_derive(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            derive_times.append(time.perf_counter() - t)

    import perfectcare_desktop.crypto.vault as vault_module

    vault_module.derive_key = timed_derive  # type: ignore[assignment]
    page = window.login_page
    page.username.setText(ADMIN)
    page.password.setText(PASSWORD)
    t0 = time.perf_counter()
    page._submit()
    while not getattr(window, "_pages_built", False) or window.caseload_page.model.rowCount() == 0:
        app.processEvents()
        time.sleep(0.001)
    app.processEvents()  # paint
    unlock_total = time.perf_counter() - t0
    rows = window.caseload_page.model.rowCount()

    box = window.caseload_page.search_box
    rows_list = window.caseload_page.model.rows
    queries = []
    for r in rows_list[:: max(1, len(rows_list) // 20)][:20]:
        queries.append(r.patient.details.family_name)
        queries.append(r.patient.details.nhs_number_formatted)
    latencies = []
    for q in queries:
        box.clear()
        app.processEvents()
        for i in range(1, len(q) + 1):
            t = time.perf_counter()
            box.setText(q[:i])  # what one keystroke does: search, filter, repaint
            app.processEvents()
            latencies.append((time.perf_counter() - t) * 1000)
    box.clear()
    app.processEvents()
    memory = rss_mib()
    window.close()
    ops.wait()
    latencies.sort()
    return {
        "rows": rows,
        "unlock_total": unlock_total,
        "derive": sum(derive_times),
        "p50": latencies[len(latencies) // 2],
        "p95": latencies[int(len(latencies) * 0.95)],
        "max": latencies[-1],
        "keystrokes": len(latencies),
        "rss": memory,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--reuse", type=Path)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    folder = args.reuse or Path(tempfile.mkdtemp(prefix="pc-bench-ui-")) / "store"
    if not (folder / "perfectcare.sqlite3").exists():
        build_store(folder, args.patients)
    bare, app = cold_start(folder, args.runs)
    r = in_process(folder)
    met = {True: "met", False: "NOT met"}
    print(f"{'measure':44} {'figure':34} {'target':18}")
    print(f"{'cold start: bare PySide6 window':44} {bare * 1000:7.0f} ms (median of {args.runs})")
    print(f"{'cold start: PerfectCare to login window':44} {app * 1000:7.0f} ms")
    ratio = app / bare
    print(f"{'cold start ratio':44} {ratio:7.2f}x{'':26} {'<= 1.5x':18} {met[ratio <= 1.5]}")
    extra = r["unlock_total"] - r["derive"]  # type: ignore[operator]
    print(f"{'sign-in to caseload shown, ' + format(r['rows'], ',') + ' patients':44} "
          f"{r['unlock_total'] * 1000:7.0f} ms total, key derivation {r['derive'] * 1000:.0f} ms")  # fmt: skip
    print(f"{'  ... on top of key derivation':44} {extra * 1000:7.0f} ms{'':25} {'<= 1000 ms':18} {met[extra <= 1]}")
    print(f"{'search keystroke latency (' + str(r['keystrokes']) + ' keystrokes)':44} "
          f"p50 {r['p50']:.1f}  p95 {r['p95']:.1f}  max {r['max']:.1f} ms  {'p95 <= 30 ms':18} "
          f"{met[r['p95'] <= 30]}")  # fmt: skip
    print(f"{'resident memory, caseload open':44} {r['rss']:7.0f} MiB{'':24} {'<= 300 MB':18} {met[r['rss'] <= 286]}")
    print("(the 10k store uses PERFECTCARE_INSECURE_FAST_KDF for speed; real key derivation: bench_store.py)")


if __name__ == "__main__":
    main()
