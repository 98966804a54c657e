"""The hash-chained audit trail: what is recorded, filtering, sealing, and tamper detection."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from testsupport import ADMIN, ADMIN_PASSWORD, FakeClock

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage import audit
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.errors import LoginFailed, NotFound
from perfectcare_desktop.paths import db_path

CLIN = "clin1"
CLIN_PASSWORD = "clinician password 1"
REASON = "Zebra-quokka 4711: wrong patient selected"


def _details(family: str = "Jones", nhs: str = "9434765919") -> PatientDetails:
    return PatientDetails("Ann", family, date(1980, 5, 17), nhs)


def _verify(store: Store, session: Session) -> list[str]:
    with store.reading() as conn:
        return audit.verify(conn, session.require_unlocked())


def _raw(data_dir: Path, *statements: str) -> None:
    """What an attacker with the file could do: plain sqlite3, triggers dropped first."""
    con = sqlite3.connect(db_path(data_dir))
    try:
        for sql in statements:
            con.execute(sql)
        con.commit()
    finally:
        con.close()


def _file_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.iterdir()) if p.is_file())


@pytest.fixture
def story(store: Store, session: Session, clock: FakeClock) -> dict[str, str]:
    """A morning's work, a minute apart, with ids to check the trail against."""
    ids: dict[str, str] = {"admin": session.user.user_id}
    clock.advance(minutes=1)
    ids["patient"] = session.patients.add(_details())
    ids["v1"] = session.records.history(ids["patient"])[0].version_id
    clock.advance(minutes=1)
    ids["v2"] = session.patients.update(ids["patient"], _details("Price"))
    clock.advance(minutes=1)
    session.patients.get(ids["patient"])
    clock.advance(minutes=1)
    session.records.mark_entered_in_error(ids["v2"], REASON)
    clock.advance(minutes=1)
    session.lock()
    clock.advance(minutes=1)
    session.unlock(ADMIN_PASSWORD)
    clock.advance(minutes=1)
    ids["clin"] = session.users.add(CLIN, "clinician", CLIN_PASSWORD)
    clock.advance(minutes=1)
    clin = Session.sign_in(store, CLIN, CLIN_PASSWORD)
    clock.advance(minutes=1)
    ids["patient2"] = clin.patients.add(_details("Evans", "9990000018"))
    clock.advance(minutes=1)
    clin.patients.get(ids["patient2"])
    clock.advance(minutes=1)
    session.users.disable(CLIN)
    return ids


def test_actions_are_recorded_with_user_and_patient(session: Session, story: dict[str, str], clock: FakeClock) -> None:
    entries = list(reversed(session.audit_trail()))  # oldest first
    admin, clin, p1, p2 = story["admin"], story["clin"], story["patient"], story["patient2"]
    got = [(e.action, e.user_id, e.patient_id, e.target_id) for e in entries]
    assert got == [
        ("store_created", admin, None, None),
        ("login", admin, None, None),
        ("create", admin, p1, story["v1"]),
        ("update", admin, p1, story["v2"]),
        ("view", admin, p1, story["v2"]),
        ("entered_in_error", admin, p1, story["v2"]),
        ("lock", admin, None, None),
        ("unlock", admin, None, None),
        ("user_add", admin, None, clin),
        ("login", clin, None, None),
        ("create", clin, p2, got[10][3]),
        ("view", clin, p2, got[10][3]),
        ("user_disable", admin, None, clin),
    ]
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    start = clock.now() - timedelta(minutes=11)
    assert [e.at for e in entries][1:] == [start + timedelta(minutes=n) for n in range(12)]
    details = {e.action: e.detail for e in entries}
    assert details["entered_in_error"] == REASON
    assert details["user_add"] == f"{CLIN} as clinician"
    assert details["user_disable"] == CLIN
    assert details["create"] == "patient"
    assert (
        details["store_created"]
        == "organisation Test NHS Foundation Trust; every version audited or listed from the start"
    )


