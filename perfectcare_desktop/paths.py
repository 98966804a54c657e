"""File names inside a data folder. Kept free of heavy imports: the app checks them before showing
its first window, long before the database libraries are loaded."""

from __future__ import annotations

from pathlib import Path

DB_NAME = "perfectcare.sqlite3"
BACKUP_DIR = "backups"


def db_path(data_dir: Path) -> Path:
    return Path(data_dir) / DB_NAME
