"""What is wrong with printing a person's plan, in sentences naming the version that prints: two
versions not merged, a draft with no agreed plan, fewer than three sections filled."""

from __future__ import annotations

from datetime import date

import pytest

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical import plans
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_content import DECLINED, PlanContent, SectionContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.print_checks import (
    DRAFT_ONLY,
    NEARLY_EMPTY,
    TWO_HEADS,
    print_problems,
    version_to_print,
)
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.errors import NotFound

LAYOUT = load_catalogue().latest()
AGREED_ON, REVIEW = date(2026, 11, 20), date(2027, 2, 20)


def content(filled: int) -> PlanContent:
    c = PlanContent.blank(LAYOUT, load_directory().ref)
    for section in LAYOUT.sections[:filled]:
        c.sections[section.key] = SectionContent([{"text": f"Something for {section.key}"}])
    return c


def person(session: Session, nhs: str = "9434765919") -> str:
    return session.patients.add(PatientDetails("Ann", "Jones", date(1980, 1, 1), nhs))


def sign(session: Session, pid: str, c: PlanContent, base: str | None = None) -> str:
    return plans.sign_plan(session, pid, LAYOUT, c, base, agreed_with_person=True, agreed_on=AGREED_ON,
                           review_due=REVIEW)  # fmt: skip


def kinds(session: Session, pid: str) -> list[str]:
    return [p.kind for p in print_problems(plans.load_plan(session, pid, audit_view=False))]


def test_an_agreed_plan_with_enough_in_it_prints_without_a_question(session: Session) -> None:
    pid = person(session)
    sign(session, pid, content(3))
    assert kinds(session, pid) == []


def test_a_draft_only_plan_says_the_draft_prints_marked(session: Session) -> None:
    pid = person(session)
    plans.save_draft(session, pid, LAYOUT, content(5), None)
    (problem,) = print_problems(plans.load_plan(session, pid, audit_view=False))
    assert problem.kind == DRAFT_ONLY
    assert "no agreed plan" in problem.sentence and "the draft saved on 27 November 2026" in problem.sentence
    assert "Draft — not yet agreed" in problem.sentence


def test_fewer_than_three_filled_sections_counts_only_sections_with_entries(session: Session) -> None:
    pid = person(session)
    c = content(2)
    c.sections[LAYOUT.sections[4].key] = SectionContent(state=DECLINED, reason="not today")  # a decision, no entry
    sign(session, pid, c)
    (problem,) = print_problems(plans.load_plan(session, pid, audit_view=False))
    assert problem.kind == NEARLY_EMPTY
    assert "Only 2 of the plan's sections have" in problem.sentence
    assert "the agreed plan of 20 November 2026" in problem.sentence


def test_two_heads_name_the_version_that_prints_and_why(session: Session) -> None:
    pid = person(session)
    agreed = sign(session, pid, content(5))
    # Two PCs each saved a revision from the same agreed plan without seeing the other's (after sync).
    plans.save_draft(session, pid, LAYOUT, content(5), agreed)
    plans.save_draft(session, pid, LAYOUT, content(1), agreed)
    state = plans.load_plan(session, pid, audit_view=False)
    assert state.in_conflict
    version, draft = version_to_print(state)
    assert version.version_id == agreed and not draft  # the plan in use still prints
    (problem,) = print_problems(state)
    assert problem.kind == TWO_HEADS
    assert "2 versions saved on different PCs" in problem.sentence
    assert "the agreed plan of 20 November 2026 would print because it is the plan in use" in problem.sentence


def test_every_problem_at_once_and_nothing_to_print_is_refused(session: Session) -> None:
    pid = person(session)
    first = plans.save_draft(session, pid, LAYOUT, content(1), None)
    plans.save_draft(session, pid, LAYOUT, content(1), first)
    plans.save_draft(session, pid, LAYOUT, content(2), first)
    assert kinds(session, pid) == [TWO_HEADS, DRAFT_ONLY, NEARLY_EMPTY]
    with pytest.raises(NotFound, match="no safety plan yet"):
        print_problems(plans.load_plan(session, person(session, "9434765870"), audit_view=False))


# --- information needs a printed copy does not meet (hazard H08) ------------------------------------------
def test_needs_a_printed_copy_does_not_meet_are_said_with_what_to_do() -> None:
    from perfectcare_desktop.core.clinical.print_checks import NEEDS, needs_problems
    from perfectcare_desktop.core.patients.details import PatientDetails

    def person(needs: tuple[str, ...] = (), language: str = "") -> PatientDetails:
        return PatientDetails("Siân", "Roberts", date(1991, 2, 3), "9434765919", preferred_language=language,
                              access_needs=needs)  # fmt: skip

    assert needs_problems(person(), "standard") == ()
    assert needs_problems(person(("large print",)), "large-print") == ()
    assert needs_problems(person(("large print",)), "easy-read") == ()  # 16 pt meets it
    assert needs_problems(person(("easy read",)), "easy-read") == ()
    assert needs_problems(person(language="English"), "standard") == ()
    (large,) = needs_problems(person(("large print",)), "standard")
    assert large.kind == NEEDS and "needs large print, and this is the standard copy" in large.sentence
    braille, interpreter = needs_problems(person(("braille", "interpreter")), "standard")
    assert "braille" in braille.sentence and "transcription service" in braille.sentence
    assert "with an interpreter" in interpreter.sentence
    (audio,) = needs_problems(person(("audio",)), "large-print")
    assert "read the plan through with them" in audio.sentence
    (urdu,) = needs_problems(person(language="Urdu"), "standard")
    assert "preferred language is Urdu" in urdu.sentence and "in English" in urdu.sentence
