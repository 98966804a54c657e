"""Terminal helpers for the admin CLI: secrets from a prompt or stdin, progress only on a terminal."""

from __future__ import annotations

import getpass
import sys
import time
from typing import TextIO

from .errors import InvalidInput


class Secrets:
    """Passwords and keys: from stdin lines (--password-stdin, for scripts) or a no-echo prompt."""

    def __init__(self, from_stdin: bool, stdin: TextIO | None = None) -> None:
        self.from_stdin = from_stdin
        self._stdin = stdin or sys.stdin
        self._line = 0

    def get(self, prompt: str, *, confirm: bool = False) -> str:
        if self.from_stdin:
            line = self._stdin.readline()
            self._line += 1
            if not line:
                raise InvalidInput(
                    f"Expected line {self._line} of standard input ({prompt.rstrip(': ')}) but it ended."
                )
            return line.rstrip("\r\n")
        if not sys.stdin.isatty():
            raise InvalidInput("There is no terminal to ask for the password on; use --password-stdin in scripts.")
        value = getpass.getpass(prompt)
        if confirm and getpass.getpass("Type it again: ") != value:
            raise InvalidInput("The two entries did not match; nothing was changed.")
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
