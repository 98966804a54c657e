"""What a safety plan says: sections of entries in the person's own words, a per-section
"discussed — not applicable" or "declined", and notes for clinicians only. A safety formulation
has the same shape (sections of entries or free text, per its layout) under its own schema, so one
editor, one autosave and one comparison serve both.

Plain data, no store and no Qt: the editor edits it, the store saves it as a version payload
(schema `safety_plan/1`), present mode and the patient's copy read it through `person_view`, which
is the one place that decides what the person sees (never the clinician notes).
"""

from __future__ import annotations

import copy
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidInput
from ..patients.details import parse_date
from .plan_layout import FIELD_LABELS, PlanLayout, Section

SCHEMA = "safety_plan/1"
NOT_APPLICABLE = "not_applicable"
DECLINED = "declined"
SECTION_STATES = {NOT_APPLICABLE: "Discussed — not applicable", DECLINED: "Discussed — declined"}
# An entry is a few lines in a session; 4,000 characters is several paragraphs, far past that,
# yet keeps a pasted document out of the plan the person carries.
MAX_FIELD_CHARS = 4000
MAX_TEXT_CHARS = 20000  # a formulation's narrative block
MAX_NOTES_CHARS = 20000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")


def clean_text(value: str, *, multiline: bool = True) -> str:
    """Plain text as typed or pasted: NFC, no control characters or zero-width junk, no rich text
    (widgets accept plain text only), line ends unified, trailing spaces trimmed."""
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n").replace("\u2029", "\n")
    text = _CONTROL.sub("", text)
    if not multiline:
        text = " ".join(text.split("\n"))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


@dataclass
class SectionContent:
    entries: list[dict[str, str]] = field(default_factory=list)
    state: str = ""  # "", NOT_APPLICABLE or DECLINED
    reason: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.entries and not self.state


