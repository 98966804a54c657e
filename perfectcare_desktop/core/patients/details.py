"""Patient details: the values, their validation, and their payload form (always encrypted)."""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from ...errors import InvalidInput
from .nhs_number import InvalidNhsNumber, format_nhs_number, normalise_nhs_number

SCHEMA = "patient/1"
ACCESS_NEEDS = ("large print", "easy read", "interpreter", "braille", "audio")
_LIMITS = {"given_name": 100, "family_name": 100, "preferred_name": 100, "local_id": 40, "preferred_language": 60}
_LABELS = {
    "given_name": "Given name",
    "family_name": "Family name",
    "preferred_name": "Preferred name",
    "local_id": "Local id",
    "preferred_language": "Preferred language",
}


# Invisible format characters that real names and emoji need: joiners (emoji sequences, Persian/Urdu
# spelling), direction marks and isolates (right-to-left names), and tag characters (the Welsh flag).
_ALLOWED_FORMAT = frozenset("\u200c\u200d\u200e\u200f\u2066\u2067\u2068\u2069")


def _forbidden(ch: str) -> bool:
    """Control characters, and format characters that can disguise text (e.g. U+202E right-to-left override)."""
    category = unicodedata.category(ch)
    if category == "Cc":
        return True
    return category == "Cf" and ch not in _ALLOWED_FORMAT and not 0xE0020 <= ord(ch) <= 0xE007F


@dataclass(frozen=True)
class PatientDetails:
    given_name: str
    family_name: str
    date_of_birth: date
    nhs_number: str  # 10 digits once validated
    local_id: str = ""
    preferred_name: str = ""
    preferred_language: str = ""
    access_needs: tuple[str, ...] = field(default_factory=tuple)
    # Who cares for them (issue 16 part 1): the responsible team's id ("" = the team that holds everyone,
    # in a store from before teams) and the teams the care is shared with.
    team_id: str = ""
    shared_with: tuple[str, ...] = field(default_factory=tuple)

    @property
    def display_name(self) -> str:
        shown = self.preferred_name or self.given_name
        return f"{shown} {self.family_name}".strip()

    @property
    def nhs_number_formatted(self) -> str:
        return format_nhs_number(self.nhs_number)

    def to_payload(self) -> dict[str, Any]:
        data = asdict(self)
        data["date_of_birth"] = self.date_of_birth.isoformat()
        data["access_needs"] = list(self.access_needs)
        data["shared_with"] = list(self.shared_with)
        for name in ("team_id", "shared_with"):  # left out when unset: the payload of a store before teams
            if not data[name]:
                del data[name]
        data["schema"] = SCHEMA
        return data

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> PatientDetails:
        return cls(
            given_name=data["given_name"],
            family_name=data["family_name"],
            date_of_birth=date.fromisoformat(data["date_of_birth"]),
            nhs_number=data["nhs_number"],
            local_id=data.get("local_id", ""),
            preferred_name=data.get("preferred_name", ""),
            preferred_language=data.get("preferred_language", ""),
            access_needs=tuple(data.get("access_needs", ())),
            team_id=str(data.get("team_id", "")),
            shared_with=tuple(str(t) for t in data.get("shared_with", ())),
        )


def validated(details: PatientDetails, today: date) -> PatientDetails:
    """Return a cleaned copy, or raise InvalidInput naming the first field that is wrong and why."""
    clean: dict[str, Any] = {}
    for name, limit in _LIMITS.items():
        value = unicodedata.normalize("NFC", str(getattr(details, name) or "")).strip()
        if any(_forbidden(ch) for ch in value):
            raise InvalidInput(f"{_LABELS[name]} contains control characters; retype it.")
        if len(value) > limit:
            raise InvalidInput(f"{_LABELS[name]} is too long ({len(value):,} characters; at most {limit}).")
        clean[name] = value
    if not clean["given_name"] and not clean["family_name"]:
        raise InvalidInput("Enter the person's name (a given name or a family name).")
    dob = details.date_of_birth
    if not isinstance(dob, date):
        raise InvalidInput("Enter the date of birth as a date, for example 1984-03-07.")
    if dob > today:
        raise InvalidInput(f"The date of birth {dob.isoformat()} is in the future.")
    if dob.year < today.year - 130:
        raise InvalidInput(f"The date of birth {dob.isoformat()} is more than 130 years ago; check the year.")
    try:
        nhs = normalise_nhs_number(details.nhs_number)
    except InvalidNhsNumber as exc:
        raise InvalidInput(str(exc)) from exc
    needs = tuple(dict.fromkeys(n.strip().lower() for n in details.access_needs if n.strip()))
    unknown = [n for n in needs if n not in ACCESS_NEEDS]
    if unknown:
        raise InvalidInput(
            f"Unknown accessible information need {unknown[0]!r}; choose from {', '.join(ACCESS_NEEDS)}."
        )
    return PatientDetails(
        clean["given_name"],
        clean["family_name"],
        dob,
        nhs,
        clean["local_id"],
        clean["preferred_name"],
        clean["preferred_language"],
        needs,
        details.team_id.strip(),
        tuple(t for t in dict.fromkeys(s.strip() for s in details.shared_with) if t and t != details.team_id.strip()),
    )


def parse_date(text: str, label: str = "Date of birth") -> date:
    """Accept ISO (1984-03-07) and UK (07/03/1984) forms, with a precise message otherwise."""
    text = text.strip()
    try:
        if "/" in text:
            d, m, y = (int(p) for p in text.split("/"))
            return date(y, m, d)
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{label} '{text}' is not a date; use DD/MM/YYYY or YYYY-MM-DD.") from exc


@dataclass(frozen=True)
class PatientSummary:
    """One caseload row: enough to list and search, decrypted in memory only."""

    record_id: str
    details: PatientDetails
    version_id: str
    updated_at: datetime
    needs_attention: bool  # two heads after offline edits: a clinician must merge

    @property
    def display_name(self) -> str:
        return self.details.display_name
