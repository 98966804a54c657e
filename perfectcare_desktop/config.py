"""Where the store lives (--data-dir > PERFECTCARE_DATA_DIR > the machine policy's shared store
folder > the user's data folder) and the user's own settings file. Machine policy is policy.py."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .settings_schema import BY_NAME, PolicyValueError, user_choices

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
# Declared once in settings_schema.py (defaults, checks, which ones a user may choose).
DEFAULT_IDLE_LOCK_MINUTES: int = BY_NAME["idle_lock_minutes"].default
DEFAULT_REVIEW_MONTHS: int = BY_NAME["review_interval_months"].default


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


def save_user_settings(values: Mapping[str, object], path: Path | None = None, *,
                       policy_values: Mapping[str, object] | None = None) -> None:  # fmt: skip
    """Write the user's choices: only settings a user may choose, valid and not null; from a merged
    dict (as the old save passed), never a policy's value: a policy removed later must stop applying.
    `policy_values`: the values policy sets now, if the caller has read them (else read here)."""
    import json

    if policy_values is None:
        from .policy import default_registry, load_settings

        policy_values = load_settings({}, default_registry()).policy_values()
    choices, _problems = user_choices(values, policy_values)
    path = path or user_settings_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(choices, indent=2, sort_keys=True), encoding="utf-8")
    except OSError:
        pass  # a read-only profile must not stop anyone working; the defaults apply next time


def save_user_choice(name: str, value: object, path: Path | None = None) -> dict[str, object]:
    """The user chose `value` for `name` (View > theme, ...): their file keeps their earlier choices
    and this one, read afresh (another window may have saved since), cleaned against the policy in
    force so that what an old save copied in is dropped. Returns what was saved."""
    from .policy import default_registry, load_settings

    in_force = load_settings(load_user_settings(path), default_registry())
    choices: dict[str, object] = {**in_force.user_choices, name: value}
    save_user_settings(choices, path, policy_values=in_force.policy_values())
    return choices


def idle_lock_seconds(settings: Mapping[str, object]) -> int:
    minutes: int = _valid(settings, "idle_lock_minutes")  # declared a WholeNumber (settings_schema)
    return minutes * 60


def review_interval_months(settings: Mapping[str, object]) -> int:
    """Months from signing a plan to its review date (the sign dialog's default; the clinician may change it)."""
    months: int = _valid(settings, "review_interval_months")  # declared a WholeNumber (settings_schema)
    return months


def _valid(settings: Mapping[str, object], name: str) -> Any:
    """The setting's value in `settings` if its declaration accepts it, else its default."""
    spec = BY_NAME[name]
    try:
        return spec.check(settings.get(name, spec.default))
    except PolicyValueError:
        return spec.default
