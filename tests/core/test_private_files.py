"""Exports and backups are owner-only from the first byte (issue 17 part 5): 0600 on POSIX, a protected
owner-only ACL on Windows. CI runs Linux, so the Windows path is type-checked against Windows' own
library types here, and run for real where the tests run on Windows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from perfectcare_desktop.core.storage import files


def test_a_private_file_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)  # the most permissive umask a PC could have
    try:
        files.atomic_write(tmp_path / "export.json", b"{}", overwrite=False)
    finally:
        os.umask(old)
    if os.name != "nt":
        assert (tmp_path / "export.json").stat().st_mode & 0o777 == 0o600


def test_the_windows_acl_code_type_checks_as_windows() -> None:
    """mypy with --platform win32 reads ctypes.WinDLL, wintypes and msvcrt as Windows has them."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--platform", "win32", "--no-incremental", files.__file__],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(os.name != "nt", reason="Windows ACLs")
def test_on_windows_the_file_has_only_its_owner_in_a_protected_acl(tmp_path: Path) -> None:  # pragma: no cover
    path = tmp_path / "export.json"
    files.atomic_write(path, b"{}", overwrite=False)
    shown = subprocess.run(["icacls", str(path)], capture_output=True, text=True, check=True).stdout
    lines = [line.strip() for line in shown.splitlines()[:-2] if line.strip()]
    assert len(lines) == 1 and "(I)" not in shown, shown  # one ACE, nothing inherited
    assert "OWNER RIGHTS:(F)" in lines[0], shown
