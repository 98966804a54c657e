"""Involvement cross-check: a plan contact who may be someone the person does not want involved.

    names = not_involved(formulation_state)            # as the safety formulation records them
    for m in possible_matches(plan_content, names): ...  # contacts of the plan that may be one of them

Hazard: the plan, handed to or shared with the people it lists, reaches someone the person said must
not be involved. The safety formulation records those people ("People the person does not want
involved"); a plan's contacts are the entries of its contacts sections (they carry a name) and who
helps with each step to make the situation safer. Names are compared case-, accent-, punctuation-
and whitespace-insensitively, as whole names or by the given name where one side gives only that
("Jo" and "Jo Smith"). A name may be shared by two people, so every match is said as a possible
match for the clinician to check, never as a fact, and nothing is blocked. Where the formulation
gives no name, only who the person is ("Dad"), that is compared with the contact's name and
relationship in the same way. No Qt; the sentences name people, so they go to the clinician's
screen only, never to a log.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from .formulations import FormulationState
from .plan_content import PlanContent
from .plan_layout import PlanLayout

NOT_INVOLVED_KEY = "not_involved"  # the formulation section: "People the person does not want involved"


@dataclass(frozen=True)
class PossibleMatch:
    contact: str  # the contact as the plan has it: its name (or who they are, if it has no name)
    section_key: str  # the plan section it is in
    not_involved: str  # the person as the formulation records them: name, or who they are


def normalised(text: str) -> str:
    """Case, accents, punctuation and spacing set aside: 'Siân  O’Brien-Jones' -> 'sian obrien jones'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    out = []
    for ch in decomposed:
        if unicodedata.combining(ch) or ch in "'’‘`´":
            continue  # accents and apostrophes: Siân = Sian, O'Brien = OBrien
        out.append(ch if ch.isalnum() else " ")  # hyphens, dots, commas: word breaks
    return " ".join("".join(out).split())


def same_name(a: str, b: str) -> bool:
    """The whole name, or the given name where one of the two is a given name only ('Jo' ~ 'Jo Smith').
    Two full names that differ ('Jo Smith', 'Jo Evans') are two people."""
    na, nb = normalised(a), normalised(b)
    if not na or not nb:
        return False
    if na == nb:
        return True
    ta, tb = na.split(), nb.split()
    return (len(ta) == 1 or len(tb) == 1) and ta[0] == tb[0]


def not_involved(state: FormulationState) -> list[dict[str, str]]:
    """The people the formulation records as not to be involved: from the formulation in force and,
    when a newer draft exists, from it too (what the person said is heeded before it is signed)."""
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, str]] = []
    for version in (state.in_use, state.current):
        if version is None:
            continue
        section = PlanContent.from_payload(version.payload).sections.get(NOT_INVOLVED_KEY)
        for entry in section.entries if section else []:
            key = (normalised(entry.get("name", "")), normalised(entry.get("relationship", "")))
            if any(key) and key not in seen:
                seen.add(key)
                out.append(entry)
    return out


def _contact_matches(contact: dict[str, str], person: dict[str, str]) -> bool:
    name, who = person.get("name", ""), person.get("relationship", "")
    if normalised(name):
        return same_name(contact.get("name", ""), name)
    # No name recorded, only who they are ("Dad", "ex-partner"): the contact's name or relationship.
    return normalised(who) in (normalised(contact.get("name", "")), normalised(contact.get("relationship", "")))


def possible_matches(content: PlanContent, people: list[dict[str, str]]) -> list[PossibleMatch]:
    """Each plan contact that may be one of `people`, in the plan's order (contacts are the entries
    that carry a name field: the contacts sections of any layout; and who helps with a means-safety
    step)."""
    out: list[PossibleMatch] = []
    if not people:
        return out
    for key, section in content.sections.items():
        for entry in section.entries:
            if "name" in entry:
                contact = entry
            elif entry.get("helper", "").strip():  # a means-safety step's "who will help" is a person too
                contact = {"name": entry["helper"]}
            else:
                continue
            for person in people:
                if _contact_matches(contact, person):
                    shown = contact.get("name") or contact.get("relationship", "")
                    recorded = person.get("name") or person.get("relationship", "")
                    out.append(PossibleMatch(shown.strip(), key, recorded.strip()))
                    break
    return out


def match_sentence(match: PossibleMatch, layout: PlanLayout | None = None) -> str:
    """One sentence for the clinician, naming the contact as the plan has it."""
    section = layout.section(match.section_key) if layout is not None else None
    where = f" under '{section.title}'" if section is not None else ""
    same = "" if normalised(match.contact) == normalised(match.not_involved) else f" ('{match.not_involved}')"
    return (
        f"'{match.contact}'{where} in the plan may be someone the person does not want involved{same}, as recorded "
        "in the safety formulation. It is a possible match by name only, and names can be shared: check with "
        "the person before the plan is signed, shared or printed."
    )
