"""Constants and fakes the tests share. Imported by name (`from testsupport import ...`), not from
`conftest`: each test folder may have a conftest.py of its own, and only one module can be called that."""

from __future__ import annotations

from datetime import datetime, timedelta

ADMIN = "admin1"
ADMIN_PASSWORD = "correct horse battery"
ORG = "Test NHS Foundation Trust"


class FakeClock:
    """A clock tests move by hand, so lockout and due dates need no real waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 27, 9, 0, 0)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)