def test_filters(session: Session, story: dict[str, str], clock: FakeClock) -> None:
    by_clin = session.audit_trail(username=CLIN)
    assert [e.action for e in by_clin] == ["view", "create", "login"]  # newest first
    assert {e.user_id for e in by_clin} == {story["clin"]}

    by_admin = session.audit_trail(username=ADMIN)
    assert {e.user_id for e in by_admin} == {story["admin"]}
    assert len(by_admin) + len(by_clin) == len(session.audit_trail())

    p1 = session.audit_trail(patient_id=story["patient"])
    assert [e.action for e in p1] == ["entered_in_error", "view", "update", "create"]
    assert [e.action for e in session.audit_trail(patient_id=story["patient2"])] == ["view", "create"]
    assert [e.patient_id for e in session.audit_trail(action="view")] == [story["patient2"], story["patient"]]
    assert session.audit_trail(action="print") == []

    both = session.audit_trail(username=ADMIN, action="view", patient_id=story["patient"])
    assert len(both) == 1 and both[0].target_id == story["v2"]
    assert session.audit_trail(username=CLIN, patient_id=story["patient"]) == []

    t0 = clock.now() - timedelta(minutes=11)  # the store was created and the admin logged in
    window = session.audit_trail(since=t0 + timedelta(minutes=2), until=t0 + timedelta(minutes=4))
    assert [e.action for e in window] == ["view", "update"]  # since is inclusive, until exclusive
    since = session.audit_trail(since=clock.now() - timedelta(minutes=1))
    assert [e.action for e in since] == ["user_disable", "view"]
    until = session.audit_trail(until=t0 + timedelta(minutes=1))
    assert [e.action for e in until] == ["login", "store_created"]
    assert session.audit_trail(until=t0) == []
    assert len(session.audit_trail(limit=3)) == 3
    with pytest.raises(NotFound, match="no user called 'ghost'"):
        session.audit_trail(username="ghost")


def test_intact_chain_verifies(store: Store, session: Session, story: dict[str, str]) -> None:
    assert _verify(store, session) == []
    # And still after another login folded failed attempts in.
    with pytest.raises(LoginFailed, match="not right"):
        Session.sign_in(store, ADMIN, "wrong password")
    again = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    assert _verify(store, again) == []


def test_verify_detects_an_edited_entry(store: Store, session: Session, story: dict[str, str], data_dir: Path) -> None:
    target = session.audit_trail(action="view", patient_id=story["patient"])[0].seq
    _raw(
        data_dir,
        "DROP TRIGGER audit_no_update",
        f"UPDATE audit SET user_id = '{story['clin']}' WHERE seq = {target}",
    )
    problems = _verify(store, session)
    assert problems == [f"audit entry {target} (view) has been altered or the chain broken before it"]


@pytest.mark.parametrize(
    ("column", "value"),
    [("at", "'2020-01-01 00:00:00.000000'"), ("patient_id", "NULL"), ("target_id", "'x'"), ("mac", "zeroblob(32)")],
)
def test_verify_detects_each_edited_field(
    store: Store, session: Session, story: dict[str, str], data_dir: Path, column: str, value: str
) -> None:
    target = session.audit_trail(action="update")[0].seq
    _raw(data_dir, "DROP TRIGGER audit_no_update", f"UPDATE audit SET {column} = {value} WHERE seq = {target}")
    problems = _verify(store, session)
    assert problems
    assert any(f"audit entry {target} " in p or f"entry {target + 1} " in p for p in problems)


def test_verify_detects_a_swapped_detail(store: Store, session: Session, story: dict[str, str], data_dir: Path) -> None:
    first, second = sorted(e.seq for e in session.audit_trail(action="create"))
    _raw(
        data_dir,
        "DROP TRIGGER audit_no_update",
        f"UPDATE audit SET detail = (SELECT detail FROM audit WHERE seq = {first}) WHERE seq = {second}",
    )
    problems = _verify(store, session)
    assert f"audit entry {second} detail does not authenticate" in problems
    assert f"audit entry {second} (create) has been altered or the chain broken before it" in problems


def test_verify_detects_a_deleted_middle_entry(
    store: Store, session: Session, story: dict[str, str], data_dir: Path
) -> None:
    target = session.audit_trail(action="entered_in_error")[0].seq
    _raw(data_dir, "DROP TRIGGER audit_no_delete", f"DELETE FROM audit WHERE seq = {target}")
    problems = _verify(store, session)
    assert f"audit entries {target}-{target} are missing" in problems
    assert any(p.startswith(f"audit entry {target + 1} ") and "altered" in p for p in problems)


