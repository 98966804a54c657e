"""Layouts as data: which sections a safety plan (or a safety formulation) has, their titles (and a short
heading in plain words for the easy-read copy) and the question to ask.

A layout is a JSON file (`resources/plan_layouts/*.json`, format `perfectcare.plan_layout/1`;
`resources/formulation_layouts/*.json`, `perfectcare.formulation_layout/1`); a trust can add its own
beside the default. Each record keeps the layout id and version it used, so an old one is always
shown with the sections it was written in. A malformed file is refused with a message naming the
file and the field, and the default layout is still offered (a built-in copy if even its file is
broken). Plans and formulations share this one loader; a LayoutType says what differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import LayoutInvalid
from ..resources import resources_dir

FORMAT = "perfectcare.plan_layout/1"
DEFAULT_LAYOUT_ID = "perfectcare-default"

# What an entry holds in each kind of section. "means": one method discussed, how the person could
# get to it, the steps agreed to make it harder, and who helps.
FIELDS: dict[str, tuple[str, ...]] = {
    "entries": ("text",),
    "contacts": ("name", "relationship", "phone", "notes"),
    "means": ("method", "access", "steps", "helper"),
    # Formulations: "text" is one free-text block (narrative, not a list).
    "text": ("text",),
    "people": ("name", "relationship", "notes"),
    "sharing": ("decision", "reason"),
    "explained": ("date", "by_whom"),
}
FIELD_LABELS = {
    "text": "Entry",
    "name": "Name",
    "relationship": "Who they are",
    "phone": "Phone",
    "notes": "Notes (hours, address)",
    "method": "Method discussed",
    "access": "Access",
    "steps": "Agreed steps",
    "helper": "Who will help",
    "decision": "Decision",
    "reason": "Reason",
    "date": "Date (DD/MM/YYYY)",
    "by_whom": "By whom",
}
EASY_READ_LIMIT = 80  # an easy-read heading is short: a few plain words
_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class Section:
    key: str
    kind: str  # a key of FIELDS
    title: str  # the person's heading, on their copy
    ask: str  # the question the clinician asks (shown in the editor only)
    example: str = ""
    crisis_directory: bool = False  # the national and trust crisis numbers are printed here
    part: str = ""  # the part of a formulation it belongs to ("Safety assessment", ...)
    easy_read: str = ""  # a short heading in plain words for the easy-read copy; "" means: the title

    @property
    def easy_read_title(self) -> str:
        return self.easy_read or self.title

    @property
    def fields(self) -> tuple[str, ...]:
        return FIELDS[self.kind]


@dataclass(frozen=True)
class PlanLayout:
    layout_id: str
    version: int
    title: str
    intro: str
    sections: tuple[Section, ...]
    source: str = ""  # file it came from, for messages

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    @property
    def ref(self) -> dict[str, Any]:
        return {"id": self.layout_id, "version": self.version}


def _text(data: dict[str, Any], name: str, where: str, *, required: bool = True, limit: int = 1000) -> str:
    value = data.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise LayoutInvalid(f"{where}: '{name}' must be {'non-empty ' if required else ''}text.")
    if len(value) > limit:
        raise LayoutInvalid(f"{where}: '{name}' is longer than {limit} characters.")
    return value.strip()


@dataclass(frozen=True)
class LayoutType:
    """What differs between plan and formulation layouts."""

    format: str
    folder: str  # under resources/
    kinds: tuple[str, ...]
    default_id: str
    fallback: PlanLayout


def parse_layout(data: object, source: str, layout_type: LayoutType | None = None) -> PlanLayout:
    """Check a layout's structure; the message names the file and the field at fault."""
    lt = layout_type or PLAN_LAYOUTS
    if not isinstance(data, dict):
        raise LayoutInvalid(f"{source}: a layout must be a JSON object.")
    if data.get("format") != lt.format:
        raise LayoutInvalid(f"{source}: 'format' must be \"{lt.format}\" (found {data.get('format')!r}).")
    layout_id = _text(data, "id", source, limit=64)
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise LayoutInvalid(f"{source}: 'version' must be a whole number from 1 (found {version!r}).")
    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise LayoutInvalid(f"{source}: 'sections' must be a non-empty list.")
    sections: list[Section] = []
    for n, raw in enumerate(raw_sections, start=1):
        where = f"{source}: section {n}"
        if not isinstance(raw, dict):
            raise LayoutInvalid(f"{where} must be a JSON object.")
        key = _text(raw, "key", where, limit=40)
        if not set(key) <= _KEY_CHARS:
            raise LayoutInvalid(f"{where}: 'key' may use only a-z, 0-9 and _ (found {key!r}).")
        if any(s.key == key for s in sections):
            raise LayoutInvalid(f"{where}: the key {key!r} is used twice.")
        kind = raw.get("kind")
        if kind not in lt.kinds:
            raise LayoutInvalid(f"{where} ({key}): 'kind' must be one of {', '.join(lt.kinds)} (found {kind!r}).")
        unknown = set(raw) - {"key", "kind", "title", "ask", "example", "crisis_directory", "part", "easy_read"}
        if unknown:
            raise LayoutInvalid(f"{where} ({key}): unknown field(s) {', '.join(sorted(unknown))}.")
        directory = raw.get("crisis_directory", False)
        if not isinstance(directory, bool):
            raise LayoutInvalid(f"{where} ({key}): 'crisis_directory' must be true or false.")
        sections.append(
            Section(
                key,
                kind,
                _text(raw, "title", f"{where} ({key})", limit=200),
                _text(raw, "ask", f"{where} ({key})"),
                _text(raw, "example", f"{where} ({key})", required=False),
                directory,
                _text(raw, "part", f"{where} ({key})", required=False, limit=200),
                _text(raw, "easy_read", f"{where} ({key})", required=False, limit=EASY_READ_LIMIT),
            )
        )
    unknown = set(data) - {"format", "id", "version", "title", "intro", "sections"}
    if unknown:
        raise LayoutInvalid(f"{source}: unknown field(s) {', '.join(sorted(unknown))}.")
    return PlanLayout(
        layout_id,
        version,
        _text(data, "title", source, limit=200),
        _text(data, "intro", source, required=False),
        tuple(sections),
        source,
    )


