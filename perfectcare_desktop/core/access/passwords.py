"""The rules a new password and a user name must meet.

NCSC guidance: length over complexity (no composition rules), and refuse the passwords attackers try
first. A copied store can be guessed offline, so it is only as strong as its weakest user's password:
a password from a list of leaked passwords, or one with digits, symbols or a year stuck on, or letters
swapped for look-alike symbols, is refused with a sentence saying why.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from ...errors import InvalidInput
from ..resources import resources_dir

MIN_PASSWORD_LENGTH = 12
# Predictable swaps people make to pass complexity rules ("P@ssw0rd").
_LOOK_ALIKES = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s", "5": "s", "7": "t"})
_AFFIXES = re.compile(r"^[\W\d_]*(.*?)[\W\d_]*$", re.DOTALL)  # digits, symbols, years before or after


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list (resources/passwords/common.txt), lower-cased."""
    text = (resources_dir() / "passwords" / "common.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def _bases(password: str) -> set[str]:
    """What an attacker's rules would start from: the password as typed, without affixes, un-swapped."""
    folded = unicodedata.normalize("NFKC", password).casefold()
    found = {folded, folded.replace(" ", "")}
    for candidate in list(found):
        core = _AFFIXES.match(candidate)
        found.add(core.group(1) if core else candidate)
        found.add(candidate.translate(_LOOK_ALIKES))
    for candidate in list(found):
        core = _AFFIXES.match(candidate.translate(_LOOK_ALIKES))
        if core:
            found.add(core.group(1))
    for candidate in list(found):  # a word typed twice ("monkeymonkey", "dragon!!dragon")
        half = len(candidate) // 2
        if half and candidate[:half] == candidate[-half:]:
            found.add(candidate[:half].strip("!@#$%^&*-_.+= "))
    return found


def _is_run(text: str) -> bool:
    """One character repeated, or a run up or down the alphabet or digits ("aaaa…", "1234…", "zyx…")."""
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:], strict=False)}
    return len(steps) <= 1 and steps <= {-1, 0, 1}


def check_new_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters. Three or more unrelated words "
            "make a long password that is easy to remember."
        )
    name = unicodedata.normalize("NFKC", username.strip()).casefold()
    bases = _bases(password)
    if name and name in bases:
        raise InvalidInput("The password must not be the user name, or the user name with something added.")
    if any(len(b) < 4 or _is_run(b) for b in bases if b != password):
        raise InvalidInput(
            "That password is mostly digits, symbols or a repeated or running sequence, which are the first things "
            "guessed. Choose three or more unrelated words instead."
        )
    if _is_run(password.casefold()):
        raise InvalidInput("That password is a repeated or running sequence, which is guessed at once. Choose another.")
    common = common_passwords()
    if any(b in common for b in bases):
        raise InvalidInput(
            "That password, or one made from it by adding digits or symbols, is on a list of passwords leaked "
            "from other services and tried first by anyone guessing. Choose another: three or more unrelated "
            "words work well."
        )


def check_username(username: str) -> str:
    name = unicodedata.normalize("NFC", username.strip())
    if not name:
        raise InvalidInput("Enter a user name.")
    if len(name) > 64 or not all(ch.isalnum() or ch in "._-@" for ch in name):
        raise InvalidInput("A user name is up to 64 letters, digits, dots, hyphens, underscores or @ signs.")
    return name
