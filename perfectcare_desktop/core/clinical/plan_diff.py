"""Side-by-side comparison of two plan versions, section by section, entry by entry."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .plan_content import SECTION_STATES, PlanContent, entry_text
from .plan_layout import PlanLayout

SAME, CHANGED, ADDED, REMOVED = "same", "changed", "added", "removed"


@dataclass(frozen=True)
class DiffRow:
    section: str  # the section title
    left: str  # the older version's text ("" when added)
    right: str  # the newer version's text ("" when removed)
    change: str  # SAME, CHANGED, ADDED or REMOVED


def _lines(layout: PlanLayout, content: PlanContent, key: str) -> list[str]:
    section = layout.section(key)
    sc = content.sections.get(key)
    if section is None or sc is None:
        return []
    lines = [entry_text(section, e) for e in sc.entries]
    if sc.state:
        lines.append(SECTION_STATES.get(sc.state, sc.state) + (f": {sc.reason}" if sc.reason else ""))
    return lines


def compare(layout: PlanLayout, old: PlanContent, new: PlanContent) -> list[DiffRow]:
    rows: list[DiffRow] = []
    blocks = [(s.key, s.title) for s in layout.sections]
    for key, title in blocks:
        a, b = _lines(layout, old, key), _lines(layout, new, key)
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
            if op == "equal":
                rows += [DiffRow(title, x, x, SAME) for x in a[i1:i2]]
            elif op == "replace":
                left, right = a[i1:i2], b[j1:j2]
                for n in range(max(len(left), len(right))):
                    lt = left[n] if n < len(left) else ""
                    rt = right[n] if n < len(right) else ""
                    rows.append(DiffRow(title, lt, rt, CHANGED if lt and rt else (REMOVED if lt else ADDED)))
            elif op == "delete":
                rows += [DiffRow(title, x, "", REMOVED) for x in a[i1:i2]]
            elif op == "insert":
                rows += [DiffRow(title, "", x, ADDED) for x in b[j1:j2]]
    if old.clinician_notes != new.clinician_notes:
        rows.append(DiffRow("Clinician notes", old.clinician_notes, new.clinician_notes, CHANGED))
    return rows
