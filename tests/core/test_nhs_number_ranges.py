"""Scottish CHI and Northern Ireland H&C numbers pass the NHS number's Modulus 11 check: they are
accepted, as typed, with a warning that says what they look like (issue 17 part 7; ranges from
clinical-facts.md §4.2)."""

from __future__ import annotations

import pytest

from perfectcare_desktop.core.patients.nhs_number import check_digit, nhs_number_warning, normalise_nhs_number


def valid(first_nine: str) -> str:
    """The valid number with these nine digits (or the next nine digits up that can have one)."""
    n = int(first_nine)
    while (check := check_digit(f"{n:09d}")) is None:
        n += 1
    return f"{n:09d}{check}"


@pytest.mark.parametrize("first_nine", ["010100000", "150784123", "311299990"])
def test_a_scottish_chi_number_is_accepted_with_a_warning(first_nine: str) -> None:
    number = valid(first_nine)
    assert normalise_nhs_number(number) == number  # not a refusal
    warning = nhs_number_warning(number)
    assert warning is not None and "Scottish CHI number" in warning and "kept as typed" in warning


@pytest.mark.parametrize("first_nine", ["320000001", "350123456", "399999990"])
def test_a_northern_ireland_health_and_care_number_is_accepted_with_a_warning(first_nine: str) -> None:
    number = valid(first_nine)
    assert normalise_nhs_number(number) == number
    warning = nhs_number_warning(number)
    assert warning is not None and "Northern Ireland Health and Care number" in warning


@pytest.mark.parametrize(
    "number",
    ["943 476 5919", "999 000 0018", valid("400000000"), valid("600000000"), valid("010099990"),
     valid("311300000"), valid("319999990")],
)  # fmt: skip
def test_numbers_from_england_and_wales_and_the_test_range_get_no_warning(number: str) -> None:
    assert nhs_number_warning(number) is None


def test_the_warning_names_the_number_as_grouped_and_an_invalid_number_is_left_to_the_check() -> None:
    number = valid("150784123")
    typed = f"{number[:3]}-{number[3:6]}-{number[6:]}"
    warning = nhs_number_warning(typed)
    assert warning is not None and warning.startswith(f"{number[:3]} {number[3:6]} {number[6:]} looks like")
    assert nhs_number_warning("0101000000") is None  # wrong check digit: normalise_nhs_number says so
    assert nhs_number_warning("") is None and nhs_number_warning("ring me") is None
