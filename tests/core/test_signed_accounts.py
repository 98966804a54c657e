"""Signed administration (issue 16 part 5), on one PC: account changes are signed by the admin key,
whose private half only admins can unwrap, and a role or an enabled flag edited into the store file
with sqlite3 changes nothing — the account is refused and `verify` names it."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from testsupport import ADMIN, ADMIN_PASSWORD, ORG, FakeClock

from perfectcare_desktop.core.access import grants
from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.access.sign_in import reset_password_with_recovery
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.core.storage.verify import verify_store
from perfectcare_desktop.errors import LoginFailed, NotAllowed
from perfectcare_desktop.store import database
from perfectcare_desktop.store.models import KeyWrap, User

CLIN, CLIN_PASSWORD = "nurse.jones", "purple kettle harbour"


def edit_file(data_dir: Path, sql: str, *args: object) -> None:
    """What an attacker with the file does: sqlite3, no PerfectCare code."""
    db = sqlite3.connect(database.db_path(data_dir))
    try:
        db.execute(sql, args)
        db.commit()
    finally:
        db.close()


def test_a_role_edited_into_the_file_gives_no_admin_power(store: Store, session: Session, data_dir: Path,
                                                          clock: FakeClock) -> None:  # fmt: skip
    session.users.add(CLIN, "clinician", CLIN_PASSWORD)
    clinician = Session.sign_in(store, CLIN, CLIN_PASSWORD)
    store.close()
    edit_file(data_dir, "UPDATE users SET role = 'admin' WHERE username = ?", CLIN)
    reopened = Store.open(data_dir, clock=clock)
    with pytest.raises(NotAllowed, match="not as an administrator last set it"):
        Session.sign_in(reopened, CLIN, CLIN_PASSWORD)
    clinician.store = reopened  # a session signed in before the edit: still no admin power
    with pytest.raises(NotAllowed, match="not as an administrator last set it"):
        clinician.users.add("mallory", "admin", "another long passphrase")
    with pytest.raises(NotAllowed, match="not as an administrator last set it"):
        clinician.require_admin()
    problems = verify_store(Session.sign_in(reopened, ADMIN, ADMIN_PASSWORD)).problems
    assert [p for p in problems if "account" in p] == [
        f"account {CLIN!r} ({clinician.user.user_id}) is not as an administrator signed it: its name, role or "
        "enabled state was changed outside PerfectCare, or it was put back from an older copy"
    ]


def test_a_disabled_account_enabled_in_the_file_stays_shut(store: Store, session: Session, data_dir: Path,
                                                           clock: FakeClock) -> None:  # fmt: skip
    session.users.add(CLIN, "clinician", CLIN_PASSWORD)
    with store.reading() as conn:  # their password wrap as it was, to put back as an old backup would
        wrap = conn.execute(select(KeyWrap.__table__).where(KeyWrap.purpose == "user").order_by(
            KeyWrap.wrap_id.desc())).first()  # fmt: skip
    session.users.disable(CLIN)
    store.close()
    edit_file(data_dir, "UPDATE users SET active = 1, disabled_at = NULL WHERE username = ?", CLIN)
    edit_file(data_dir, "INSERT INTO key_wraps (key_id, purpose, user_id, kdf, salt, wrapped, created_at) "
              "VALUES (?, 'user', ?, ?, ?, ?, ?)", wrap.key_id, wrap.user_id, wrap.kdf, wrap.salt, wrap.wrapped,
              str(wrap.created_at))  # fmt: skip
    reopened = Store.open(data_dir, clock=clock)
    with pytest.raises(NotAllowed, match="not as an administrator last set it"):
        Session.sign_in(reopened, CLIN, CLIN_PASSWORD)


def test_every_account_change_is_a_new_signed_revision(store: Store, session: Session) -> None:
    def rev() -> int:
        with store.reading() as conn:
            row = conn.execute(select(User.__table__).where(User.username == CLIN)).one()
            assert grants.is_genuine(conn, row) and grants.public_key(conn) is not None
            return int(row.grant_rev)

    session.users.add(CLIN, "clinician", CLIN_PASSWORD)
    assert rev() == 1
    session.users.disable(CLIN)
    assert rev() == 2
    session.users.enable(CLIN, "a new long passphrase")
    assert rev() == 3
    Session.sign_in(store, CLIN, "a new long passphrase").change_password("a new long passphrase",
                                                                          "yet another long passphrase")  # fmt: skip
    assert rev() == 3  # their own password is theirs: the grant is unchanged


def test_only_admins_hold_the_admin_key_and_keep_it_through_password_changes(
    store: Store, session: Session, recovery_key: str
) -> None:
    session.users.add(CLIN, "clinician", CLIN_PASSWORD)
    session.users.add("second.admin", "admin", "orange lantern meadow")
    with pytest.raises(NotAllowed, match="Only an administrator"):
        Session.sign_in(store, CLIN, CLIN_PASSWORD).admin_key()
    second = Session.sign_in(store, "second.admin", "orange lantern meadow")
    assert second.admin_key() is not None
    second.change_password("orange lantern meadow", "silver kettle harbour")
    again = Session.sign_in(store, "second.admin", "silver kettle harbour")
    again.users.disable(CLIN)  # signs with the key its new password opened
    reset_password_with_recovery(store, recovery_key, ADMIN, "recovered long passphrase")
    with pytest.raises(LoginFailed):
        Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    recovered = Session.sign_in(store, ADMIN, "recovered long passphrase")
    recovered.users.enable(CLIN, "a new long passphrase")  # the recovery key gave the admin key back


def test_a_store_from_before_signing_gets_its_key_at_the_first_admin_sign_in(data_dir: Path, clock: FakeClock) -> None:
    store, _ = Store.create(data_dir, ORG, ADMIN, ADMIN_PASSWORD, clock=clock)
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    session.users.add(CLIN, "clinician", CLIN_PASSWORD)
    pid = session.patients.add(PatientDetails("Ffion", "Hughes", date(1990, 5, 1), "9434765919"))
    store.close()
    engine = database.make_engine(database.db_path(data_dir))
    with engine.begin() as conn:
        database.command.downgrade(database._alembic_config(conn), "0005")  # as the last release wrote it
    engine.dispose()
    reopened = Store.open(data_dir, clock=clock)
    with reopened.reading() as conn:
        assert grants.public_key(conn) is None
    assert Session.sign_in(reopened, CLIN, CLIN_PASSWORD).patients.get(pid).details.given_name == "Ffion"
    admin = Session.sign_in(reopened, ADMIN, ADMIN_PASSWORD)  # makes the key and signs every account
    with reopened.reading() as conn:
        assert grants.public_key(conn) is not None and grants.altered_accounts(conn) == []
    admin.users.disable(CLIN)
    assert verify_store(admin).ok


def test_core_knows_where_sync_keeps_its_settings() -> None:
    """core/ cannot import sync/, so sign_in names the meta key itself: this ties the two."""
    from perfectcare_desktop.core.access import sign_in
    from perfectcare_desktop.sync import device

    assert sign_in.DEVICE_CONFIG_META == device.CONFIG_KEY


def test_info_shows_the_admin_key_fingerprint_to_compare_by_eye(tmp_path: Path) -> None:
    from testsupport import CLI_PASSWORD, admin_cli

    data = tmp_path / "store"
    assert admin_cli(data, "init", "--org", "T", "--admin", "boss", stdin=CLI_PASSWORD + "\n").returncode == 0
    shown = admin_cli(data, "info", user=False).stdout
    store = Store.open(data)
    try:
        with store.reading() as conn:
            key = grants.public_key(conn)
    finally:
        store.close()
    assert key is not None and f"Admin key:     {key.fingerprint()}" in shown
    assert len(key.fingerprint()) == 24  # five groups of four, for a person to read out
