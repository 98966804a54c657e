import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfectcare_desktop.core.patients import nhs_number as nhs
from perfectcare_desktop.core.patients.nhs_number import (
    InvalidNhsNumber,
    check_digit,
    format_nhs_number,
    is_test_range,
    is_valid_nhs_number,
    normalise_nhs_number,
)

nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)
valid_numbers = nine_digits.filter(lambda d: check_digit(d) is not None).map(lambda d: d + str(check_digit(d)))


# --- known examples ---------------------------------------------------------


@pytest.mark.parametrize("text", ["9434765919", "9990000018"])
def test_known_valid_numbers(text: str) -> None:
    assert is_valid_nhs_number(text)
    assert normalise_nhs_number(text) == text


def test_worked_example_check_digit() -> None:
    # 9*10+4*9+3*8+4*7+7*6+6*5+5*4+9*3+1*2 = 299; 299 % 11 = 2; 11 - 2 = 9
    assert check_digit("943476591") == 9


def test_check_value_of_10_is_never_valid() -> None:
    assert check_digit("999123456") is None
    for last in "0123456789":
        assert not is_valid_nhs_number("999123456" + last)


def test_check_value_of_11_becomes_0() -> None:
    # 0 weighted sum -> remainder 0 -> 11 -> 0
    assert check_digit("000000000") == 0
    # 9*10+1*9 = 99 = 9*11 -> remainder 0 -> check 0
    assert check_digit("910000000") == 0
    assert is_valid_nhs_number("9100000000")


@pytest.mark.parametrize("bad", ["12345", "943476591", "94347659190", "ABC", "", "   "])
def test_invalid_inputs(bad: str) -> None:
    assert not is_valid_nhs_number(bad)
    with pytest.raises(InvalidNhsNumber):
        normalise_nhs_number(bad)


def test_check_digit_rejects_bad_input() -> None:
    for bad in ["12345678", "1234567890", "12345678a", "١٢٣٤٥٦٧٨٩"]:
        with pytest.raises(ValueError):
            check_digit(bad)


def test_invalid_nhs_number_is_a_value_error() -> None:
    assert issubclass(InvalidNhsNumber, ValueError)


# --- separators and formatting ---------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "943 476 5919",
        "943-476-5919",
        "  9434765919  ",
        "943\u00a0476\u00a05919",  # no-break spaces, as pasted from a letter
        "\u00a0943 476 5919\u00a0",
        "943\u2013476\u20135919",  # en dashes from a word processor
        "94 34 76 59 19",
        "9434765919\n",
    ],
)
def test_spaces_hyphens_and_surrounding_whitespace_accepted(typed: str) -> None:
    assert normalise_nhs_number(typed) == "9434765919"
    assert format_nhs_number(typed) == "943 476 5919"


def test_format_groups_3_3_4() -> None:
    assert format_nhs_number("9990000018") == "999 000 0018"


def test_format_rejects_invalid() -> None:
    with pytest.raises(InvalidNhsNumber):
        format_nhs_number("943 476 5918")


# --- messages a person can act on -------------------------------------------


def test_message_for_empty_input() -> None:
    with pytest.raises(InvalidNhsNumber, match=r"^Enter the NHS number"):
        normalise_nhs_number("  ")


def test_message_for_wrong_length_counts_digits() -> None:
    with pytest.raises(InvalidNhsNumber) as err:
        normalise_nhs_number("12345")
    assert str(err.value) == "An NHS number has 10 digits; '12345' has 5."


def test_message_for_wrong_length_ignores_separators_in_count() -> None:
    with pytest.raises(InvalidNhsNumber) as err:
        normalise_nhs_number("943 476 59190")
    assert "'943 476 59190' has 11." in str(err.value)


def test_message_for_letters_names_the_character() -> None:
    with pytest.raises(InvalidNhsNumber) as err:
        normalise_nhs_number("943 476 591O")  # letter O, not zero
    msg = str(err.value)
    assert "NHS numbers contain only digits (spaces and hyphens are allowed between groups)" in msg
    assert "'O'" in msg


def test_non_ascii_digits_are_rejected_not_silently_converted() -> None:
    assert not is_valid_nhs_number("٩٤٣٤٧٦٥٩١٩")  # Arabic-Indic 9434765919
    assert not is_valid_nhs_number("９４３４７６５９１９")  # full-width


