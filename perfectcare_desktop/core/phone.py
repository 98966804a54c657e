"""Phone numbers on a plan: checked, never rewritten. A number that does not look like a UK or an
international number gets a warning in words; what the person said is kept as typed."""

from __future__ import annotations

import re

_ALLOWED = re.compile(r"^[+\d][\d\s()\-.]*$")
# Short numbers a person may really need on a plan: emergency, NHS 111, Samaritans, SHOUT's text line.
_SHORT = {"999", "112", "111", "116123", "116111", "116117", "85258", "101", "119"}


def phone_warning(text: str) -> str | None:
    """None when the number looks dialable; otherwise a sentence saying what looks wrong."""
    raw = text.strip()
    if not raw:
        return None
    if not _ALLOWED.match(raw) or raw.count("+") > 1:
        return "Use digits, spaces and an optional leading + only (for example 0151 123 4567 or +48 22 123 4567)."
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        if digits.startswith("44"):
            national = digits[2:]
            if national.startswith("0"):
                return "After +44, leave out the first 0 (for example +44 151 123 4567)."
            return None if len(national) in (9, 10) else "A UK number after +44 has 9 or 10 digits."
        return None if 7 <= len(digits) <= 15 else "An international number has 7 to 15 digits after the +."
    if raw.startswith("00"):
        ok = 9 <= len(digits) <= 17
        return None if ok else "An international number dialled with 00 has 7 to 15 digits after the 00."
    if digits in _SHORT:
        return None
    if not digits.startswith("0"):
        return "A UK number starts with 0 (or write +44, or + and the country code for another country)."
    if digits.startswith(("01", "02", "03", "05", "07", "08")):
        if len(digits) == 11 or (digits.startswith(("01", "08")) and len(digits) == 10):
            return None
        return f"A UK number has 11 digits, starting with 0; this one has {len(digits)}."
    return "A UK number starts 01, 02, 03, 07 or 08."
