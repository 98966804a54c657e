"""Terminal helpers for the admin CLI: secrets from a prompt or stdin, progress only on a terminal."""

from __future__ import annotations

import getpass
import sys
import time
from typing import TextIO

from .core.storage.payloads import without_lone_surrogates
from .errors import InvalidInput


class Secrets:
    """Passwords and keys: from stdin lines (--password-stdin, for scripts) or a no-echo prompt."""

    def __init__(self, from_stdin: bool, stdin: TextIO | None = None) -> None:
        self.from_stdin = from_stdin
        self._stdin = stdin or sys.stdin
        self._line = 0

    def get(self, prompt: str, *, confirm: bool = False) -> str:
        if self.from_stdin:
            self._line += 1
            where = f"Line {self._line} of standard input ({prompt.rstrip(': ')})"
            try:
                line = self._stdin.readline()
            except UnicodeDecodeError:
                raise InvalidInput(_NOT_UTF8.format(where)) from None
            if not line:
                raise InvalidInput(f"Expected {where[0].lower()}{where[1:]} but it ended.")
            return _utf8(line.rstrip("\r\n"), where)
        if not sys.stdin.isatty():
            raise InvalidInput("There is no terminal to ask for the password on; use --password-stdin in scripts.")
        try:
            value = _utf8(getpass.getpass(prompt), "What was typed")
            if confirm and _utf8(getpass.getpass("Type it again: "), "What was typed") != value:
                raise InvalidInput("The two entries did not match; nothing was changed.")
        except UnicodeDecodeError:
            raise InvalidInput(_NOT_UTF8.format("What was typed")) from None
        return value


# Bytes that are not UTF-8 reach Python as lone surrogates (surrogateescape, the C locale's and UTF-8
# mode's way) or as a decode error: no password or key can be derived from either, so say so, before
# any sign-in is tried. The bytes are not shown: they are part of a password.
_NOT_UTF8 = (
    "{} is not UTF-8 text: a password or key must be typed or saved as UTF-8 (set a UTF-8 locale, e.g. "
    "LANG=C.UTF-8, or save the script's file as UTF-8). Nothing was changed."
)


def _utf8(value: str, where: str) -> str:
    if without_lone_surrogates(value)[1]:
        raise InvalidInput(_NOT_UTF8.format(where))
    return value


class Progress:
    """'label: 40% (400/1000)' redrawn on stderr when it is a terminal; silent otherwise."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        pct = 100 * done // total if total else 100
        self.stream.write(f"\r{self.label}: {pct:3d}% ({done:,}/{total:,})")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()
