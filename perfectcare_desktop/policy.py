"""Machine policy: settings an admin pushes to ward PCs, layered over the user's own.

Order, first found wins: Windows policy registry (HKLM, then HKCU, under
`Software\\Policies\\PerfectCare\\Desktop`) > the machine policy file (`%ProgramData%\\PerfectCare\\
Desktop\\policy.json` on Windows, `/etc/perfectcare/policy.json` elsewhere; the MSI writes it from
its silent-install properties) > the user's settings file > defaults. A value set by policy is
*locked*: the About / managed settings page says so and the user cannot change it. An unknown key or
an invalid value is reported in words and ignored; it never stops the app.

No Qt here, and no patient detail ever: these are machine settings. Read before the first window
is shown, so it stays light: plain classes (not dataclasses, whose import costs the window ~13 ms)
and json only when there is a file to read.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from .export.variants import VARIANTS

POLICY_FILE_ENV = "PERFECTCARE_POLICY_FILE"
REGISTRY_PATH = r"Software\Policies\PerfectCare\Desktop"

DEFAULT, USER, MACHINE_FILE, HKCU, HKLM = "default", "user", "machine policy file", "HKCU policy", "HKLM policy"
LOCKING_SOURCES = (MACHINE_FILE, HKCU, HKLM)


class PolicyValueError(ValueError):
    """A policy value that cannot be used; the message says why."""


def _int_between(low: int, high: int) -> Callable[[object], int]:
    def check(value: object) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())  # registry strings and MSI properties arrive as text
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise PolicyValueError(f"must be a whole number from {low} to {high} (found {value!r})")
        return value

    return check


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyValueError(f"must be non-empty text (found {value!r})")
    return value.strip()


def _hub_url(value: object) -> str:
    url = _text(value)
    if not url.startswith(("postgresql://", "postgres://")):
        raise PolicyValueError("must be a postgresql:// address, for example postgresql://hub.trust.nhs.uk/perfectcare")
    return url


def _folder(value: object) -> str:
    path = _text(value)
    if not (Path(path).is_absolute() or path.startswith("\\\\")):
        raise PolicyValueError(f"must be an absolute folder path (found {path!r})")
    return path


def _json_list(value: object) -> list[Any]:
    if isinstance(value, str):  # REG_SZ holding JSON, as the ADMX/.reg examples show
        import json

        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise PolicyValueError(f"is not valid JSON ({exc.msg})") from exc
        except RecursionError:
            raise PolicyValueError("is nested too deeply") from None
    if not isinstance(value, list):
        raise PolicyValueError("must be a list")
    return value


# The crisis box opens page 1 of every copy, large print and the phone copy included: beside the
# national numbers it holds this many of the trust's own, each short enough to read at a glance.
MAX_LOCAL_CRISIS_CONTACTS = 4
LOCAL_CONTACT_LIMITS = {"key": 40, "name": 60, "how": 60, "phone": 20, "when": 100}


def _crisis_contacts(value: object) -> list[dict[str, str]]:
    items = _json_list(value)
    if len(items) > MAX_LOCAL_CRISIS_CONTACTS:
        raise PolicyValueError(
            f"holds {len(items)} entries; at most {MAX_LOCAL_CRISIS_CONTACTS} fit beside the national numbers on "
            "page 1 of every copy: keep the ones a person would call first"
        )
    out = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise PolicyValueError(f"entry {n} must be an object with key, name, how, phone")
        missing = [k for k in ("key", "name", "how", "phone") if not str(item.get(k, "")).strip()]
        if missing:
            raise PolicyValueError(f"entry {n} has no {', '.join(missing)}")
        entry = {k: str(item.get(k, "")).strip() for k in ("key", "name", "how", "phone", "when")}
        long = [f"{k} ({len(v)} characters; at most {LOCAL_CONTACT_LIMITS[k]})" for k, v in entry.items()
                if len(v) > LOCAL_CONTACT_LIMITS[k]]  # fmt: skip
        if long:
            raise PolicyValueError(f"entry {n} is too long to print in the crisis box: {', '.join(long)}")
        out.append(entry)
    return out


def _a_date(value: object) -> str:
    from datetime import date

    try:
        return date.fromisoformat(_text(value)).isoformat()
    except ValueError as exc:
        raise PolicyValueError(f"must be a date like 2026-11-01 (found {value!r})") from exc


# The crisis directory's nations (core/crisis_directory.NATIONS), here too: policy is read before the
# first window and stays light (no core import).
CRISIS_NATIONS = {
    "england": "England",
    "wales": "Wales",
    "scotland": "Scotland",
    "northern-ireland": "Northern Ireland",
}


def _nation(value: object) -> str:
    """'England', 'wales', 'Northern Ireland', 'northern-ireland' ... -> the directory's key."""
    text = _text(value).casefold().replace("_", "-").replace(" ", "-")
    if text not in CRISIS_NATIONS:
        raise PolicyValueError(f"must be one of {', '.join(CRISIS_NATIONS.values())} (found {value!r})")
    return text


