"""Passwords (issue 16 part 7): at least 12 characters, never one from the shipped list of leaked
passwords or a predictable variation of one, refused with a sentence saying why, nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from testsupport import ADMIN, ADMIN_PASSWORD, CLI_PASSWORD, admin_cli

from perfectcare_desktop.core.access.passwords import MIN_PASSWORD_LENGTH, check_new_password, common_passwords
from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.errors import InvalidInput
from perfectcare_desktop.store.models import KeyWrap, User

REFUSED = [
    ("1234567890", "at least 12 characters"),  # the review's examples, both under 12
    ("password12", "at least 12 characters"),
    ("password1234", "leaked"),
    ("Password123!", "leaked"),
    ("P@ssw0rd2024!", "leaked"),  # look-alike swaps and a year
    ("Liverpool2024", "leaked"),
    ("qwertyuiop12", "leaked"),
    ("monkeymonkey", "leaked"),  # a listed word typed twice
    ("123456789012", "digits, symbols"),
    ("aaaaaaaaaaaa", "repeated or running"),
    ("abcdefghijklm", "repeated or running"),
    ("nurse.jones2025", "user name"),
]
ACCEPTED = ["purple kettle harbour", "ward7-kettle-moon", "Sunflower-Teapot-42", "correct horse battery"]


@pytest.mark.parametrize(("password", "why"), REFUSED)
def test_a_guessable_password_is_refused_with_the_reason(password: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        check_new_password(password, "nurse.jones")


@pytest.mark.parametrize("password", ACCEPTED)
def test_long_unrelated_words_are_accepted(password: str) -> None:
    check_new_password(password, "nurse.jones")


def test_the_list_is_shipped_and_holds_the_commonest() -> None:
    common = common_passwords()
    assert len(common) >= 30_000
    assert {"123456", "password", "qwerty", "letmein", "liverpool"} <= common
    assert MIN_PASSWORD_LENGTH == 12


def count_accounts(store: Store) -> tuple[int, int]:
    with store.reading() as conn:
        return (conn.execute(select(func.count()).select_from(User)).scalar_one(),
                conn.execute(select(func.count()).select_from(KeyWrap)).scalar_one())  # fmt: skip


def test_adding_changing_and_re_enabling_refuse_a_leaked_password(store: Store, session: Session) -> None:
    before = count_accounts(store)
    with pytest.raises(InvalidInput, match="leaked"):
        session.users.add("nurse.jones", "clinician", "Password123!")
    assert count_accounts(store) == before
    session.users.add("nurse.jones", "clinician", "purple kettle harbour")
    session.users.disable("nurse.jones")
    with pytest.raises(InvalidInput, match="leaked"):
        session.users.enable("nurse.jones", "Liverpool2024")
    with pytest.raises(InvalidInput, match="leaked"):
        session.change_password(ADMIN_PASSWORD, "qwertyuiop12")
    Session.sign_in(store, ADMIN, ADMIN_PASSWORD)  # the old password still works: nothing changed


def test_the_admin_command_says_why_and_adds_nobody(tmp_path: Path) -> None:
    data = tmp_path / "store"
    assert admin_cli(data, "init", "--org", "T", "--admin", "boss", stdin=CLI_PASSWORD + "\n").returncode == 0
    result = admin_cli(data, "user", "add", "nurse.jones", "--role", "clinician",
                       stdin=f"{CLI_PASSWORD}\nletmein12345\n")  # fmt: skip
    assert result.returncode == 1
    assert "leaked from other services" in result.stderr and "Traceback" not in result.stderr
    listed = admin_cli(data, "user", "list")
    assert "nurse.jones" not in listed.stdout