@dataclass
class PlanContent:
    layout: dict[str, Any]  # {"id", "version"} of the layout it was written in
    directory: dict[str, str]  # {"id", "version", "checked_on"} of the crisis contacts used
    sections: dict[str, SectionContent] = field(default_factory=dict)
    clinician_notes: str = ""  # never shown to the person or printed on their copy
    schema: str = SCHEMA  # SCHEMA for plans; formulations keep theirs

    @classmethod
    def blank(cls, layout: PlanLayout, directory_ref: dict[str, str], schema: str = SCHEMA) -> PlanContent:
        return cls(dict(layout.ref), dict(directory_ref), {s.key: SectionContent() for s in layout.sections},
                   schema=schema)  # fmt: skip

    def section(self, key: str) -> SectionContent:
        return self.sections.setdefault(key, SectionContent())

    def copy(self) -> PlanContent:
        return copy.deepcopy(self)

    def to_payload(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "layout": self.layout,
            "directory": self.directory,
            "sections": {
                key: {"entries": s.entries, "state": s.state, "reason": s.reason}
                for key, s in self.sections.items()
                if not s.is_empty or s.reason
            },
            "clinician_notes": self.clinician_notes,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> PlanContent:
        sections: dict[str, SectionContent] = {}
        raw_sections = payload.get("sections") or {}
        for key, raw in raw_sections.items():
            if isinstance(raw, list):  # the early draft format: a list of strings per section
                sections[key] = SectionContent([{"text": str(t)} for t in raw])
            elif isinstance(raw, dict):
                entries = [{k: str(v) for k, v in e.items()} for e in raw.get("entries", []) if isinstance(e, dict)]
                sections[key] = SectionContent(entries, str(raw.get("state", "")), str(raw.get("reason", "")))
        if payload.get("contacts") and "people_to_ask" not in sections:  # early draft format
            sections["people_to_ask"] = SectionContent([dict(c) for c in payload["contacts"]])
        elif payload.get("contacts"):
            people = sections["people_to_ask"]
            if all("name" not in e for e in people.entries):
                people.entries = [dict(c) for c in payload["contacts"]]
        layout = payload.get("layout") or {"id": "perfectcare-default", "version": 1}
        notes = str(payload.get("clinician_notes", ""))
        schema = str(payload.get("schema") or SCHEMA)
        if schema.startswith("safety_plan"):
            schema = SCHEMA  # an early draft format is saved again as the current one
        return cls(dict(layout), dict(payload.get("directory") or {}), sections, notes, schema)

    def has_content(self) -> bool:
        return any(not s.is_empty for s in self.sections.values()) or bool(self.clinician_notes.strip())


def clean_entry(section: Section, entry: dict[str, str]) -> dict[str, str]:
    """An entry with only its section's fields, as plain text, checked for length."""
    out: dict[str, str] = {}
    limit = MAX_TEXT_CHARS if section.kind == "text" else MAX_FIELD_CHARS
    for name in section.fields:
        value = clean_text(entry.get(name, ""), multiline=name in ("text", "steps", "notes", "access", "reason"))
        if len(value) > limit:
            label = "text" if section.kind == "text" else FIELD_LABELS[name].lower()
            raise InvalidInput(
                f"'{section.title}': {label} is {len(value):,} characters; the limit is {limit:,}. "
                "Shorten it, or split it into two entries."
            )
        out[name] = value
    if section.kind == "explained" and out.get("date"):
        # A date in the record must be a real one: "when were the limits of confidentiality explained".
        when = parse_date(out["date"], f"'{section.title}': the date")
        out["date"] = when.strftime("%d/%m/%Y")
    return out


def validated(layout: PlanLayout, content: PlanContent) -> PlanContent:
    """A clean copy ready to save: plain text, known sections, no empty entries, lengths checked."""
    clean = content.copy()
    for key, section_content in list(clean.sections.items()):
        section = layout.section(key)
        if section is None:
            continue  # kept as written: a section of another layout version is never dropped
        entries = [clean_entry(section, e) for e in section_content.entries]
        section_content.entries = [e for e in entries if any(e.values())]
        if section_content.state not in ("", *SECTION_STATES):
            raise InvalidInput(f"'{section.title}': unknown section state {section_content.state!r}.")
        section_content.reason = clean_text(section_content.reason)
        if len(section_content.reason) > MAX_FIELD_CHARS:
            raise InvalidInput(f"'{section.title}': the reason is longer than {MAX_FIELD_CHARS:,} characters.")
    clean.clinician_notes = clean_text(clean.clinician_notes)
    if len(clean.clinician_notes) > MAX_NOTES_CHARS:
        raise InvalidInput(f"The clinician notes are longer than {MAX_NOTES_CHARS:,} characters; shorten them.")
    return clean


def entry_text(section: Section, entry: dict[str, str]) -> str:
    """One line for lists, history and comparison: the entry as the person would read it."""
    if section.kind in ("contacts", "people"):
        who = entry.get("name", "")
        if entry.get("relationship"):
            who += f" ({entry['relationship']})"
        parts = [who.strip(), entry.get("phone", ""), entry.get("notes", "")]
        return " — ".join(p for p in parts if p)
    if section.kind == "means":
        parts = [entry.get("method", "")]
        for name in ("access", "steps", "helper"):
            if entry.get(name):
                parts.append(f"{FIELD_LABELS[name]}: {entry[name]}")
        return " — ".join(p for p in parts if p)
    if section.kind == "sharing":
        return " — because ".join(p for p in (entry.get("decision", ""), entry.get("reason", "")) if p)
    if section.kind == "explained":
        return " — by ".join(p for p in (entry.get("date", ""), entry.get("by_whom", "")) if p)
    return entry.get("text", "")


@dataclass(frozen=True)
class PersonSection:
    key: str
    title: str
    lines: tuple[str, ...]
    note: str = ""  # e.g. "We talked about this; it does not apply to me right now."


def agreed_means_text(entry: dict[str, str]) -> str:
    """A means-safety entry as the person's copy shows it: the agreed steps and who helps, never the
    method or where the means are (the copy is read by others, and in the worst moment). An entry
    with no agreed step shows nothing; the sign checklist says so."""
    if not entry.get("steps", "").strip():
        return ""
    parts = [entry["steps"]] + ([f"{FIELD_LABELS['helper']}: {entry['helper']}"] if entry.get("helper") else [])
    return " — ".join(parts)


def person_view(layout: PlanLayout, content: PlanContent, *, for_clinicians: bool = False,
                means_detail: bool = False) -> list[PersonSection]:  # fmt: skip
    """What the person reads, in layout order: their entries, or a plain note for a section that was
    discussed and set aside. Clinician notes and the reason a section was declined stay out, and so do
    the method and access of a means-safety entry (`agreed_means_text`).

    `for_clinicians` (a formulation, the clinician record): the same sections, the notes in the
    record's own words with their reasons, means in full. `means_detail` (a version in history, for
    the clinician): means in full."""
    out = []
    for section in layout.sections:
        sc = content.sections.get(section.key) or SectionContent()
        note = ""
        if for_clinicians and sc.state and not sc.entries:
            note = SECTION_STATES.get(sc.state, sc.state) + (f": {sc.reason}" if sc.reason else "")
        elif sc.state == NOT_APPLICABLE and not sc.entries:
            note = "We talked about this. It does not apply to me right now."
        elif sc.state == DECLINED and not sc.entries:
            note = "We talked about this. I chose not to fill it in for now."
        if section.kind == "means" and not (for_clinicians or means_detail):
            texts = [agreed_means_text(e) for e in sc.entries]
        else:
            texts = [entry_text(section, e) for e in sc.entries]
        lines = tuple(t for t in texts if t.strip())
        out.append(PersonSection(section.key, section.title, lines, note))
    return out