def _variants(value: object) -> list[str]:
    items = (
        _json_list(value)
        if not (isinstance(value, str) and not value.strip().startswith("["))
        else [v.strip() for v in str(value).split(",") if v.strip()]
    )
    unknown = [v for v in items if v not in VARIANTS]
    if unknown or not items:
        raise PolicyValueError(f"must name some of {', '.join(VARIANTS)} (found {', '.join(map(str, unknown))})")
    return list(items)


class Setting:
    __slots__ = ("name", "label", "check", "default")

    def __init__(self, name: str, label: str, check: Callable[[object], Any], default: Any) -> None:
        self.name, self.label, self.check, self.default = name, label, check, default


SETTINGS: tuple[Setting, ...] = (
    Setting("hub_url", "Sync hub address", _hub_url, None),
    Setting("hub_read_url", "Sync hub read replica (pulls)", _hub_url, None),
    Setting("data_dir", "Shared store folder for every user of this PC", _folder, None),
    Setting("idle_lock_minutes", "Lock after this many idle minutes", _int_between(1, 60), 5),
    Setting("review_interval_months", "Default plan review interval (months)", _int_between(1, 24), 3),
    Setting("crisis_contacts", "Trust-local crisis contacts", _crisis_contacts, []),
    Setting("crisis_contacts_checked_on", "Trust-local crisis contacts checked on", _a_date, None),
    Setting("crisis_nation", "Nation whose crisis numbers print", _nation, "england"),
    Setting("branding_dir", "Branding folder (name, logo, colours)", _folder, None),
    Setting("pdf_variants", "PDF variants offered", _variants, list(VARIANTS)),
)
_BY_NAME = {s.name: s for s in SETTINGS}
# The MSI writes its silent-install properties under these names (HUBURL=..., DATADIR=..., ...).
MSI_PROPERTY_NAMES = {"HUBURL": "hub_url", "DATADIR": "data_dir", "IDLELOCKMINUTES": "idle_lock_minutes"}


class RegistrySource(Protocol):
    """Reads the policy key of one hive ("HKLM" or "HKCU"); behind an interface so tests can feed it."""

    def read(self, hive: str) -> dict[str, object]: ...


class WindowsRegistry:
    def read(self, hive: str) -> dict[str, object]:  # pragma: no cover - Windows only
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

    def locked(self, name: str) -> bool:
        return self.sources.get(name) in LOCKING_SOURCES

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

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


def _layer(settings: Settings, raw: dict[str, object], source: str, *, user: bool = False) -> None:
    for name, value in raw.items():
        key = MSI_PROPERTY_NAMES.get(name, name)
        spec = _BY_NAME.get(key)
        if spec is None:
            if not user:  # a user's file may hold other app preferences (theme, ...)
                settings.problems.append(f"{source}: unknown setting {name!r} ignored.")
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
    _layer(settings, dict(user or {}), USER, user=True)
    for s in SETTINGS:
        if s.name not in settings.sources:
            settings.values[s.name] = s.default
            settings.sources[s.name] = DEFAULT
    # Keep the user's own preferences that are not policy settings (theme, ...) alongside.
    for name, value in (user or {}).items():
        settings.values.setdefault(name, value)
    return settings
