"""Every setting, declared once: name, label, help, type and check, default, and who may set it
(machine policy may lock it; the user may choose it in their own settings file).

policy.py merges the layers from this list, config.py saves the user's choices by it, and the Group
Policy templates (issue 22) are to be generated from it. No Qt and no core import: it is read before
the first window, so it stays light (plain classes, json only when a value needs it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .export.variants import VARIANTS


class PolicyValueError(ValueError):
    """A setting's value that cannot be used; the message says why."""


class WholeNumber:
    """A whole number in [low, high]; registry strings and MSI properties arrive as text."""

    __slots__ = ("low", "high")

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def __call__(self, value: object) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool) or not self.low <= value <= self.high:
            raise PolicyValueError(f"must be a whole number from {self.low} to {self.high} (found {value!r})")
        return value


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


# The crisis directory's nations (core/crisis_directory.NATIONS), here too: no core import this early.
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


THEMES = ("light", "high-contrast")  # ui/theme.py draws them


def _theme(value: object) -> str:
    if value not in THEMES:
        raise PolicyValueError(f"must be one of {', '.join(THEMES)} (found {value!r})")
    return str(value)


# Kinds, for the About page and the Group Policy templates: text, url, folder, number, list, date, choice.
class Setting:
    __slots__ = ("name", "label", "kind", "check", "default", "help", "policy", "user")

    def __init__(self, name: str, label: str, kind: str, check: Callable[[object], Any], default: Any, help: str,
                 *, policy: bool = True, user: bool = False) -> None:  # fmt: skip
        self.name, self.label, self.kind, self.check, self.default = name, label, kind, check, default
        self.help = help
        self.policy = policy  # machine policy may set (and so lock) it
        self.user = user  # the user may choose it; only these are kept in their settings file

    def fresh_default(self) -> Any:
        """The default, copied: a list handed out must not be shared between Settings."""
        return list(self.default) if isinstance(self.default, list) else self.default


SETTINGS: tuple[Setting, ...] = (
    Setting("hub_url", "Sync hub address", "url", _hub_url, None,
            "The sync hub's PostgreSQL address, overriding the one in each PC's enrolment."),
    Setting("hub_read_url", "Sync hub read replica (pulls)", "url", _hub_url, None,
            "A read replica of the hub that pulls read from; pushes stay on the hub."),
    Setting("data_dir", "Shared store folder for every user of this PC", "folder", _folder, None,
            "One shared store folder for every user of the PC (an absolute path)."),
    Setting("idle_lock_minutes", "Lock after this many idle minutes", "number", WholeNumber(1, 60), 5,
            "Lock the app after this many minutes without input (1 to 60).", user=True),
    Setting("review_interval_months", "Default plan review interval (months)", "number", WholeNumber(1, 24), 3,
            "The review date offered when a plan is signed, in months (1 to 24).", user=True),
    Setting("crisis_contacts", "Trust-local crisis contacts", "list", _crisis_contacts, [],
            f"At most {MAX_LOCAL_CRISIS_CONTACTS} trust-local crisis numbers (JSON list of key, name, how, phone, "
            "when), printed beside the national ones on every copy."),
    Setting("crisis_contacts_checked_on", "Trust-local crisis contacts checked on", "date", _a_date, None,
            "When the trust-local crisis numbers were last checked (YYYY-MM-DD)."),
    Setting("crisis_nation", "Nation whose crisis numbers print", "choice", _nation, "england",
            "Which nation's crisis numbers print on every copy: " + ", ".join(CRISIS_NATIONS.values()) + "."),
    Setting("branding_dir", "Branding folder (name, logo, colours)", "folder", _folder, None,
            "A folder with the trust's name, logo and colours for printed copies."),
    Setting("pdf_variants", "PDF variants offered", "list", _variants, list(VARIANTS),
            "Which printed copies staff may choose: " + ", ".join(VARIANTS) + "."),
    Setting("theme", "Theme", "choice", _theme, "light",
            "Light or high-contrast (View menu); the user's own choice.", policy=False, user=True),
)  # fmt: skip
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
USER_KEYS = frozenset(s.name for s in SETTINGS if s.user)


def is_legacy_file(raw: Mapping[str, object]) -> bool:
    """A settings file the old save wrote: the whole merged dict, so a key the user may not choose
    (hub_url, crisis_contacts, ...) or a null is in it, and its other values may be policy's or defaults."""
    return any(value is None or (name in BY_NAME and name not in USER_KEYS) for name, value in raw.items())


def user_choices(raw: Mapping[str, object],
                 policy_values: Mapping[str, object] | None = None) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """What a user's settings file may hold, from what it holds, and the user's values that are invalid
    (in words). Only the settings a user may choose, with a valid value: policy keys, nulls and unknown
    keys are dropped without a word (the old save wrote them; a warning on every run helps nobody).
    In a file the old save wrote, a value equal to the default or to the policy in force is not the
    user's choice but what that save copied in: dropped too, so a removed policy stops applying."""
    legacy = is_legacy_file(raw)
    out: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in raw.items():
        spec = BY_NAME.get(name)
        if spec is None or not spec.user or value is None:
            continue
        try:
            value = spec.check(value)
        except PolicyValueError as exc:
            problems.append(f"{name} {exc}; ignored.")
            continue
        if legacy and (value == spec.default or (policy_values and policy_values.get(name) == value)):
            continue
        out[name] = value
    return out, problems
