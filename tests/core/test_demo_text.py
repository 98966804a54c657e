import random
import re
from collections import Counter
from datetime import date

import pytest

from perfectcare_desktop.core.demo.demo_text import (
    ACCESS_NEEDS,
    MAX_AGE,
    MIN_AGE,
    REFERENCE_DATE,
    SECTION_KEYS,
    DemoPerson,
    DemoPlanText,
    age_on,
    demo_people,
    demo_plan_text,
)
from perfectcare_desktop.core.patients.nhs_number import is_test_range, is_valid_nhs_number

EXPECTED_SECTIONS = {
    "warning_signs",
    "coping_alone",
    "distractions",
    "people_to_ask",
    "professionals",
    "making_safer",
    "reasons_for_living",
    "where_plan_kept",
}
# Phone-number-like runs: a 0 followed by digits and single spaces.
PHONE_RE = re.compile(r"(?<!\d)0\d{2,4}(?: ?\d){5,8}(?!\d)")
DRAMA_RE = re.compile(r"07700 900\d{3}|0113 496 0\d{3}")
BANNED_RE = re.compile(r"low risk|high risk|medium|score|\blow\b|\bhigh\b|\brisk\b", re.IGNORECASE)
EMOJI_RE = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf]")
ARABIC_SCRIPT_RE = re.compile("[\u0600-\u06ff]")
LATIN_LETTER_RE = re.compile("[A-Za-z]")


@pytest.fixture(scope="module")
def people() -> list[DemoPerson]:
    return demo_people(10_000, seed=20240501)


@pytest.fixture(scope="module")
def plans(people: list[DemoPerson]) -> list[tuple[DemoPerson, DemoPlanText]]:
    rng = random.Random(99)
    return [(p, demo_plan_text(p, rng)) for p in people[:3000]]


def all_entries(plans: list[tuple[DemoPerson, DemoPlanText]]) -> list[str]:
    return [e for _, plan in plans for entries in plan.sections.values() for e in entries]


# --- determinism ----------------------------------------------------------------


def test_people_deterministic_for_a_seed() -> None:
    assert demo_people(200, seed=7) == demo_people(200, seed=7)


def test_people_differ_for_another_seed() -> None:
    a, b = demo_people(200, seed=7), demo_people(200, seed=8)
    assert a != b
    assert {p.nhs_number for p in a} != {p.nhs_number for p in b}


def test_smaller_count_is_a_prefix() -> None:
    assert demo_people(300, seed=3)[:50] == demo_people(50, seed=3)


def test_zero_people() -> None:
    assert demo_people(0, seed=1) == []


def test_plan_text_deterministic_for_a_seed() -> None:
    person = demo_people(1, seed=11)[0]
    assert demo_plan_text(person, random.Random(5)) == demo_plan_text(person, random.Random(5))
    assert demo_plan_text(person, random.Random(5)) != demo_plan_text(person, random.Random(6))


def test_global_random_untouched() -> None:
    random.seed(2024)
    expected = [random.random() for _ in range(3)]
    random.seed(2024)
    for person in demo_people(100, seed=1):
        demo_plan_text(person, random.Random(1))
    assert [random.random() for _ in range(3)] == expected


def test_people_are_frozen() -> None:
    person = demo_people(1, seed=1)[0]
    with pytest.raises(AttributeError):
        person.given_name = "Changed"  # type: ignore[misc]


# --- people -----------------------------------------------------------------------


def test_nhs_numbers_unique_valid_and_test_range(people: list[DemoPerson]) -> None:
    numbers = [p.nhs_number for p in people]
    assert len(set(numbers)) == len(numbers) == 10_000
    assert all(is_valid_nhs_number(n) and is_test_range(n) and n.isdigit() for n in numbers)


def test_ages_in_range(people: list[DemoPerson]) -> None:
    ages = [age_on(p.date_of_birth, REFERENCE_DATE) for p in people]
    assert min(ages) >= MIN_AGE and max(ages) <= MAX_AGE
    assert min(ages) <= 20 and max(ages) >= 85  # the whole span is used


def test_age_on_birthday_rule() -> None:
    assert age_on(date(2000, 1, 1), date(2016, 1, 1)) == 16
    assert age_on(date(2000, 1, 2), date(2016, 1, 1)) == 15
    assert age_on(date(2004, 2, 29), date(2020, 2, 28)) == 15


def test_local_ids(people: list[DemoPerson]) -> None:
    ids = [p.local_id for p in people]
    assert all(i == "" or re.fullmatch(r"MC\d{7}", i) for i in ids)
    blanks = ids.count("")
    assert 0 < blanks < len(ids) // 2


def test_languages_and_access_needs(people: list[DemoPerson]) -> None:
    languages = Counter(p.preferred_language for p in people)
    assert {"English", "Welsh", "Polish", "Urdu", "Arabic"} <= set(languages)
    assert languages.most_common(1)[0][0] == "English"
    assert all(set(p.access_needs) <= set(ACCESS_NEEDS) for p in people)
    assert all(len(set(p.access_needs)) == len(p.access_needs) for p in people)
    with_needs = sum(bool(p.access_needs) for p in people)
    assert 0 < with_needs < len(people) // 3  # usually empty
    assert {n for p in people for n in p.access_needs} == set(ACCESS_NEEDS)


