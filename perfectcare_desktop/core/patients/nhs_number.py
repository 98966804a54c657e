"""NHS number validation (Modulus 11), formatting and test-range generation.

An NHS number is 10 digits: nine identifying digits and a check digit.
Multiply digits 1-9 by weights 10..2, sum, take the remainder mod 11 and
subtract it from 11; 11 becomes 0, and 10 means the nine digits can never
form a valid number. Because every weight is non-zero mod 11 (a prime),
any single mistyped digit, and any swap of two adjacent different digits,
is always caught.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

NHS_NUMBER_LENGTH = 10
_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
_DIGITS = frozenset("0123456789")
# People paste numbers from letters and web pages, so accept the separators
# those commonly contain (no-break spaces, Unicode hyphens and dashes).
_SEPARATORS = frozenset(" \t\u00a0\u202f\u2009-\u2010\u2011\u2012\u2013\u2212")
# 999 000 0000 - 999 999 9999 is reserved for testing and never issued.
_TEST_PREFIX = "999"
_SHOWN_MAX = 40


class InvalidNhsNumber(ValueError):
    """Raised with a message meant to be shown to the person typing."""


def _shown(text: str) -> str:
    # Echo back what was typed so the person can see it, but don't let a
    # large paste swamp the message.
    text = text.strip()
    if len(text) > _SHOWN_MAX:
        text = text[: _SHOWN_MAX - 1] + "…"
    return f"'{text}'"


def _strip_separators(text: str) -> str:
    return "".join(ch for ch in text.strip() if ch not in _SEPARATORS)


def check_digit(first_nine: str) -> int | None:
    """Check digit for nine ASCII digits, or None if it would be 10 (never valid)."""
    if len(first_nine) != 9 or not set(first_nine) <= _DIGITS:
        raise ValueError(f"check_digit needs exactly 9 digits, got {first_nine!r}")
    total = sum(int(d) * w for d, w in zip(first_nine, _WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def normalise_nhs_number(text: str) -> str:
    """Return the 10 digits of a valid NHS number, or raise InvalidNhsNumber."""
    digits = _strip_separators(text)
    if not digits:
        raise InvalidNhsNumber("Enter the NHS number (10 digits).")
    # ASCII only: str.isdigit() would let through Arabic-Indic, full-width
    # and superscript digits, which would then be stored in odd forms.
    bad = [ch for ch in digits if ch not in _DIGITS]
    if bad:
        raise InvalidNhsNumber(
            "NHS numbers contain only digits (spaces and hyphens are allowed "
            f"between groups); {_shown(text)} contains '{bad[0]}'."
        )
    if len(digits) != NHS_NUMBER_LENGTH:
        raise InvalidNhsNumber(f"An NHS number has 10 digits; {_shown(text)} has {len(digits)}.")
    expected = check_digit(digits[:9])
    if expected is None:
        raise InvalidNhsNumber(
            f"{_shown(text)} can never be a valid NHS number (its check digit "
            "would be 10). Check the first nine digits against the person's records."
        )
    if expected != int(digits[9]):
        # Deliberately not saying what the last digit "should" be: the typo is
        # usually elsewhere, and "fixing" the last digit would produce a valid
        # number that may belong to somebody else.
        raise InvalidNhsNumber(
            f"{_shown(text)} is not a valid NHS number: the last digit doesn't "
            "match the first nine, so at least one digit is wrong. Check the "
            "whole number against the person's records."
        )
    return digits


def is_valid_nhs_number(text: str) -> bool:
    try:
        normalise_nhs_number(text)
    except InvalidNhsNumber:
        return False
    return True


def format_nhs_number(text: str) -> str:
    """Normalise, then group 3-3-4 as NHS numbers are printed ("943 476 5919")."""
    d = normalise_nhs_number(text)
    return f"{d[:3]} {d[3:6]} {d[6:]}"


# Numbers that pass the same Modulus 11 check but are issued elsewhere (clinical-facts.md §4.2):
# Scotland's CHI numbers start with the date of birth (DDMMYY), 010 100 0000 - 311 299 9999, and
# Northern Ireland's Health and Care numbers are 320 000 001 - 399 999 999 before the check digit.
# A person may have only one of these; the number is kept, and the clinician is told what it is.
_CHI = (10_100_000, 311_299_999)  # first nine digits
_HC = (320_000_001, 399_999_999)


def nhs_number_warning(text: str) -> str | None:
    """A sentence when a valid number looks like a Scottish CHI or a Northern Ireland H&C number.

    Never a refusal: None for anything else, including a number normalise_nhs_number() refuses."""
    try:
        digits = normalise_nhs_number(text)
    except InvalidNhsNumber:
        return None
    first_nine = int(digits[:9])
    if _CHI[0] <= first_nine <= _CHI[1]:
        kind = "a Scottish CHI number"
    elif _HC[0] <= first_nine <= _HC[1]:
        kind = "a Northern Ireland Health and Care number"
    else:
        return None
    return (
        f"{format_nhs_number(digits)} looks like {kind}, not an NHS number issued in England or Wales. "
        "Check which number the person's records give; it is kept as typed."
    )


def is_test_range(digits: str) -> bool:
    """True for 999 000 0000 - 999 999 9999 (separators allowed, check digit not checked)."""
    d = _strip_separators(digits)
    return len(d) == NHS_NUMBER_LENGTH and set(d) <= _DIGITS and d.startswith(_TEST_PREFIX)


def test_range_numbers(rng: random.Random) -> Iterator[str]:
    """Yield unique valid NHS numbers from the 999 test range, in an order set by rng.

    Effectively endless, but the range holds about 909,000 valid numbers;
    the iterator stops once every one has been produced.
    """
    # A lazy Fisher-Yates shuffle over the 10**6 six-digit suffixes: each draw
    # is O(1), uniqueness is guaranteed, and memory grows only with use.
    remaining = 10**6
    moved: dict[int, int] = {}
    while remaining:
        j = rng.randrange(remaining)
        remaining -= 1
        suffix = moved.get(j, j)
        moved[j] = moved.pop(remaining, remaining)
        first_nine = f"{_TEST_PREFIX}{suffix:06d}"
        check = check_digit(first_nine)
        if check is not None:  # skip prefixes that can never be valid
            yield f"{first_nine}{check}"


# pytest would otherwise try to collect this "test_*" function when imported
# into a test module.
test_range_numbers.__test__ = False  # type: ignore[attr-defined]
