"""Signed administration across PCs (issue 16 part 5): account changes from the hub are taken only when
the organisation's admin key signed them and they are newer than what the PC holds. Who forges here
holds the data key (any clinician does) and writes to the hub's database directly."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select
from sync_support import Pc, join

from perfectcare_desktop.core.access import grants
from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.errors import LoginFailed
from perfectcare_desktop.store.models import User
from perfectcare_desktop.sync.push import user_mac

NURSE, NURSE_PASSWORD = "nurse.al", "another good password"
USER_FIELDS = ("change_id, user_id::text, username, display_name, role, active, created_at, disabled_at, "
               "wrap_key_id, wrap_kdf, wrap_salt, wrapped, grant_rev, grant_sig, admin_wrapped, teams")  # fmt: skip


def account(pc: Pc, username: str) -> object:
    with pc.store.reading() as conn:
        return conn.execute(select(User.__table__).where(User.username == username)).one()


def hub_rows(hub_db: str, username: str) -> list[tuple[object, ...]]:
    with psycopg.connect(hub_db) as conn:
        return conn.execute(f"SELECT {USER_FIELDS} FROM users WHERE username = %s ORDER BY seq", (username,)).fetchall()


def insert_as_attacker(hub_db: str, pc: Pc, row: tuple[object, ...]) -> None:
    """A row the data key authenticates (the attacker holds it), under a new change id."""
    row = (str(uuid.uuid4()), *row[1:])
    mac = user_mac(pc.session.require_unlocked(), row)
    with psycopg.connect(hub_db) as conn:
        conn.execute(f"INSERT INTO users ({USER_FIELDS.replace('::text', '')}, mac) VALUES "
                     f"({', '.join(['%s'] * 17)})", (*row, mac))  # fmt: skip


def test_every_pc_pins_the_same_admin_key(two_pcs) -> None:
    a, b = two_pcs
    with a.store.reading() as one, b.store.reading() as other:
        assert grants.public_key(one) is not None and grants.public_key(one) == grants.public_key(other)


def test_a_role_forged_on_the_hub_with_the_data_key_is_refused(two_pcs, hub_db: str) -> None:
    a, b = two_pcs
    a.session.users.add(NURSE, "clinician", NURSE_PASSWORD)
    a.sync()
    b.sync()
    signed = hub_rows(hub_db, NURSE)[-1]
    forged = list(signed)
    forged[4], forged[12] = "admin", int(signed[12]) + 1  # role, a newer revision; the old signature
    insert_as_attacker(hub_db, a, tuple(forged))
    report = b.sync()
    assert any("not signed by this organisation's admin key" in r for r in report.rejected)
    assert account(b, NURSE).role == "clinician"
    nurse = Session.sign_in(b.store, NURSE, NURSE_PASSWORD)
    assert not nurse.is_admin


def test_a_replayed_account_change_cannot_re_enable_a_disabled_account(two_pcs, hub_db: str, tmp_path: Path) -> None:
    a, b = two_pcs
    a.session.users.add(NURSE, "clinician", NURSE_PASSWORD)
    a.sync()
    b.sync()
    enabled = hub_rows(hub_db, NURSE)[-1]  # signed, revision 1, with their password wrap
    a.session.users.disable(NURSE)
    a.sync()
    b.sync()
    assert not account(b, NURSE).active
    insert_as_attacker(hub_db, a, enabled)  # the old, genuinely signed row, sent again
    report = b.sync()
    assert any("older than the one this PC holds" in r for r in report.rejected)
    assert not account(b, NURSE).active
    with pytest.raises(LoginFailed, match="disabled"):
        Session.sign_in(b.store, NURSE, NURSE_PASSWORD)
    c = join(a.session, hub_db, tmp_path / "pc3")  # a new PC reads the whole stream: the replay loses there too
    try:
        assert not account(c, NURSE).active
    finally:
        c.close()


def test_an_admin_added_on_one_pc_signs_account_changes_on_another(two_pcs) -> None:
    a, b = two_pcs
    a.session.users.add("second.admin", "admin", "orange lantern meadow")
    a.session.users.add(NURSE, "clinician", NURSE_PASSWORD)
    a.sync()
    b.sync()
    second = Session.sign_in(b.store, "second.admin", "orange lantern meadow")
    second.users.disable(NURSE)  # with the admin key their password opens, wrapped on PC 1
    b.sync()
    report = a.sync()
    assert not report.rejected
    assert not account(a, NURSE).active and int(account(a, NURSE).grant_rev) == 2


def test_teams_and_who_is_in_them_reach_every_pc(two_pcs) -> None:
    from perfectcare_desktop.core.patients.details import PatientDetails

    a, b = two_pcs
    crisis = a.session.teams.create("Crisis team North")
    a.session.teams.create("Ward 5")
    a.session.users.add(NURSE, "clinician", NURSE_PASSWORD, teams=("Ward 5",))
    a.session.patients.add(PatientDetails("Alys", "Evans", date(1980, 1, 1), "9434765919", team_id=crisis))
    a.sync()
    b.sync()
    nurse = Session.sign_in(b.store, NURSE, NURSE_PASSWORD)
    assert nurse.patients.all() == []  # Alys is the crisis team's
    assert {"Crisis team North", "Ward 5"} <= {t.name for t in nurse.teams.all()}
    a.session.teams.add_member("Crisis team North", NURSE)
    a.sync()
    b.sync()
    nurse.patients.reload()
    assert [p.details.given_name for p in nurse.patients.all()] == ["Alys"]
