"""Phone numbers on the person's copy: a link a phone can call or text from (tel:, sms:), and never
broken across two lines.

- `contact_uri(contact)`: the link for a crisis directory entry, from its `phone` field: "Text SHOUT to
  85258" is `sms:85258?&body=SHOUT` (the form both iOS and Android read), anything else `tel:`.
- `link_phones(markup)`: in ready-made reportlab markup, each UK phone number the person wrote
  ("07700 900123", "0151 296 7200", "+44 7700 900123") becomes a tel: link with no-break spaces inside
  it. Short codes (999, 111, 116 123) are linked only from the directory, where they are known to be
  numbers: in free text "999" or "2025" may be anything.
"""

from __future__ import annotations

import re

from ..core.clinical.crisis_directory import CrisisContact

NBSP = "\u00a0"
# 0 then 9-10 more digits, or +44 then 9-10 digits, with single spaces or hyphens between groups.
_UK_NUMBER = re.compile(r"(?<![\w+])(?:\+44[ \u00a0-]?(?:\(0\)[ \u00a0-]?)?|0)\d(?:[ \u00a0-]?\d){8,9}(?![\w])")
_TAG = re.compile(r"(<[^>]*>)")
_TEXT_TO = re.compile(r"\btext\s+([A-Za-z]+)\s+to\s+(\d[\d ]*\d)", re.IGNORECASE)


def tel_uri(number: str) -> str:
    """`tel:` with the digits as dialled in the UK (a leading + kept)."""
    digits = re.sub(r"[^\d+]", "", number.replace("(0)", ""))
    return f"tel:{digits}"


def sms_uri(number: str, body: str = "") -> str:
    digits = re.sub(r"\D", "", number)
    return f"sms:{digits}?&body={body}" if body else f"sms:{digits}"


def contact_uri(contact: CrisisContact) -> str:
    """A crisis contact's link: a text line ("Text SHOUT to 85258") is an sms: link with the word."""
    text_to = _TEXT_TO.search(contact.how)
    if text_to:
        return sms_uri(text_to.group(2), text_to.group(1).upper())
    return tel_uri(contact.phone)


_DIGIT_SPACE = re.compile(r"(?<=\d)[ \u00a0](?=\d)")


def unbroken(text: str) -> str:
    """The spaces between a number's digit groups made no-break, so "0800 132 737" never splits across
    lines; the words around it ("Call 111 and choose option 2") still wrap where they must."""
    return _DIGIT_SPACE.sub(NBSP, text)


def link(markup: str, uri: str) -> str:
    """Markup wrapped in a link; reportlab draws the words and adds a URI annotation over them."""
    return f'<a href="{uri}">{markup}</a>'


def link_phones(markup: str) -> str:
    """Every UK phone number in text parts of the markup (never inside a tag) linked and unbroken."""
    parts = _TAG.split(markup)
    for n in range(0, len(parts), 2):  # the even parts are text, the odd ones tags
        parts[n] = _UK_NUMBER.sub(lambda m: link(m.group(0).replace(" ", NBSP), tel_uri(m.group(0))), parts[n])
    return "".join(parts)
