"""Involvement cross-check (hazard: the plan shared with someone the person said must not be involved):
names matched case-, accent- and whitespace-insensitively, whole or by given name; the print check
names the contact as the plan has it and says it is a possible match; the formulation link to the
plan is taken when the formulation is signed."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import pytest

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical import formulations, plans
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.involvement import normalised, not_involved, possible_matches, same_name
from perfectcare_desktop.core.clinical.plan_content import PlanContent, SectionContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.print_checks import KIND_LABELS, NOT_INVOLVED, print_problems
from perfectcare_desktop.core.patients.details import PatientDetails

PLAN_LAYOUT = load_catalogue().latest()
F_LAYOUT = load_catalogue(layout_type=formulations.FORMULATION_LAYOUTS).latest()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Siân Jones", "sian  jones"),  # accents, case, spacing
        ("  JO SMITH ", "Jo Smith"),
        ("Mary-Jane O’Brien", "mary jane obrien"),  # hyphen, curly apostrophe
        ("Jo", "Jo Smith"),  # a given name only, either way round
        ("Zoë Evans", "Zoe"),
        ("Dafydd", "dafydd"),
    ],
)
def test_names_that_may_be_the_same_person(a: str, b: str) -> None:
    assert same_name(a, b) and same_name(b, a)


@pytest.mark.parametrize(("a", "b"), [("Jo Smith", "Jo Evans"), ("Jo", "Joanne"), ("Smith", "Jo Smith"), ("", "")])
def test_names_that_are_not_matched(a: str, b: str) -> None:
    assert not same_name(a, b)


def test_normalised() -> None:
    assert normalised("Siân  O’Brien-Jones") == "sian obrien jones"


def person(session: Session) -> str:
    return session.patients.add(PatientDetails("Ann", "Jones", date(1980, 1, 1), "9434765919"))


def plan_content(*contacts: dict[str, str]) -> PlanContent:
    c = PlanContent.blank(PLAN_LAYOUT, load_directory().ref)
    c.sections["warning_signs"] = SectionContent([{"text": "I stop eating"}])
    c.sections["coping_alone"] = SectionContent([{"text": "Walk the dog"}])
    c.sections["people_to_ask"] = SectionContent([dict(x) for x in contacts])
    c.sections["professionals"] = SectionContent([{"name": "Crisis team", "relationship": "", "phone": "0151 123 4567",
                                                   "notes": ""}])  # fmt: skip
    return c


def contact(name: str, relationship: str = "") -> dict[str, str]:
    return {"name": name, "relationship": relationship, "phone": "07700 900123", "notes": ""}


def formulation(session: Session, pid: str, *people: dict[str, str], sign: bool = True) -> None:
    c = PlanContent.blank(F_LAYOUT, {}, schema=formulations.SCHEMA)
    c.sections["presenting"] = SectionContent([{"text": "Low since the eviction notice."}])
    c.sections["not_involved"] = SectionContent([{"relationship": "", "notes": "", **p} for p in people])
    if sign:
        today = session.store.clock.now().date()
        formulations.sign_formulation(session, pid, F_LAYOUT, c, None, review_due=today + timedelta(days=28))
    else:
        formulations.save_draft(session, pid, F_LAYOUT, c, None)


def sign_plan(session: Session, pid: str, c: PlanContent) -> str:
    return plans.sign_plan(session, pid, PLAN_LAYOUT, c, None, agreed_with_person=True, agreed_on=date(2026, 11, 20),
                           review_due=date(2027, 2, 20))  # fmt: skip


def test_a_contact_the_formulation_records_as_not_involved_is_a_print_problem_naming_the_contact(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    pid = person(session)
    sign_plan(session, pid, plan_content(contact("Jo Smith", "sister"), contact("Dafydd", "brother")))
    formulation(session, pid, {"name": "jo", "notes": "Controlling; the person does not want her told."})
    caplog.set_level(logging.DEBUG)
    plan = plans.load_plan(session, pid, audit_view=False)
    assert [p.kind for p in print_problems(plan)] == []  # without the formulation: not checked
    (problem,) = print_problems(plan, formulations.load_formulation(session, pid, audit_view=False))
    assert problem.kind == NOT_INVOLVED and NOT_INVOLVED in KIND_LABELS
    assert "'Jo Smith'" in problem.sentence  # as the plan has it
    assert "('jo')" in problem.sentence  # and as the formulation has it
    assert "possible match" in problem.sentence and "names can be shared" in problem.sentence
    assert "Dafydd" not in problem.sentence
    assert "Jo Smith" not in caplog.text and "Controlling" not in caplog.text  # no patient detail in logs


def test_no_problem_when_no_contact_matches_or_there_is_no_formulation(session: Session) -> None:
    pid = person(session)
    sign_plan(session, pid, plan_content(contact("Jo Evans")))
    empty = formulations.load_formulation(session, pid, audit_view=False)
    plan = plans.load_plan(session, pid, audit_view=False)
    assert print_problems(plan, empty) == ()
    formulation(session, pid, {"name": "Jo Smith"})
    assert print_problems(plan, formulations.load_formulation(session, pid, audit_view=False)) == ()


def test_a_relationship_only_entry_and_a_draft_formulation_are_heeded(session: Session) -> None:
    pid = person(session)
    formulation(session, pid, {"name": "", "relationship": "Ex-partner"}, sign=False)
    people = not_involved(formulations.load_formulation(session, pid, audit_view=False))
    found = possible_matches(plan_content(contact("Sam", "ex partner"), contact("Mum")), people)
    assert [(m.contact, m.section_key, m.not_involved) for m in found] == [("Sam", "people_to_ask", "Ex-partner")]


def test_who_helps_with_making_the_situation_safer_is_checked_too(session: Session) -> None:
    c = plan_content(contact("Dafydd"))
    c.sections["making_safer"] = SectionContent([{"method": "Tablets", "access": "At home",
                                                  "steps": "Kept by someone else", "helper": "Jo Smith"}])  # fmt: skip
    found = possible_matches(c, [{"name": "Jo", "relationship": "", "notes": ""}])
    assert [(m.contact, m.section_key) for m in found] == [("Jo Smith", "making_safer")]


def test_a_formulation_signed_after_the_plan_links_the_plan_in_force_at_signing(session: Session) -> None:
    pid = person(session)
    formulation(session, pid, {"name": "Jo"}, sign=False)  # begun before the plan was agreed
    agreed = sign_plan(session, pid, plan_content(contact("Dafydd")))
    c = PlanContent.blank(F_LAYOUT, {}, schema=formulations.SCHEMA)
    c.sections["presenting"] = SectionContent([{"text": "Agreed a plan today."}])
    base = formulations.load_formulation(session, pid, audit_view=False).current.version_id
    today = session.store.clock.now().date()
    formulations.sign_formulation(session, pid, F_LAYOUT, c, base, review_due=today + timedelta(days=28))
    signed = formulations.load_formulation(session, pid, audit_view=False).current
    assert signed.payload["safety_plan_version"] == agreed


def test_a_batch_leaves_out_a_plan_with_a_contact_the_person_does_not_want_involved(
    session: Session, tmp_path: Path
) -> None:
    """The exporter (which the print dialog and the batch both use) runs the cross-check: the batch
    leaves the person out and lists why, unless told to include them."""
    from perfectcare_desktop.export.batch import export_batch
    from perfectcare_desktop.export.service import Exporter

    pid = person(session)
    sign_plan(session, pid, plan_content(contact("Jo Smith", "sister"), contact("Dafydd", "brother")))
    formulation(session, pid, {"name": "Jo Smith", "notes": ""})
    patient = session.patients.get(pid, audit_view=False)
    assert [p.kind for p in Exporter(session).problems(patient)] == [NOT_INVOLVED]
    (tmp_path / "a").mkdir()
    left = export_batch(session, [patient], "standard", out_dir=tmp_path / "a")
    assert left.printed == 0 and left.files == () and not list((tmp_path / "a").iterdir())
    assert [lo.kinds for lo in left.left_out] == [(NOT_INVOLVED,)]
    result = export_batch(session, [patient], "standard", out_dir=tmp_path / "b", include_unresolved=True)
    assert result.printed == 1 and result.included == 1