def test_verify_detects_deleted_newest_entries(
    store: Store, session: Session, story: dict[str, str], data_dir: Path
) -> None:
    last = session.audit_trail(limit=1)[0].seq
    _raw(data_dir, "DROP TRIGGER audit_no_delete", f"DELETE FROM audit WHERE seq = {last}")
    assert _verify(store, session) == [
        f"the newest audit entries after {last - 1} are missing or the chain head was altered"
    ]
    _raw(data_dir, f"DELETE FROM audit WHERE seq >= {last - 3}")
    assert _verify(store, session) == [
        f"the newest audit entries after {last - 4} are missing or the chain head was altered"
    ]


def test_verify_detects_a_removed_anchor(store: Store, session: Session, story: dict[str, str], data_dir: Path) -> None:
    _raw(data_dir, "DELETE FROM meta WHERE key = 'audit_head'")
    assert len(_verify(store, session)) == 1


def test_verify_detects_a_wiped_trail(store: Store, session: Session, story: dict[str, str], data_dir: Path) -> None:
    _raw(data_dir, "DROP TRIGGER audit_no_delete", "DELETE FROM audit", "DELETE FROM meta WHERE key = 'audit_head'")
    with store.reading() as conn:
        assert audit.count(conn) == 0
    assert _verify(store, session) != []


def test_verify_detects_a_wiped_trail_with_the_anchor_left(
    store: Store, session: Session, story: dict[str, str], data_dir: Path
) -> None:
    _raw(data_dir, "DROP TRIGGER audit_no_delete", "DELETE FROM audit")
    assert _verify(store, session) == [
        "the audit trail is empty: its entries (at least the store's creation) were removed"
    ]


def test_verify_with_another_stores_key_fails_everywhere(
    store: Store, session: Session, story: dict[str, str], tmp_path: Path, clock: FakeClock
) -> None:
    other_store, _ = Store.create(tmp_path / "other", "Other", ADMIN, ADMIN_PASSWORD, clock=clock)
    other = Session.sign_in(other_store, ADMIN, ADMIN_PASSWORD)
    with store.reading() as conn:
        problems = audit.verify(conn, other.require_unlocked())
        n = audit.count(conn)
    assert sum("has been altered" in p for p in problems) == n
    other_store.close()


def test_details_are_sealed_on_disk(store: Store, session: Session, story: dict[str, str], data_dir: Path) -> None:
    session.record_event("print", patient_id=story["patient"], detail="printed to WARD-7-PRINTER-XYZZY")
    # The details really are there, decrypted, through the API ...
    assert session.audit_trail(action="print")[0].detail == "printed to WARD-7-PRINTER-XYZZY"
    assert session.audit_trail(action="entered_in_error")[0].detail == REASON
    # ... and nowhere in the files in clear (main database, WAL).
    blob = _file_bytes(data_dir)
    for secret in (REASON, "Zebra-quokka", "WARD-7-PRINTER-XYZZY", f"{CLIN} as clinician", "Jones", "Price"):
        assert secret.encode() not in blob, secret
    with store.reading() as conn:
        raw = conn.exec_driver_sql("SELECT detail FROM audit WHERE action = 'print'").scalar()
    assert raw[:2] == b"PC" and b"XYZZY" not in raw


def test_a_tampered_detail_reads_as_not_authenticating(
    store: Store, session: Session, story: dict[str, str], data_dir: Path
) -> None:
    target = session.audit_trail(action="user_add")[0].seq
    con = sqlite3.connect(db_path(data_dir))
    try:
        con.execute("DROP TRIGGER audit_no_update")
        sealed = con.execute("SELECT detail FROM audit WHERE seq = ?", (target,)).fetchone()[0]
        flipped = sealed[:-1] + bytes([sealed[-1] ^ 0x01])
        con.execute("UPDATE audit SET detail = ? WHERE seq = ?", (flipped, target))
        con.commit()
    finally:
        con.close()
    assert session.audit_trail(action="user_add")[0].detail == "(detail does not authenticate)"
    assert f"audit entry {target} detail does not authenticate" in _verify(store, session)


def test_unknown_action_is_a_programming_error(store: Store, session: Session) -> None:
    before = session.audit_trail()
    with pytest.raises(ValueError, match="unknown audit action 'peek'"):
        session.record_event("peek")
    assert session.audit_trail() == before
