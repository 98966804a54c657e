"""Phone numbers on a plan are checked with the numbering plans (phonenumbers), warned about in words
and never rewritten (issue 17 part 7): the hand-written rules called Childline's 0800 1111 wrong."""

from __future__ import annotations

import copy

import pytest

from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_content import PlanContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plan_prompts import plan_prompts
from perfectcare_desktop.core.patients.phone import phone_warning

LAYOUT = load_catalogue().latest()


@pytest.mark.parametrize("number", ["0800 1111", "0800 11 11", "08001111", "+44 800 1111"])
def test_childline_is_accepted(number: str) -> None:
    assert phone_warning(number) is None


@pytest.mark.parametrize("number", ["999", "112", "111", "116 123", "116123", "116 111", "85258", "101", "119"])
def test_short_numbers_for_crisis_help_are_accepted(number: str) -> None:
    assert phone_warning(number) is None


@pytest.mark.parametrize(
    "number",
    ["0151 296 7200", "07912 345678", "+44 7912 345678", "0300 123 3393", "0800 068 4141", "0044 151 296 7200",
     "+48 22 123 45 67", "+353 1 234 5678", "00353 1 234 5678", "07700 900123", "0113 496 0123"],
)  # fmt: skip
def test_numbers_in_use_and_the_drama_ranges_demo_data_uses_are_accepted(number: str) -> None:
    assert phone_warning(number) is None


@pytest.mark.parametrize(
    ("number", "said"),
    [("07912 34567", "A UK mobile number has 11 digits, starting 07; this one has 10."),
     ("07912 3456789", "this one has 12"), ("+44 7912 34567", "11 digits"), ("07700 90012", "11 digits"),
     ("0151 123", "A UK number has 11 digits"), ("0600 123 4567", "No UK number in use starts like this one"),
     ("+44 0151 123 4567", "leave out the first 0"), ("12345", "A UK number starts with 0"),
     ("+48 22 123", "too few digits for a +48 number"), ("+999 123 4567", "No country uses that code"),
     ("ring me", "Use digits, spaces")],
)  # fmt: skip
def test_a_wrong_number_is_warned_in_words(number: str, said: str) -> None:
    warning = phone_warning(number)
    assert warning is not None and said in warning


def _plan(phone: str) -> PlanContent:
    content = PlanContent.blank(LAYOUT, load_directory().ref)
    content.section("people_to_ask").entries = [{"name": "Childline", "phone": phone}]
    return content


def _phone_prompts(content: PlanContent) -> list[str]:
    return [p.text for p in plan_prompts(LAYOUT, content) if "phone number may be wrong" in p.text]


def test_the_sign_checklist_accepts_childline_and_warns_of_a_wrong_mobile_keeping_both_as_typed() -> None:
    right = _plan("0800 1111")
    assert _phone_prompts(right) == []
    wrong = _plan(" 07912 34567 ")
    before = copy.deepcopy(wrong.to_payload())
    (prompt,) = _phone_prompts(wrong)
    assert prompt.startswith("Childline: the phone number may be wrong.") and "11 digits" in prompt
    assert wrong.to_payload() == before  # warned, never rewritten
    assert wrong.section("people_to_ask").entries[0]["phone"] == " 07912 34567 "
