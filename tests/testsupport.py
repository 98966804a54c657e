"""Constants and fakes the tests share. Imported by name (`from testsupport import ...`), not from
`conftest`: each test folder may have a conftest.py of its own, and only one module can be called that."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

ADMIN = "admin1"
ADMIN_PASSWORD = "correct horse battery"
ORG = "Test NHS Foundation Trust"


class FakeClock:
    """A clock tests move by hand, so lockout and due dates need no real waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 27, 9, 0, 0)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


# --- the installed admin CLI, as a script runs it -----------------------------------------------------------
CLI_PASSWORD = "correct horse battery"
ADMIN_EXE = Path(sys.executable).with_name("perfectcare-admin")


def admin_cli(data_dir: Path, *args: str, stdin: str | bytes = CLI_PASSWORD + "\n", env: dict[str, str] | None = None,
              user: bool = True) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """`perfectcare-admin ARGS --data-dir DIR [--user boss] --password-stdin` with `stdin` (bytes: as a
    terminal that is not UTF-8 would send them); output as text either way."""
    who = ["--user", "boss"] if user and args[0] != "init" else []
    raw = isinstance(stdin, bytes)
    result = subprocess.run(
        [str(ADMIN_EXE), *args, "--data-dir", str(data_dir), *who, "--password-stdin"],
        input=stdin,
        capture_output=True,
        text=not raw,
        timeout=120,
        env=env,
    )
    if raw:  # keep the assertions alike: the CLI writes UTF-8 (or ASCII) sentences
        result.stdout = result.stdout.decode("utf-8", "replace")
        result.stderr = result.stderr.decode("utf-8", "replace")
    return result  # type: ignore[return-value]