def load_layout(path: Path, layout_type: LayoutType | None = None) -> PlanLayout:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LayoutInvalid(f"{path.name}: the layout file cannot be read ({exc.strerror or exc}).") from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise LayoutInvalid(f"{path.name}: the file is not UTF-8 text.") from exc
    except json.JSONDecodeError as exc:
        raise LayoutInvalid(f"{path.name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from exc
    return parse_layout(data, path.name, layout_type)


@dataclass(frozen=True)
class LayoutCatalogue:
    """Every usable layout by (id, version), and a message for each file that was refused."""

    layouts: dict[tuple[str, int], PlanLayout]
    problems: tuple[str, ...]
    layout_type: LayoutType | None = None

    def latest(self, layout_id: str | None = None) -> PlanLayout:
        lt = self.layout_type or PLAN_LAYOUTS
        layout_id = layout_id or lt.default_id
        found = [v for (i, _), v in self.layouts.items() if i == layout_id]
        if not found:
            return self.latest(lt.default_id) if layout_id != lt.default_id else lt.fallback
        return max(found, key=lambda layout: layout.version)

    def for_record(self, ref: dict[str, Any] | None) -> PlanLayout:
        """The layout a saved plan was written in (or the newest of its id, or the default)."""
        if isinstance(ref, dict):
            exact = self.layouts.get((str(ref.get("id")), ref.get("version")))  # type: ignore[arg-type]
            if exact is not None:
                return exact
            return self.latest(str(ref.get("id")))
        return self.latest()


def load_catalogue(folders: list[Path] | None = None, layout_type: LayoutType | None = None) -> LayoutCatalogue:
    """The shipped layouts plus any in the given folders (a trust's own), later folders winning."""
    lt = layout_type or PLAN_LAYOUTS
    folders = folders if folders is not None else [resources_dir() / lt.folder]
    layouts: dict[tuple[str, int], PlanLayout] = {}
    problems: list[str] = []
    for folder in folders:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                layout = load_layout(path, lt)
            except LayoutInvalid as exc:
                problems.append(str(exc))
                continue
            layouts[(layout.layout_id, layout.version)] = layout
    if not any(i == lt.default_id for i, _ in layouts):
        layouts[(lt.default_id, lt.fallback.version)] = lt.fallback
    return LayoutCatalogue(layouts, tuple(problems), lt)


# Used only when the shipped default file is missing or broken, so a plan can always be written.
# The wording matches resources/plan_layouts/default.json (a test keeps them in step).
BUILTIN_FALLBACK = PlanLayout(
    DEFAULT_LAYOUT_ID,
    1,
    "My safety plan",
    "",
    (
        Section("warning_signs", "entries", "When to use this plan: my warning signs",
                "What tells you a crisis may be building?",
                easy_read="Signs I am not OK"),
        Section("coping_alone", "entries", "Things I can do on my own",
                "What can you do by yourself to get through the next few minutes or hours?",
                easy_read="Things I can do by myself"),
        Section("distractions", "entries", "People and places that take my mind off things",
                "Who could you be with, or where could you go, that takes your mind off things?",
                easy_read="Places to go and people to be with"),
        Section("people_to_ask", "contacts", "People I can ask for help",
                "Who could you ask for help? Write their name and number.",
                easy_read="People who can help me"),
        Section("professionals", "contacts", "Professionals and services I can contact",
                "Which professionals and services can you contact, in the day and out of hours?",
                crisis_directory=True, easy_read="Services I can call for help"),
        Section("making_safer", "means", "Making my situation safer",
                "For each method discussed: access, agreed steps, and who will help.",
                easy_read="Keeping safe at home"),
        Section("reasons_for_living", "entries", "What matters most to me",
                "What matters most to you?", easy_read="What matters to me"),
        Section("where_plan_kept", "entries", "Where I keep this plan and who has a copy",
                "Where will you keep the plan? Who else should have a copy?",
                easy_read="Where I keep my plan"),
        Section("using_plan", "entries", "Using this plan",
                "How likely are you to use this plan? What might get in the way?",
                easy_read="Using my plan"),
    ),
    "built-in",
)  # fmt: skip

PLAN_LAYOUTS = LayoutType(FORMAT, "plan_layouts", ("entries", "contacts", "means"), DEFAULT_LAYOUT_ID, BUILTIN_FALLBACK)
