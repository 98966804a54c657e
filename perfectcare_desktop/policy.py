"""Machine policy: settings an admin pushes to ward PCs, layered over the user's own.

Order, first found wins: Windows policy registry (HKLM, then HKCU, under
`Software\\Policies\\PerfectCare\\Desktop`) > the machine policy file (`%ProgramData%\\PerfectCare\\
Desktop\\policy.json` on Windows, `/etc/perfectcare/policy.json` elsewhere; the MSI writes it from
its silent-install properties) > the user's settings file > defaults. A value set by policy is
*locked*: the About / managed settings page says so and the user cannot change it. An unknown key or
an invalid value is reported in words and ignored; it never stops the app. The settings themselves
(names, checks, defaults, who may set them) are declared once, in settings_schema.py.

No Qt here, and no patient detail ever: these are machine settings. Read before the first window
is shown, so it stays light: plain classes (not dataclasses, whose import costs the window ~13 ms)
and json only when there is a file to read.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Protocol

from .settings_schema import (  # noqa: F401 - re-exported: the declarations live in settings_schema
    BY_NAME,
    CRISIS_NATIONS,
    LOCAL_CONTACT_LIMITS,
    MAX_LOCAL_CRISIS_CONTACTS,
    SETTINGS,
    PolicyValueError,
    Setting,
    user_choices,
)

POLICY_FILE_ENV = "PERFECTCARE_POLICY_FILE"
REGISTRY_PATH = r"Software\Policies\PerfectCare\Desktop"

DEFAULT, USER, MACHINE_FILE, HKCU, HKLM = "default", "user", "machine policy file", "HKCU policy", "HKLM policy"
LOCKING_SOURCES = (MACHINE_FILE, HKCU, HKLM)


# The MSI writes its silent-install properties under these names (HUBURL=..., DATADIR=..., ...).
MSI_PROPERTY_NAMES = {"HUBURL": "hub_url", "DATADIR": "data_dir", "IDLELOCKMINUTES": "idle_lock_minutes"}


class RegistrySource(Protocol):
    """Reads the policy key of one hive ("HKLM" or "HKCU"); behind an interface so tests can feed it."""

    def read(self, hive: str) -> dict[str, object]: ...


class WindowsRegistry:
    def read(self, hive: str) -> dict[str, object]:  # pragma: no cover - Windows only
        if sys.platform != "win32":  # as `import winreg` would; the check also has mypy read winreg as on Windows
            raise ModuleNotFoundError("No module named 'winreg'")
        import winreg

        root = winreg.HKEY_LOCAL_MACHINE if hive == "HKLM" else winreg.HKEY_CURRENT_USER
        values: dict[str, object] = {}
        try:
            key = winreg.OpenKey(root, REGISTRY_PATH)
        except OSError:
            return values
        with key:
            n = 0
            while True:
                try:
                    name, value, _kind = winreg.EnumValue(key, n)
                except OSError:
                    break
                values[name] = value
                n += 1
        return values


def default_registry() -> RegistrySource | None:
    return WindowsRegistry() if sys.platform == "win32" else None


def machine_policy_path() -> Path:
    env = os.environ.get(POLICY_FILE_ENV, "").strip()
    if env:
        return Path(env)
    if sys.platform == "win32":
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "PerfectCare" / "Desktop" / "policy.json"
    return Path("/etc/perfectcare/policy.json")


class Settings:
    """The settings in force, where each came from, and every problem found on the way."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.sources: dict[str, str] = {}
        self.problems: list[str] = []
        # What the user chose (their settings file, cleaned): all their file may hold, locked or not.
        self.user_choices: dict[str, Any] = {}

    def locked(self, name: str) -> bool:
        return self.sources.get(name) in LOCKING_SOURCES

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def policy_values(self) -> dict[str, Any]:
        """The values a policy sets (and so locks)."""
        return {k: v for k, v in self.values.items() if self.sources.get(k) in LOCKING_SOURCES}

    def rows(self) -> list[tuple[str, str, str]]:
        """(label, value shown, where it comes from) for the About / managed settings page."""
        out = []
        for s in SETTINGS:
            value = self.values.get(s.name)
            if s.name == "crisis_contacts":
                shown = ", ".join(c["name"] for c in value) if value else "none"
            elif s.name == "crisis_nation":
                shown = CRISIS_NATIONS.get(str(value), str(value))
            elif isinstance(value, list):
                shown = ", ".join(map(str, value))
            else:
                shown = "not set" if value is None else str(value)
            source = self.sources.get(s.name, DEFAULT)
            where = (
                f"locked by {source}"
                if source in LOCKING_SOURCES
                else ("your settings" if source == USER else "default")
            )
            out.append((s.label, shown, where))
        return out


