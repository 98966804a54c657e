"""What is wrong with printing a person's safety plan, said before it is printed (no Qt here).

    version, draft = version_to_print(state)     # the version a person's copy is made from
    problems = print_problems(state)             # () when it can be printed without a question

A person's copy that quietly prints the wrong plan is a hazard: after sync a record can have two
heads (two PCs saved without seeing each other: one of them prints, the other may be newer); with
no agreed plan the current draft prints, marked "Draft — not yet agreed"; a plan with fewer than
three filled sections gives the person little to use in a crisis; a contact in the plan may be
someone the safety formulation records as not to be involved (core/clinical/involvement.py: a possible match
by name, for the clinician to check). Each problem is one sentence naming the version that prints
(its status and date) or, for involvement, the contact as the plan has it. The print dialog asks the clinician first;
a batch leaves such people out unless the user asks to include them; counts per `kind` are safe
to log, the sentences are not (an involvement sentence names a contact): they are for the screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ...errors import NotFound
from ..patients.details import PatientDetails
from ..storage.versions import VersionInfo
from .formulations import FormulationState
from .involvement import match_sentence, not_involved, possible_matches
from .plan_content import PlanContent
from .plans import DRAFT, REVISION, PlanState
from .wording import long_date

TWO_HEADS, DRAFT_ONLY, NEARLY_EMPTY, NOT_INVOLVED = "two-versions", "draft", "nearly-empty", "not-involved"
NEEDS = "needs"  # an information need a printed copy does not meet: asked in the print dialog, never a batch's reason
MIN_FILLED_SECTIONS = 3
# Short names for counts in the CLI, logs and the batch report.
KIND_LABELS = {
    TWO_HEADS: "two versions not yet merged",
    DRAFT_ONLY: "no agreed plan (a draft would print)",
    NEARLY_EMPTY: f"fewer than {MIN_FILLED_SECTIONS} sections filled in",
    NOT_INVOLVED: "a contact may be someone the person does not want involved",
    NEEDS: "an information need the printed copy does not meet",
}
# What a copy in print cannot do for a recorded need, and what the clinician can do instead.
_UNMET = {
    "braille": "needs information in braille, and this copy is in print: arrange a braille copy (the trust's "
    "transcription service) and go through the plan with them",
    "audio": "needs information in audio, and this copy is in print: read the plan through with them, or arrange "
    "an audio copy",
    "interpreter": "needs an interpreter: go through this copy with them with an interpreter before they take it",
}
# The copies that meet a print need (easy read is 16 pt, so it meets large print too).
_MEETS = {"large print": ("large-print", "easy-read", "phone"), "easy read": ("easy-read",)}
_ENGLISH = {"", "english", "en", "en-gb", "saesneg"}
_NO_PLAN = {
    "offered_declined": "The offer of a safety plan was declined",
    "ended": "The plan has ended",
}


@dataclass(frozen=True)
class PrintProblem:
    kind: str  # TWO_HEADS, DRAFT_ONLY, NEARLY_EMPTY or NOT_INVOLVED
    sentence: str


def version_to_print(state: PlanState) -> tuple[VersionInfo, bool]:
    """(the version a person's copy is made from, whether it is a draft): the agreed plan in use, or
    else the current draft. NotFound, in words, when there is nothing to print."""
    if state.agreed is not None:
        return state.agreed, False
    current = state.current
    if current is None:
        raise NotFound("This person has no safety plan yet, so there is nothing to print.")
    if current.status not in (DRAFT, REVISION, "current"):
        reason = _NO_PLAN.get(current.status, "No plan is in use")
        raise NotFound(f"{reason}, so there is no plan to print for this person.")
    return current, True


def describe(version: VersionInfo, draft: bool) -> str:
    """'the agreed plan of 20 November 2026' / 'the draft saved on 27 November 2026'."""
    if draft:
        return f"the draft saved on {long_date(version.created_at.date())}"
    agreed_on = version.payload.get("agreed_on")
    try:
        day: date = datetime.fromisoformat(str(agreed_on)).date() if agreed_on else version.created_at.date()
    except ValueError:
        day = version.created_at.date()
    return f"the agreed plan of {long_date(day)}"


def filled_sections(version: VersionInfo) -> int:
    """Sections with at least one entry that holds some text (a section only marked 'not applicable'
    or 'declined' is a decision, not content the person can use)."""
    content = PlanContent.from_payload(version.payload)
    return sum(
        1 for sc in content.sections.values() if any(any(str(v).strip() for v in e.values()) for e in sc.entries)
    )


def print_problems(state: PlanState, formulation: FormulationState | None = None) -> tuple[PrintProblem, ...]:
    """What the clinician should hear before the person's copy is printed; () when nothing. Raises
    NotFound (as printing would) when there is no plan to print. `formulation`: the person's safety
    formulation, for the involvement cross-check (None: not checked)."""
    version, draft = version_to_print(state)
    which = describe(version, draft)
    problems = []
    if state.in_conflict:
        why = (
            "it is the plan in use, the newest agreement"
            if not draft
            else "there is no agreed plan, and it is the newest draft"
        )
        problems.append(
            PrintProblem(
                TWO_HEADS,
                f"This plan has {len(state.heads)} versions saved on different PCs that have not been merged; "
                f"{which} would print because {why}, and the other may hold newer changes. Compare and merge "
                "them on the Safety plan tab first.",
            )
        )
    if draft:
        problems.append(
            PrintProblem(
                DRAFT_ONLY,
                f"There is no agreed plan: {which} would print, marked 'Draft — not yet agreed' on every page.",
            )
        )
    filled = filled_sections(version)
    if filled < MIN_FILLED_SECTIONS:
        problems.append(
            PrintProblem(
                NEARLY_EMPTY,
                f"Only {filled} of the plan's sections {'has' if filled == 1 else 'have'} anything written in "
                f"{which}, which would print; a copy with fewer than {MIN_FILLED_SECTIONS} gives the person "
                "little to turn to.",
            )
        )
    if formulation is not None:
        problems.extend(involvement_problems(state, formulation))
    return tuple(problems)


def involvement_problems(state: PlanState, formulation: FormulationState) -> tuple[PrintProblem, ...]:
    """A contact in the version that prints who may be someone the person does not want involved
    (core/clinical/involvement.py), one problem per contact, naming the contact as the plan has it."""
    version, _draft = version_to_print(state)
    people = not_involved(formulation)
    matches = possible_matches(PlanContent.from_payload(version.payload), people)
    return tuple(PrintProblem(NOT_INVOLVED, match_sentence(m)) for m in matches)


def needs_problems(details: PatientDetails, variant: str) -> tuple[PrintProblem, ...]:
    """The person's recorded accessible information needs (and a preferred language other than English)
    that the copy about to print does not meet, each with what to do instead (Accessible Information
    Standard). The print dialog asks before printing; a batch does not leave the person out for them."""
    said = []
    for need in details.access_needs:
        if need in _UNMET:
            said.append(f"The person {_UNMET[need]}.")
        elif need in _MEETS and variant not in _MEETS[need]:
            said.append(f"The person needs {need}, and this is the {variant.replace('-', ' ')} copy: choose the "
                        f"{_MEETS[need][0].replace('-', ' ')} copy.")  # fmt: skip
    language = details.preferred_language.strip()
    if language.casefold() not in _ENGLISH:
        said.append(f"The person's preferred language is {language}; this copy's headings and crisis box are in "
                    "English (copies in other languages are not available yet): go through it with them, with an "
                    "interpreter if they need one.")  # fmt: skip
    return tuple(PrintProblem(NEEDS, sentence) for sentence in said)
