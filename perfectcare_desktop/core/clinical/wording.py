"""How dates and scripts are shown to people, the same on screen (present mode) and on paper (PDFs)."""

from __future__ import annotations

import unicodedata
from datetime import date


def long_date(day: date) -> str:
    """ "1 November 2026": no leading zero, no ambiguous 01/11."""
    return f"{day.day} {day:%B %Y}"


def mainly_rtl(text: str) -> bool:
    """More strong right-to-left letters (Urdu, Arabic) than left-to-right ones.

    Not the first-letter rule of Qt and of dir="auto": "عائشہ's safety plan" or a contact line
    "عائشہ (sister) — 07700 900123" starts with an Urdu name yet is an English sentence."""
    if text.isascii():
        return False
    rtl = ltr = 0
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            rtl += 1
        elif kind == "L":
            ltr += 1
    return rtl > ltr
