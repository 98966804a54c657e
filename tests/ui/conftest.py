"""Every UI test is watched: the GUI thread never touches the store (issue 17 part 2).

The guard wraps the engine's `connect` and `raw_connection` (every store transaction, `Store.reading`
and `Store.writing` included, and every `store.meta(...)`, goes through them) for SQLite engines, and
records each call made on the main thread by widget code (a frame under perfectcare_desktop/ui/ that is
a method of a Qt object, or a function or lambda made inside one: a slot, a callback) unless it runs
inside a job handed to `Operations.run` (with `synchronous=True` the job runs inline on the test's
thread, yet it stands for the worker). So a test that seeds data through core on its own thread, or
calls a worker helper such as `plan_tab.load_for_patient` to set up, does not trip it; a click, key
or timer that makes a widget read or write the store does. The test fails at teardown (after its
windows are closed, so quitting is watched too), naming each path once: widget code > core > store.
A test double for Operations must run its work through `Operations(synchronous=True).run`.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox
from sqlalchemy.engine import Engine

import perfectcare_desktop
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.ui import operation
from perfectcare_desktop.ui.main_window import MainWindow
from perfectcare_desktop.ui.operation import Operations

PACKAGE = Path(perfectcare_desktop.__file__).resolve().parent
UI = PACKAGE / "ui"
OPERATION = Path(operation.__file__).resolve()
_paths: dict[str, Path] = {}


def _path(frame: FrameType) -> Path:
    name = frame.f_code.co_filename
    path = _paths.get(name)
    if path is None:
        path = _paths[name] = Path(name).resolve()
    return path


def _widget_frame(frame: FrameType) -> bool:
    """Widget code: a method of a Qt object, or a function made inside one (a slot's lambda, a callback),
    in a module under ui/. Not a module's own function (a worker helper, which tests call to set up)."""
    path = _path(frame)
    if path.parent != UI or path == OPERATION:
        return False
    code = frame.f_code
    return (
        "<locals>" in code.co_qualname or code.co_name == "<lambda>" or isinstance(frame.f_locals.get("self"), QObject)
    )


def gui_thread_store_access(frame: FrameType | None) -> str | None:
    """The path (widget method > ... > store) when this access is widget code on the GUI thread outside
    a job; else None."""
    if threading.current_thread() is not threading.main_thread() or operation.in_job():
        return None
    chain: list[FrameType] = []
    while frame is not None:
        if PACKAGE in _path(frame).parents:
            chain.append(frame)
        frame = frame.f_back
    widget = [i for i, f in enumerate(chain) if _widget_frame(f)]
    if not widget:
        return None
    shown = chain[: widget[-1] + 1]  # innermost first, up to the outermost widget method
    return " > ".join(f"{_path(f).relative_to(PACKAGE).as_posix()}:{f.f_code.co_name}" for f in reversed(shown))


class StoreOnGuiThread:
    def __init__(self) -> None:
        self.found: Counter[str] = Counter()

    def wrap(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def watched(engine: Engine, *args: Any, **kwargs: Any) -> Any:
            if engine.dialect.name == "sqlite":
                where = gui_thread_store_access(sys._getframe(1))
                if where is not None:
                    self.found[where] += 1
            return real(engine, *args, **kwargs)

        return watched


@pytest.fixture(autouse=True)
def gui_thread_never_touches_the_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[StoreOnGuiThread]:
    guard = StoreOnGuiThread()
    monkeypatch.setattr(Engine, "connect", guard.wrap(Engine.connect))
    monkeypatch.setattr(Engine, "raw_connection", guard.wrap(Engine.raw_connection))
    yield guard
    if guard.found:
        lines = "\n".join(f"  {where}  (x{n})" for where, n in sorted(guard.found.items()))
        pytest.fail(f"the GUI thread touched the store outside Operations.run:\n{lines}", pytrace=False)


@pytest.fixture
def live_window(qtbot, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    """The window on the real background worker, as the app runs it."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    ops = Operations()
    win = MainWindow(store, ops, {"idle_lock_minutes": 5}, idle_clock=lambda: 1000.0)
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitActive(win)
    yield win
    ops.wait()
