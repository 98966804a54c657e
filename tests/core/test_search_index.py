"""Typing narrows the previous keystroke's matches: the answers must equal a search from scratch."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from perfectcare_desktop.core.demo.demo_text import demo_people
from perfectcare_desktop.core.patients.search_index import PatientIndex

PEOPLE = demo_people(400, seed=3)


def _index() -> PatientIndex:
    index = PatientIndex()
    for i, p in enumerate(PEOPLE):
        index.put(str(i), [p.given_name, p.preferred_name, p.family_name, p.local_id], p.nhs_number)
    return index


def _fresh(query: str) -> list[str]:
    return _index().search(query)


def test_typing_letter_by_letter_matches_fresh_searches() -> None:
    index = _index()
    rng = random.Random(5)
    for p in rng.sample(PEOPLE, 25):
        for text in (f"{p.given_name} {p.family_name}", p.nhs_number, f"{p.nhs_number[:3]} {p.nhs_number[3:6]}"):
            for i in range(1, len(text) + 1):
                assert index.search(text[:i]) == _fresh(text[:i]), text[:i]
            for i in range(len(text), 0, -1):  # deleting letters widens again
                assert index.search(text[:i]) == _fresh(text[:i]), text[:i]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="aeilnorsłó 9012", min_size=1, max_size=6), min_size=1, max_size=8))
def test_any_sequence_of_queries_matches_fresh_searches(queries: list[str]) -> None:
    index = _index()
    for q in queries:
        assert index.search(q) == _fresh(q), q


def test_a_change_to_the_index_forgets_the_narrowed_matches() -> None:
    index = _index()
    assert index.search("zz") == []
    index.put("new", ["Zzyzx", "", "Jones", ""], "9990000018")
    assert index.search("zzy") == ["new"]