def test_message_for_wrong_check_digit() -> None:
    with pytest.raises(InvalidNhsNumber) as err:
        normalise_nhs_number("943 476 5918")
    msg = str(err.value)
    assert msg.startswith("'943 476 5918' is not a valid NHS number")
    # Never hint at the "right" last digit: the typo is usually elsewhere and
    # editing the last digit could give another person's valid number.
    assert not any(ch.isdigit() for ch in msg.replace("943 476 5918", ""))


def test_message_when_check_value_would_be_10() -> None:
    with pytest.raises(InvalidNhsNumber) as err:
        normalise_nhs_number("999 123 4560")
    msg = str(err.value)
    assert "'999 123 4560' can never be a valid NHS number" in msg
    assert "check digit would be 10" in msg


def test_message_truncates_huge_paste() -> None:
    with pytest.raises(InvalidNhsNumber) as err:
        normalise_nhs_number("x" * 5000)
    assert len(str(err.value)) < 200


# --- properties ---------------------------------------------------------------


@given(nine_digits)
def test_appending_check_digit_gives_valid_number(first_nine: str) -> None:
    check = check_digit(first_nine)
    if check is None:
        assert not any(is_valid_nhs_number(first_nine + d) for d in "0123456789")
    else:
        assert is_valid_nhs_number(first_nine + str(check))
        assert [d for d in "0123456789" if is_valid_nhs_number(first_nine + d)] == [str(check)]


@given(valid_numbers, st.integers(0, 9), st.integers(1, 9))
def test_any_single_digit_change_is_detected(number: str, position: int, delta: int) -> None:
    changed = str((int(number[position]) + delta) % 10)
    mistyped = number[:position] + changed + number[position + 1 :]
    assert mistyped != number
    assert not is_valid_nhs_number(mistyped)


def test_every_single_digit_change_is_detected_exhaustively_for_examples() -> None:
    for number in ["9434765919", "9990000018", "9100000000"]:
        for pos, new in itertools.product(range(10), "0123456789"):
            if new != number[pos]:
                assert not is_valid_nhs_number(number[:pos] + new + number[pos + 1 :])


@given(valid_numbers, st.integers(0, 8))
def test_adjacent_transpositions_are_detected(number: str, i: int) -> None:
    swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
    if swapped != number:
        assert not is_valid_nhs_number(swapped)


@given(valid_numbers)
def test_format_normalise_round_trip(number: str) -> None:
    formatted = format_nhs_number(number)
    assert len(formatted) == 12 and formatted[3] == formatted[7] == " "
    assert normalise_nhs_number(formatted) == number
    assert format_nhs_number(formatted) == formatted


@given(nine_digits, st.text(alphabet=" -", min_size=0, max_size=3))
def test_separators_never_change_the_result(first_nine: str, sep: str) -> None:
    check = check_digit(first_nine)
    if check is None:
        return
    number = first_nine + str(check)
    spaced = sep.join([number[:3], number[3:6], number[6:]])
    assert normalise_nhs_number(spaced) == number


# --- test range -------------------------------------------------------------------


def test_is_test_range() -> None:
    assert is_test_range("9990000018")
    assert is_test_range("999 999 9999")
    assert is_test_range("9990000000")
    assert not is_test_range("9989999999")
    assert not is_test_range("9434765919")
    assert not is_test_range("999000001")
    assert not is_test_range("99900000180")
    assert not is_test_range("999abc0018")


def test_test_range_numbers_valid_unique_in_range() -> None:
    numbers = list(itertools.islice(nhs.test_range_numbers(random.Random(42)), 20_000))
    assert len(set(numbers)) == len(numbers)
    for n in numbers:
        assert len(n) == 10 and n.isdigit()
        assert is_test_range(n)
        assert is_valid_nhs_number(n)


def test_test_range_numbers_deterministic_per_seed() -> None:
    def first(seed: int) -> list[str]:
        return list(itertools.islice(nhs.test_range_numbers(random.Random(seed)), 100))

    assert first(1) == first(1)
    assert first(1) != first(2)


def test_test_range_numbers_do_not_touch_global_random() -> None:
    random.seed(123)
    expected = random.random()
    random.seed(123)
    list(itertools.islice(nhs.test_range_numbers(random.Random(5)), 1000))
    assert random.random() == expected
