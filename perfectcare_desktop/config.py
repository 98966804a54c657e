"""Where the store lives. Machine policy layers arrive with the deployment work; for now:
--data-dir > PERFECTCARE_DATA_DIR > the user's data folder."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "PERFECTCARE_DATA_DIR"
APP_NAME = "PerfectCare Desktop"
APP_AUTHOR = "PerfectCare"


def default_data_dir() -> Path:
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, APP_AUTHOR, roaming=False))


def resolve_data_dir(cli_value: str | os.PathLike[str] | None) -> Path:
    return Path(cli_value).expanduser() if cli_value else default_data_dir()
