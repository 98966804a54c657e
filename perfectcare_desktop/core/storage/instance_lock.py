"""One app instance per store: a second window on the same store is refused, not allowed to race.

An OS file lock (flock on POSIX, msvcrt on Windows) is released by the OS when the process dies, so a
crash never leaves the store "locked" for ever. The lock file holds no patient detail.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ...errors import PerfectCareError

LOCK_NAME = "app.lock"


class StoreInUse(PerfectCareError):
    pass


class InstanceLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise StoreInUse(
                "PerfectCare Desktop is already open on this store (in another window, or by another user of "
                "this PC). Switch to that window, or close it first. Nothing has been changed."
            ) from exc
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
