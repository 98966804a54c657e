"""The crisis contacts printed on every plan: the national numbers of one NATION (England, Wales,
Scotland, Northern Ireland; chosen by the machine policy setting `crisis_nation`) from
`resources/crisis_contacts/`, plus trust-local entries from machine policy. Versioned, with the date
the numbers were last checked; a plan records the directory version it used and its copy prints that
"checked on" date. Numbers checked more than 12 months before today are STALE (`stale_warning`):
the print dialogs and admins are told, and the copy still prints (an old number beats no copy).

File formats: "perfectcare.crisis_contacts/2" holds `nations` (each with its own id, version,
checked_on and contacts, each contact with the `source` it was checked against); the older "/1"
file, one UK list, still loads, as England.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ...errors import LayoutInvalid
from ..resources import resources_dir
from .wording import long_date

FORMAT_V1 = "perfectcare.crisis_contacts/1"
FORMAT = "perfectcare.crisis_contacts/2"
NATIONAL_FILE = "national.json"
ENGLAND = "england"
NATIONS = {"england": "England", "wales": "Wales", "scotland": "Scotland", "northern-ireland": "Northern Ireland"}
STALE_AFTER_MONTHS = 12


@dataclass(frozen=True)
class CrisisContact:
    key: str
    name: str
    how: str  # what to do, in words: "Call 111 and choose option 2"
    phone: str
    when: str
    local: bool = False  # from the trust's policy rather than the national list
    source: str = ""  # the page the number and hours were checked against
    verified: bool = True  # False: the number could not be confirmed at its source (the data says why)


@dataclass(frozen=True)
class CrisisDirectory:
    directory_id: str
    version: str
    checked_on: date
    contacts: tuple[CrisisContact, ...]
    nation: str = ENGLAND

    @property
    def ref(self) -> dict[str, str]:
        return {"id": self.directory_id, "version": self.version, "checked_on": self.checked_on.isoformat()}

    @property
    def nation_label(self) -> str:
        return NATIONS.get(self.nation, self.nation)


def stale_since(checked_on: date, today: date) -> bool:
    """Checked more than STALE_AFTER_MONTHS calendar months before `today`."""
    months = (today.year - checked_on.year) * 12 + today.month - checked_on.month
    return months > STALE_AFTER_MONTHS or (months == STALE_AFTER_MONTHS and today.day > checked_on.day)


def stale_warning(directory: CrisisDirectory, today: date, *, for_admin: bool = False) -> str | None:
    """A sentence for the clinician (or, `for_admin`, the administrator who can act on it) when the numbers
    were checked more than 12 months before `today`; else None."""
    if not stale_since(directory.checked_on, today):
        return None
    said = (
        f"The crisis numbers ({directory.nation_label}) were last checked on {long_date(directory.checked_on)}, "
        f"more than {STALE_AFTER_MONTHS} months ago: a number may have changed."
    )
    if for_admin:
        return (
            f"{said} Every copy prints them with that date. Check each number against its source and update "
            "resources/crisis_contacts/national.json, or the trust's own numbers and crisis_contacts_checked_on "
            "in machine policy."
        )
    return f"{said} The copy prints them with that date; ask your administrator to check them."


def admin_notes(directory: CrisisDirectory, today: date) -> list[str]:
    """What an administrator should hear at sign-in: stale numbers, and numbers not confirmed at source."""
    notes = [w] if (w := stale_warning(directory, today, for_admin=True)) else []
    unverified = [c.name for c in directory.contacts if not c.verified]
    if unverified:
        notes.append(
            f"{len(unverified)} crisis number(s) for {directory.nation_label} could not be confirmed at their source "
            f"({', '.join(unverified)}): confirm them with the service before relying on them (see "
            "resources/crisis_contacts/national.json)."
        )
    return notes


def _contact(raw: object, where: str, local: bool) -> CrisisContact:
    if not isinstance(raw, dict):
        raise LayoutInvalid(f"{where} must be a JSON object.")
    values = {}
    for name in ("key", "name", "how", "phone", "when"):
        value = raw.get(name, "" if name == "when" else None)
        if not isinstance(value, str) or (name != "when" and not value.strip()):
            raise LayoutInvalid(f"{where}: '{name}' must be non-empty text.")
        values[name] = value.strip()
    source, verified = raw.get("source", ""), raw.get("verified", True)
    if not isinstance(source, str) or not isinstance(verified, bool):
        raise LayoutInvalid(f"{where}: 'source' must be text and 'verified' true or false.")
    return CrisisContact(local=local, source=source.strip(), verified=verified, **values)


def _nation_list(data: Mapping[str, Any], source: str, nation: str) -> Mapping[str, Any]:
    """The one list of a nation from a /2 file (or the /1 file's list, which is England's)."""
    fmt = data.get("format")
    if fmt == FORMAT_V1:
        if nation != ENGLAND:
            raise LayoutInvalid(
                f"{source}: this crisis contacts file (format {FORMAT_V1}) has only the England/UK list; "
                f"{NATIONS.get(nation, nation)} needs a {FORMAT} file."
            )
        return data
    if fmt != FORMAT:
        raise LayoutInvalid(f'{source}: \'format\' must be "{FORMAT}" (or the older "{FORMAT_V1}").')
    nations = data.get("nations")
    if not isinstance(nations, dict) or not nations:
        raise LayoutInvalid(f"{source}: 'nations' must be an object with one list per nation.")
    unknown = sorted(set(nations) - set(NATIONS))
    if unknown:
        raise LayoutInvalid(f"{source}: unknown nation {unknown[0]!r}; use {', '.join(NATIONS)}.")
    if nation not in nations:
        raise LayoutInvalid(f"{source}: there are no crisis numbers for {NATIONS.get(nation, nation)} in this file.")
    entry = nations[nation]
    if not isinstance(entry, dict):
        raise LayoutInvalid(f"{source}: nation {nation!r} must be a JSON object.")
    return entry


def parse_directory(data: object, source: str, local_entries: list[Any] | None = None,
                    local_checked_on: date | None = None, nation: str = ENGLAND) -> CrisisDirectory:  # fmt: skip
    if nation not in NATIONS:
        raise LayoutInvalid(f"Unknown nation {nation!r} for the crisis numbers; use one of {', '.join(NATIONS)}.")
    if not isinstance(data, dict):
        raise LayoutInvalid(f"{source}: must hold a JSON object.")
    entry = _nation_list(data, source, nation)
    where = source if entry is data else f"{source} ({nation})"
    try:
        checked = date.fromisoformat(str(entry.get("checked_on")))
    except ValueError as exc:
        raise LayoutInvalid(f"{where}: 'checked_on' must be a date like 2026-11-01.") from exc
    version, directory_id = entry.get("version"), entry.get("id")
    if not isinstance(version, str) or not version or not isinstance(directory_id, str) or not directory_id:
        raise LayoutInvalid(f"{where}: 'id' and 'version' must be non-empty text.")
    raw = entry.get("contacts")
    if not isinstance(raw, list) or not raw:
        raise LayoutInvalid(f"{where}: 'contacts' must be a non-empty list.")
    contacts = [_contact(c, f"{where}: contact {n}", False) for n, c in enumerate(raw, start=1)]
    if local_entries:
        contacts += [_contact(c, f"policy: local crisis contact {n}", True) for n, c in enumerate(local_entries, 1)]
        # The copy's "checked on" date is the older of the two lists: it must never overstate.
        if local_checked_on is not None:
            checked = min(checked, local_checked_on)
        version = f"{version}+local"
    return CrisisDirectory(directory_id, version, checked, tuple(contacts), nation)


def load_directory(folder: Path | None = None, local_entries: list[Any] | None = None,
                   local_checked_on: date | None = None, nation: str = ENGLAND) -> CrisisDirectory:  # fmt: skip
    path = (folder or resources_dir() / "crisis_contacts") / NATIONAL_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LayoutInvalid(f"{path.name}: the crisis contacts file cannot be read as JSON ({exc}).") from exc
    return parse_directory(data, path.name, local_entries, local_checked_on, nation)


def directory_in_force(settings: Mapping[str, Any], folder: Path | None = None) -> CrisisDirectory:
    """The national directory of the policy's nation plus the trust's own contacts (see policy.py)."""
    local = settings.get("crisis_contacts") or None
    checked = settings.get("crisis_contacts_checked_on")
    nation = settings.get("crisis_nation") or ENGLAND
    return load_directory(folder, local, date.fromisoformat(checked) if checked else None, nation)
