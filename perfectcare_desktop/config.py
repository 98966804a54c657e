"""Where the store lives (--data-dir > PERFECTCARE_DATA_DIR > the machine policy's shared store
folder > the user's data folder) and the user's own settings file. Machine policy is policy.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DATA_DIR_ENV = "PERFECTCARE_DATA_DIR"
APP_NAME = "PerfectCare Desktop"
APP_AUTHOR = "PerfectCare"


def default_data_dir() -> Path:
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    # As platformdirs would say (a test holds them equal), without its import before the first window.
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / APP_AUTHOR / APP_NAME
    if sys.platform.startswith("linux"):
        xdg = os.environ.get("XDG_DATA_HOME", "").strip()
        return (Path(xdg) if xdg else Path.home() / ".local" / "share") / APP_NAME
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, APP_AUTHOR, roaming=False))


def resolve_data_dir(cli_value: str | os.PathLike[str] | None, policy_value: str | None = None) -> Path:
    """--data-dir > PERFECTCARE_DATA_DIR > the machine policy's shared store folder > the user's."""
    if cli_value:
        return Path(cli_value).expanduser()
    if policy_value and not os.environ.get(DATA_DIR_ENV, "").strip():
        return Path(policy_value)
    return default_data_dir()


# --- user settings (no patient detail is ever stored here) -------------------------------------------
DEFAULT_IDLE_LOCK_MINUTES = 5


def user_settings_path() -> Path:
    """The user's settings file: platformdirs' roaming config folder. Worked out here for Windows and
    Linux (as platformdirs does; a test holds them equal) because importing platformdirs costs the
    first window some 8 ms; other systems ask platformdirs."""
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / APP_AUTHOR / APP_NAME / "settings.json"
    if sys.platform.startswith("linux"):
        xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
        base = Path(xdg) if xdg else Path.home() / ".config"
        return base / APP_NAME / "settings.json"
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, APP_AUTHOR, roaming=True)) / "settings.json"


def load_user_settings(path: Path | None = None) -> dict[str, object]:
    """Theme, idle-lock minutes and the like; a missing or unreadable file gives the defaults."""
    path = path or user_settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return {}
    import json  # only when there is a file (none until a setting is changed): 3 ms before the first paint

    try:
        data = json.loads(text)
    except ValueError:
        return {}
    except RecursionError:  # nested thousands deep: the defaults apply, as for a policy.json like it
        import logging

        logging.getLogger("perfectcare.config").warning("%s: nested too deeply to be a settings file; ignored.", path)
        return {}
    return data if isinstance(data, dict) else {}


def save_user_settings(values: dict[str, object], path: Path | None = None) -> None:
    import json

    path = path or user_settings_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2, sort_keys=True), encoding="utf-8")
    except OSError:
        pass  # a read-only profile must not stop anyone working; the defaults apply next time


def idle_lock_seconds(settings: dict[str, object]) -> int:
    value = settings.get("idle_lock_minutes", DEFAULT_IDLE_LOCK_MINUTES)
    minutes = value if isinstance(value, int | float) and 1 <= value <= 60 else DEFAULT_IDLE_LOCK_MINUTES
    return int(minutes * 60)


DEFAULT_REVIEW_MONTHS = 3


def review_interval_months(settings: dict[str, object]) -> int:
    """Months from signing a plan to its review date (the sign dialog's default; the clinician may change it)."""
    value = settings.get("review_interval_months", DEFAULT_REVIEW_MONTHS)
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 24
    return value if ok else DEFAULT_REVIEW_MONTHS  # type: ignore[return-value]
