"""The crisis contacts printed on every plan: national numbers from `resources/crisis_contacts/`
plus trust-local entries from machine policy. Versioned, with the date the numbers were last
checked; a plan records the directory version it used and its copy prints that "checked on" date.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ..errors import LayoutInvalid
from .resources import resources_dir

FORMAT = "perfectcare.crisis_contacts/1"
NATIONAL_FILE = "national.json"


@dataclass(frozen=True)
class CrisisContact:
    key: str
    name: str
    how: str  # what to do, in words: "Call 111 and choose option 2"
    phone: str
    when: str
    local: bool = False  # from the trust's policy rather than the national list


@dataclass(frozen=True)
class CrisisDirectory:
    directory_id: str
    version: str
    checked_on: date
    contacts: tuple[CrisisContact, ...]

    @property
    def ref(self) -> dict[str, str]:
        return {"id": self.directory_id, "version": self.version, "checked_on": self.checked_on.isoformat()}


def _contact(raw: object, where: str, local: bool) -> CrisisContact:
    if not isinstance(raw, dict):
        raise LayoutInvalid(f"{where} must be a JSON object.")
    values = {}
    for name in ("key", "name", "how", "phone", "when"):
        value = raw.get(name, "" if name == "when" else None)
        if not isinstance(value, str) or (name != "when" and not value.strip()):
            raise LayoutInvalid(f"{where}: '{name}' must be non-empty text.")
        values[name] = value.strip()
    return CrisisContact(local=local, **values)


def parse_directory(data: object, source: str, local_entries: list[Any] | None = None,
                    local_checked_on: date | None = None) -> CrisisDirectory:  # fmt: skip
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LayoutInvalid(f"{source}: 'format' must be \"{FORMAT}\".")
    try:
        checked = date.fromisoformat(str(data.get("checked_on")))
    except ValueError as exc:
        raise LayoutInvalid(f"{source}: 'checked_on' must be a date like 2026-11-01.") from exc
    version, directory_id = data.get("version"), data.get("id")
    if not isinstance(version, str) or not version or not isinstance(directory_id, str) or not directory_id:
        raise LayoutInvalid(f"{source}: 'id' and 'version' must be non-empty text.")
    raw = data.get("contacts")
    if not isinstance(raw, list) or not raw:
        raise LayoutInvalid(f"{source}: 'contacts' must be a non-empty list.")
    contacts = [_contact(c, f"{source}: contact {n}", False) for n, c in enumerate(raw, start=1)]
    if local_entries:
        contacts += [_contact(c, f"policy: local crisis contact {n}", True) for n, c in enumerate(local_entries, 1)]
        # The copy's "checked on" date is the older of the two lists: it must never overstate.
        if local_checked_on is not None:
            checked = min(checked, local_checked_on)
        version = f"{version}+local"
    return CrisisDirectory(directory_id, version, checked, tuple(contacts))


def load_directory(folder: Path | None = None, local_entries: list[Any] | None = None,
                   local_checked_on: date | None = None) -> CrisisDirectory:  # fmt: skip
    path = (folder or resources_dir() / "crisis_contacts") / NATIONAL_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LayoutInvalid(f"{path.name}: the crisis contacts file cannot be read as JSON ({exc}).") from exc
    return parse_directory(data, path.name, local_entries, local_checked_on)


def directory_in_force(settings: Mapping[str, Any], folder: Path | None = None) -> CrisisDirectory:
    """The national directory plus the trust's own contacts from machine policy (see policy.py)."""
    local = settings.get("crisis_contacts") or None
    checked = settings.get("crisis_contacts_checked_on")
    return load_directory(folder, local, date.fromisoformat(checked) if checked else None)
