"""Starting the app: self-test, one instance per store, a damaged store explained (never a crash)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from perfectcare_desktop.core.storage.instance_lock import InstanceLock
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.ui.main import run_app

DESKTOP = Path(sys.executable).with_name("perfectcare-desktop")


def self_test(data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "", "DISPLAY": ""}  # headless, as on a build server
    return subprocess.run([str(DESKTOP), "--self-test", "--data-dir", str(data_dir)], capture_output=True, text=True,
                          env=env, timeout=120)  # fmt: skip


def test_self_test_reports_each_check(tmp_path: Path) -> None:
    result = self_test(tmp_path / "data")
    lines = result.stdout.splitlines()
    assert any(line.startswith("ok    Qt: Qt 6.") and "offscreen" in line for line in lines), result.stdout
    assert any(line.startswith("ok    crypto:") and "AES-256-GCM" in line for line in lines)
    assert any(line.startswith("ok    data folder:") for line in lines)
    failed = [line for line in lines if line.startswith("FAIL")]
    assert result.returncode == (1 if failed else 0)
    assert lines[-1] == ("self-test passed" if not failed else f"self-test FAILED: {len(failed)} problem(s)")


def test_self_test_fails_clearly_for_an_unusable_data_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = self_test(blocker / "data")
    assert result.returncode == 1
    assert any(line.startswith("FAIL  data folder: cannot create or write") for line in result.stdout.splitlines())
    assert "Traceback" not in result.stdout + result.stderr


@pytest.fixture
def messages(qapp, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda _parent, _title, text, *a: shown.append(text))
    palette, sheet = qapp.palette(), qapp.styleSheet()  # run_app applies the theme to the shared app
    yield shown
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)


def test_a_second_instance_on_the_same_store_is_refused(qtbot, store: Store, data_dir: Path, messages) -> None:
    before = (data_dir / "perfectcare.sqlite3").read_bytes()
    with InstanceLock(data_dir):  # the first window
        assert run_app(data_dir, ["perfectcare-desktop"]) == 1
    assert "already open on this store" in messages[0]
    assert (data_dir / "perfectcare.sqlite3").read_bytes() == before


def test_a_damaged_store_is_explained_not_crashed(qtbot, tmp_path: Path, messages) -> None:
    data_dir = tmp_path / "store"
    data_dir.mkdir()
    (data_dir / "perfectcare.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\x01" * 200)
    assert run_app(data_dir, ["perfectcare-desktop"]) == 1
    assert "damaged" in messages[0] and "restore" in messages[0]


def test_a_read_only_store_folder_is_explained(
    qtbot, store: Store, data_dir: Path, messages, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests run as root, who can write anything: the read-only check itself is what is faked here."""
    import perfectcare_desktop.store.database as database

    store.close()
    monkeypatch.setattr(database, "_is_writable", lambda _path: False)
    assert run_app(data_dir, ["perfectcare-desktop"]) == 1
    assert "cannot be written" in messages[0] and "read-only" in messages[0]
