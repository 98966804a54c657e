"""Phone numbers on a plan: checked, never rewritten. A number that does not look dialable gets a
warning in words; what the person said is kept as typed.

The numbering plans come from `phonenumbers` (Google's libphonenumber data, the lite build): hand
written length rules flagged real numbers such as Childline's 0800 1111, and its short-number data
knows 999, 111, 116 123 and SHOUT's 85258. A few hand rules stay where the data is silent.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, ValidationResult, shortnumberinfo

UK = "GB"
_ALLOWED = re.compile(r"^[+\d][\d\s()\-.]*$")
# Short numbers a person may need on a plan (999 and 112, NHS 111, Samaritans 116 123, Childline
# 116 111, SHOUT's 85258, police 101 ...): accepted even where the short-number data leaves one out.
_SHORT = {"999", "112", "111", "116123", "116111", "116117", "85258", "101", "119"}
# Ofcom's drama ranges, never issued (core/demo/demo_text.py uses them for training data): the data calls
# some invalid, but a clinician who meets one on a plan is looking at demo data, not at a typo.
_DRAMA = ("07700900", "01632960", "0113496", "0114496", "0115496", "0116496", "0117496", "0118496", "0121496",
          "0131496", "0141496", "0151496", "0161496", "0191498", "0207946", "0289649", "0292018", "0306999",
          "0808157", "0909879")  # fmt: skip


def _national(number: PhoneNumber) -> str:
    return "0" + phonenumbers.national_significant_number(number)


def _short_ok(digits: str) -> bool:
    if digits in _SHORT:
        return True
    try:
        return shortnumberinfo.is_valid_short_number_for_region(phonenumbers.parse(digits, UK), UK)
    except NumberParseException:
        return False


def _invalid(number: PhoneNumber, digits: str, intl: bool) -> str:
    """What to say about a number the data does not know, length first: that is the usual slip."""
    if number.country_code == 44:
        national = phonenumbers.national_significant_number(number)
        if national.startswith("7") and len(national) != 10:
            return f"A UK mobile number has 11 digits, starting 07; this one has {len(national) + 1}."
        if intl and len(national) not in (9, 10):
            return "A UK number after +44 has 9 or 10 digits."
        if not intl and len(digits) not in (10, 11):
            return f"A UK number has 11 digits (a few have 10), starting with 0; this one has {len(digits)}."
        return "No UK number in use starts like this one: check each digit with the person."
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.TOO_SHORT:
        return f"This has too few digits for a +{number.country_code} number: check it with the person."
    if reason in (ValidationResult.TOO_LONG, ValidationResult.INVALID_LENGTH):
        return f"This has too many digits for a +{number.country_code} number: check it with the person."
    return f"No +{number.country_code} number in use looks like this one: check it with the person."


def phone_warning(text: str) -> str | None:
    """None when the number looks dialable; otherwise a sentence saying what looks wrong."""
    raw = text.strip()
    if not raw:
        return None
    if not _ALLOWED.match(raw) or raw.count("+") > 1:
        return "Use digits, spaces and an optional leading + only (for example 0151 123 4567 or +48 22 123 4567)."
    digits = re.sub(r"\D", "", raw)
    intl = raw.startswith("+") or digits.startswith("00")
    if (digits[2:] if digits.startswith("00") else digits).startswith("440") and intl:
        return "After +44, leave out the first 0 (for example +44 151 123 4567)."  # the data drops it quietly
    if not intl and not digits.startswith("0"):
        if _short_ok(digits):
            return None
        return "A UK number starts with 0 (or write +44, or + and the country code for another country)."
    try:
        number = phonenumbers.parse(raw, UK)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            return "No country uses that code after the + (the UK is +44, Poland +48): check it with the person."
        return "This is too short or too long to be a phone number: check it with the person."
    national = _national(number)
    drama = number.country_code == 44 and len(national) == 11 and national.startswith(_DRAMA)
    if drama or phonenumbers.is_valid_number(number):
        return None
    return _invalid(number, digits, intl)