def test_names_are_varied(people: list[DemoPerson]) -> None:
    pairs = {(p.given_name, p.family_name) for p in people}
    assert len(pairs) > 1000
    given = {p.given_name for p in people}
    family = {p.family_name for p in people}
    for expected in ["Rhys", "Siân", "Gwenllian", "Zofia", "Łukasz", "Żaneta", "Siobhán", "عائشہ"]:
        assert expected in given
    for expected in ["ap Dafydd", "Llywelyn", "Wójcik", "خان", "Ó Briain"]:
        assert expected in family


def test_each_name_uses_one_script(people: list[DemoPerson]) -> None:
    for p in people:
        scripts = {bool(ARABIC_SCRIPT_RE.search(n)) for n in (p.given_name, p.family_name)}
        assert len(scripts) == 1, p
        if ARABIC_SCRIPT_RE.search(p.given_name):
            assert not LATIN_LETTER_RE.search(p.given_name + p.family_name)


def test_preferred_names_sometimes_set(people: list[DemoPerson]) -> None:
    preferred = [p.preferred_name for p in people if p.preferred_name]
    assert 0 < len(preferred) < len(people) // 2
    assert all(p.preferred_name != p.given_name for p in people)


# --- plan text ----------------------------------------------------------------------


def test_sections_exact_and_non_empty(plans: list[tuple[DemoPerson, DemoPlanText]]) -> None:
    assert set(SECTION_KEYS) == EXPECTED_SECTIONS
    for _, plan in plans:
        assert set(plan.sections) == EXPECTED_SECTIONS
        for key, entries in plan.sections.items():
            assert 2 <= len(entries) <= 5, key
            assert all(isinstance(e, str) and e.strip() for e in entries)
            assert len(set(entries)) == len(entries), entries


def test_sections_draw_on_many_phrases(plans: list[tuple[DemoPerson, DemoPlanText]]) -> None:
    for key in SECTION_KEYS:
        distinct = {e for _, plan in plans for e in plan.sections[key]}
        assert len(distinct) >= 15, key
    # Plans are not all the same.
    assert len({tuple(plan.sections["warning_signs"]) for _, plan in plans}) > len(plans) // 2


def test_no_risk_levels_or_scores(plans: list[tuple[DemoPerson, DemoPlanText]]) -> None:
    for entry in all_entries(plans):
        assert not BANNED_RE.search(entry), entry
        assert "{" not in entry and "}" not in entry, entry  # every placeholder filled


def test_only_drama_range_phone_numbers(plans: list[tuple[DemoPerson, DemoPlanText]]) -> None:
    found = 0
    for entry in all_entries(plans):
        for number in PHONE_RE.findall(entry):
            assert DRAMA_RE.fullmatch(number), entry
            found += 1
    assert found > 0
    for _, plan in plans:
        for contact in plan.contacts:
            assert DRAMA_RE.fullmatch(contact["phone"]), contact


def test_contacts(plans: list[tuple[DemoPerson, DemoPlanText]]) -> None:
    for person, plan in plans:
        assert 2 <= len(plan.contacts) <= 4
        names = [c["name"] for c in plan.contacts]
        assert len(set(names)) == len(names)
        assert person.given_name not in names
        for contact in plan.contacts:
            assert set(contact) == {"name", "relationship", "phone"}
            assert all(contact.values())
            # Each contact is also named in "people I can ask for help".
            assert any(contact["name"] in e for e in plan.sections["people_to_ask"])
        relationships = {c["relationship"] for c in plan.contacts}
        age = age_on(person.date_of_birth)
        if age < 30:
            assert not relationships & {"son", "daughter"}
        if age > 70:
            assert not relationships & {"mum", "dad", "nan", "grandad"}


def test_emoji_roughly_one_in_thirty(plans: list[tuple[DemoPerson, DemoPlanText]]) -> None:
    entries = all_entries(plans)
    rate = sum(bool(EMOJI_RE.search(e)) for e in entries) / len(entries)
    assert 1 / 60 < rate < 1 / 15


def test_welsh_and_polish_for_speakers_only(plans: list[tuple[DemoPerson, DemoPlanText]]) -> None:
    polish_letters = re.compile("[ąęłśżźćńĄĘŁŚŻŹĆŃ]")
    welsh_words = re.compile(r"\b(fy|yn|Dw i|Mae)\b")
    by_language: dict[str, list[str]] = {}
    for person, plan in plans:
        text = [e for entries in plan.sections.values() for e in entries]
        by_language.setdefault(person.preferred_language, []).extend(text)
    assert any(polish_letters.search(e) for e in by_language["Polish"])
    assert any(welsh_words.search(e) for e in by_language["Welsh"])
    # Contact names can carry diacritics, so check only the non-contact sections' text.
    for person, plan in plans:
        if person.preferred_language == "English":
            for key in ("warning_signs", "coping_alone", "making_safer", "reasons_for_living"):
                for e in plan.sections[key]:
                    assert not polish_letters.search(e), e
                    assert not welsh_words.search(e), e


def test_right_to_left_names_reach_the_plan_text(plans: list[tuple[DemoPerson, DemoPlanText]]) -> None:
    rtl_people = [plan for person, plan in plans if ARABIC_SCRIPT_RE.search(person.given_name)]
    assert rtl_people
    assert any(ARABIC_SCRIPT_RE.search(c["name"]) for plan in rtl_people for c in plan.contacts)