def _layer(settings: Settings, raw: dict[str, object], source: str) -> None:
    for name, value in raw.items():
        key = MSI_PROPERTY_NAMES.get(name, name)
        spec = BY_NAME.get(key)
        if spec is None:
            settings.problems.append(f"{source}: unknown setting {name!r} ignored.")
            continue
        if source != USER and not spec.policy:
            settings.problems.append(f"{source}: {name} is each user's own choice, not set by policy; ignored.")
            continue
        if key in settings.sources and settings.sources[key] != DEFAULT:
            continue  # a higher layer has it
        try:
            settings.values[key] = spec.check(value)
        except PolicyValueError as exc:
            settings.problems.append(f"{source}: {name} {exc}; ignored.")
            continue
        settings.sources[key] = source


def read_policy_file(path: Path) -> tuple[dict[str, object], str | None]:
    """The machine policy file's values, or a problem in words (a missing file is no problem)."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        return {}, f"{path}: cannot be read ({exc.strerror or exc}); ignored."
    import codecs
    import json

    # Notepad saves UTF-8 with a BOM, or as "Unicode": UTF-16 with a BOM. Anything else must be UTF-8.
    utf16 = blob.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not blob.startswith(codecs.BOM_UTF32_LE)
    try:
        raw = blob.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as exc:
        return {}, (f"{path}: not readable text (byte {exc.start + 1} is not {'UTF-16' if utf16 else 'UTF-8'}); "
                    "save it as UTF-8 and start the program again; ignored.")  # fmt: skip
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {}, f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); ignored."
    except RecursionError:
        return {}, f"{path}: nested too deeply to be a policy file; ignored."
    if not isinstance(data, dict):
        return {}, f"{path}: must hold a JSON object; ignored."
    return data, None


def load_settings(user: dict[str, object] | None = None, registry: RegistrySource | None = None,
                  policy_file: Path | None = None) -> Settings:  # fmt: skip
    """Policy registry (HKLM > HKCU) > machine policy file > user settings > defaults."""
    settings = Settings()
    if registry is not None:
        for hive, source in (("HKLM", HKLM), ("HKCU", HKCU)):
            try:
                values = registry.read(hive)
            except OSError as exc:  # pragma: no cover - a registry that cannot be read
                settings.problems.append(f"{source}: cannot be read ({exc}); ignored.")
                continue
            _layer(settings, values, source)
    path = policy_file or machine_policy_path()
    file_values, problem = read_policy_file(path)
    if problem:
        settings.problems.append(problem)
    _layer(settings, file_values, MACHINE_FILE)
    # The user's file holds only what they chose; what an old save copied into it (policy values,
    # nulls, defaults) is dropped here without a word and gone from the file at the next save.
    settings.user_choices, problems = user_choices(user or {}, settings.policy_values())
    settings.problems.extend(f"{USER}: {p}" for p in problems)
    _layer(settings, settings.user_choices, USER)
    for s in SETTINGS:
        if s.name not in settings.sources:
            settings.values[s.name] = s.fresh_default()
            settings.sources[s.name] = DEFAULT
    return settings
