"""Prompts to the clinician about how complete and specific a plan is, shown beside the editor at
signing. Never on the person's copy, never a score or a rating: each is one plain sentence the
clinician may act on or sign past.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..patients.phone import phone_warning
from .plan_content import PlanContent
from .plan_layout import PlanLayout

# Sections whose absence the evidence singles out (clinical-facts.md §1.4-1.5): help contacts,
# professional contacts, means safety, reasons for living.
_MISSING = {
    "people_to_ask": "No one is listed to ask for help. If the person has no one, record that it was discussed.",
    "professionals": "No professional or service contact is listed (care team, out-of-hours, emergency department).",
    "making_safer": "No discussion of making the situation safer is recorded.",
    "reasons_for_living": "Nothing is recorded about what matters most to the person.",
}


@dataclass(frozen=True)
class Prompt:
    section_key: str
    text: str


def plan_prompts(layout: PlanLayout, content: PlanContent) -> list[Prompt]:
    out: list[Prompt] = []
    for section in layout.sections:
        sc = content.sections.get(section.key)
        entries = sc.entries if sc else []
        if not entries and not (sc and sc.state):
            out.append(Prompt(section.key, _MISSING.get(section.key) or
                              f"'{section.title}' is empty and not marked as discussed."))  # fmt: skip
            continue
        if section.kind == "contacts":
            for e in entries:
                who = e.get("name") or e.get("relationship") or "A contact"
                warning = phone_warning(e.get("phone", ""))
                if not e.get("phone", "").strip():
                    out.append(Prompt(section.key, f"{who} ({section.title}) has no phone number."))
                elif warning:
                    out.append(Prompt(section.key, f"{who}: the phone number may be wrong. {warning}"))
        if section.kind == "means":
            for e in entries:
                if not e.get("steps", "").strip():
                    what = e.get("method") or "A method discussed"
                    out.append(
                        Prompt(
                            section.key,
                            f"{what}: no agreed steps to make it harder to reach, so it is left off the person's copy.",
                        )
                    )
    return out
