"""A failed `enrol export` leaves no live hub role (issue 17): a role that can log in to the hub with
nobody holding its password is a door left open. Real PostgreSQL (tests/pg_cluster.py)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sync_support import PASSPHRASE, first_pc
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.storage import files
from perfectcare_desktop.errors import InvalidInput
from perfectcare_desktop.sync import enrolment

ADMIN_EXE = Path(sys.executable).with_name("perfectcare-admin")


def hub_state(hub_url: str) -> tuple[set[str], set[str]]:
    """(login roles, device rows) on the hub."""
    with psycopg.connect(hub_url) as conn:
        roles = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolcanlogin AND rolname LIKE 'pc_%'")}
        devices = {r[0] for r in conn.execute("SELECT device_id::text FROM devices")}
    return roles, devices


def test_an_export_to_a_missing_folder_makes_no_role(hub_db: str, tmp_path: Path) -> None:
    a = first_pc(tmp_path / "a", hub_db)
    data_dir = a.store.data_dir
    a.store.close()
    before = hub_state(hub_db)
    out = tmp_path / "no-such-usb-stick" / "ward5.enrol"
    result = subprocess.run(
        [str(ADMIN_EXE), "enrol", "export", "--admin-url", hub_db, "--out", str(out), "--data-dir", str(data_dir),
         "--user", ADMIN, "--password-stdin"],
        input=f"{ADMIN_PASSWORD}\n{PASSPHRASE}\n", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "does not exist" in result.stderr and "unexpected internal error" not in result.stderr
    assert hub_state(hub_db) == before
    assert not out.exists()


def test_a_disk_full_while_writing_drops_the_new_role(
    hub_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = first_pc(tmp_path / "a", hub_db)
    before = hub_state(hub_db)

    def full(path: Path, data: bytes, *, private: bool = True) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(files, "write_new_private", full, raising=False)  # (the old code wrote without it)
    out = tmp_path / "ward5.enrol"
    with pytest.raises(InvalidInput, match="No space left on device.*hub role made for it was removed"):
        enrolment.export_file(a.session, hub_db, out, PASSPHRASE)
    assert hub_state(hub_db) == before  # no role that can log in, no device row
    assert not out.exists() and not list(tmp_path.glob(".ward5.enrol*"))
    monkeypatch.undo()
    device_id = enrolment.export_file(a.session, hub_db, out, PASSPHRASE)  # the disk freed: it works
    assert device_id in hub_state(hub_db)[1]
    a.store.close()
