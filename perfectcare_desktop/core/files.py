"""Writing files so that a crash or a full disk never leaves a half-written one behind."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from ..errors import StoreNotWritable


def atomic_write(destination: Path, data: bytes) -> None:
    """Write to a hidden side file, fsync, then rename over the destination in one step."""
    destination = Path(destination)
    if destination.is_dir():
        raise StoreNotWritable(f"{destination} is a folder; give a file name.")
    tmp = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.partial")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, destination)
    except OSError as exc:
        raise StoreNotWritable(f"Cannot write {destination}: {exc.strerror or exc}. Nothing was written.") from exc
    finally:
        tmp.unlink(missing_ok=True)


def ensure_writable_folder(folder: Path) -> None:
    """Create the folder if needed and prove a file can be written in it (raises OSError if not).

    os.access is not enough: it says yes to root, and knows nothing of full disks or network shares."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".write-test-{uuid.uuid4().hex}"
    probe.write_bytes(b"")
    probe.unlink()
