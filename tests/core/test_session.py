"""The session API on a real encrypted store: patients, versions, search, users, passwords, lockout."""

from __future__ import annotations

import gc
import itertools
import random
import re
import sqlite3
import sys
import types
import unicodedata
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from testsupport import ADMIN, ADMIN_PASSWORD, ORG, FakeClock

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.access.sign_in import lockout_delay, reset_password_with_recovery
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.patients.nhs_number import test_range_numbers
from perfectcare_desktop.core.storage import audit, versions
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.crypto import vault
from perfectcare_desktop.errors import (
    AccountLocked,
    InvalidInput,
    LoginFailed,
    NotAllowed,
    NotFound,
    SessionLocked,
)
from perfectcare_desktop.paths import db_path

NHS_A = "9434765919"
NHS = list(itertools.islice(test_range_numbers(random.Random(2026)), 20))
TABLES = (
    "meta",
    "users",
    "key_wraps",
    "records",
    "versions",
    "version_parents",
    "blind_index",
    "audit",
    "pending_audit",
)
CLIN = "clin1"
CLIN_PASSWORD = "clinician password 1"
MB = 1_048_576


def person(given: str = "Ann", family: str = "Jones", nhs: str = NHS_A, **kw: Any) -> PatientDetails:
    kw.setdefault("date_of_birth", date(1980, 5, 17))
    return PatientDetails(given_name=given, family_name=family, nhs_number=nhs, **kw)


def snapshot(data_dir: Path) -> dict[str, list[tuple]]:
    """Every row of every table, read from the file with a separate plain sqlite3 connection."""
    con = sqlite3.connect(db_path(data_dir))
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in TABLES}
    finally:
        con.close()


def count(data_dir: Path, table: str, where: str = "", *args: Any) -> int:
    con = sqlite3.connect(db_path(data_dir))
    try:
        return con.execute(f"SELECT count(*) FROM {table} {where}", args).fetchone()[0]
    finally:
        con.close()


def rows(data_dir: Path, sql: str, *args: Any) -> list[tuple]:
    con = sqlite3.connect(db_path(data_dir))
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def verify_chain(store: Store, session: Session) -> list[str]:
    with store.reading() as conn:
        return audit.verify(conn, session.require_unlocked())


@pytest.fixture
def clinician(session: Session) -> str:
    return session.users.add(CLIN, "clinician", CLIN_PASSWORD, "Dr Clinician")


# --- versions -------------------------------------------------------------------------------------
def test_add_and_update_keep_every_version(session: Session, data_dir: Path) -> None:
    v1 = person()
    v2 = person(family="Jones-Price")
    v3 = person(family="Jones-Price", preferred_name="Annie", access_needs=("large print",))
    pid = session.patients.add(v1)
    first_payload = rows(data_dir, "SELECT version_id, payload FROM versions")
    session.patients.update(pid, v2)
    session.patients.update(pid, v3)

    history = session.records.history(pid)
    assert [PatientDetails.from_payload(v.payload) for v in history] == [v1, v2, v3]
    assert [v.status for v in history] == ["current"] * 3
    assert {v.author_id for v in history} == {session.user.user_id}
    assert history[0].parents == ()
    assert history[1].parents == (history[0].version_id,)
    assert history[2].parents == (history[1].version_id,)
    assert len({v.version_id for v in history}) == 3
    assert session.patients.get(pid).details == v3
    assert session.patients.get(pid).version_id == history[2].version_id
    # The first version's stored bytes are exactly as first written.
    assert rows(data_dir, "SELECT version_id, payload FROM versions ORDER BY seq LIMIT 1") == first_payload
    assert count(data_dir, "records") == 1


def test_every_save_is_a_new_version_row(session: Session, data_dir: Path) -> None:
    pid = session.patients.add(person())
    assert count(data_dir, "versions") == 1
    ids = set()
    for n in range(2, 6):
        ids.add(session.patients.update(pid, person()))  # even an unchanged save appends
        assert count(data_dir, "versions") == n
        assert count(data_dir, "versions", "WHERE record_id = ?", pid) == n
    assert len(ids) == 4
    assert count(data_dir, "records") == 1
    assert count(data_dir, "version_parents") == 4
    assert count(data_dir, "audit", "WHERE action = 'update' AND patient_id = ?", pid) == 4
    assert len(session.records.history(pid)) == 5


def test_duplicate_nhs_number_is_refused_and_nothing_written(session: Session, data_dir: Path) -> None:
    session.patients.add(person(nhs=NHS_A))
    before = snapshot(data_dir)
    with pytest.raises(InvalidInput, match=r"NHS number 943 476 5919 is already registered; open that record"):
        session.patients.add(person("Bob", "Other", nhs="943-476-5919"))
    assert snapshot(data_dir) == before
    assert [p.details.given_name for p in session.patients.all()] == ["Ann"]


def test_update_to_another_patients_nhs_number_is_refused(session: Session, data_dir: Path) -> None:
    session.patients.add(person(nhs=NHS_A))
    other = session.patients.add(person("Bob", "Other", nhs=NHS[0]))
    before = snapshot(data_dir)
    with pytest.raises(InvalidInput, match=r"Another patient already has NHS number 943 476 5919\."):
        session.patients.update(other, person("Bob", "Other", nhs=NHS_A))
    assert snapshot(data_dir) == before
    # Keeping one's own number is of course fine.
    session.patients.update(other, person("Robert", "Other", nhs=NHS[0]))


def test_a_changed_nhs_number_frees_the_old_one(session: Session) -> None:
    pid = session.patients.add(person(nhs=NHS_A))
    session.patients.update(pid, person(nhs=NHS[1]))
    new = session.patients.add(person("Cara", "New", nhs=NHS_A))
    # Same number and birth date as the first was registered with, so the same derived id: that record
    # is someone else's, so Cara gets a record of her own, not a second first version of theirs.
    assert pid == versions.patient_record_id(session.require_unlocked(), NHS_A, person().date_of_birth)
    assert new != pid and [v.version_id for v in session.records.history(new)] == [session.patients.get(new).version_id]
    assert session.patients.find_by_nhs_number(NHS_A).record_id == new
    assert session.patients.find_by_nhs_number(NHS[1]).record_id == pid


# --- search ---------------------------------------------------------------------------------------
@pytest.fixture
def caseload(session: Session) -> dict[str, str]:
    people = {
        "lukasz": person("Łukasz", "Wójcik", NHS[2]),
        "ann": person("Ann", "Jones", NHS_A),
        "joanna": person("Joanna", "Smith", NHS[3]),
        "sian": person("Siân", "ap Dafydd", NHS[4]),
        "zaneta": person("Żaneta", "Wójcik-Łęcka", NHS[5]),
    }
    return {key: session.patients.add(d) for key, d in people.items()}


NAME_QUERIES = [
    ("lukasz", ["lukasz"]),
    ("ŁUKASZ", ["lukasz"]),
    ("Łukasz Wójcik", ["lukasz"]),
    ("uka", ["lukasz"]),
    ("wojcik", ["lukasz", "zaneta"]),
    ("zaneta wojcik-lecka", ["zaneta"]),
    ("lecka", ["zaneta"]),
    ("sian", ["sian"]),
    ("SIÂN AP", ["sian"]),
    ("ann", ["ann", "joanna"]),  # word starts rank first
    ("smith jo", ["joanna"]),
    ("jones smith", []),
    ("zzz", []),
    ("", []),
    ("   ", []),
]
NHS_QUERIES = [
    ("9434765919", ["ann"]),
    ("943 476 5919", ["ann"]),
    ("943-476-5919", ["ann"]),
    (" 943 476 ", ["ann"]),
    ("4765", ["ann"]),
    ("76 59", ["ann"]),
    ("0000000000", []),
]


@pytest.mark.parametrize("fresh", [False, True], ids=["same-session", "new-session"])
def test_search_by_name_and_nhs_digits(store: Store, session: Session, caseload: dict[str, str], fresh: bool) -> None:
    searcher = Session.sign_in(store, ADMIN, ADMIN_PASSWORD) if fresh else session
    for query, expected in NAME_QUERIES + NHS_QUERIES:
        found = [p.record_id for p in searcher.patients.search(query)]
        assert found == [caseload[k] for k in expected], query


def test_search_by_partial_digits_finds_all_containing_them(session: Session, caseload: dict[str, str]) -> None:
    everyone = session.patients.search("999")  # the other four are in the 999 test range
    assert {p.record_id for p in everyone} == {caseload[k] for k in ("lukasz", "joanna", "sian", "zaneta")}
    assert len(session.patients.search("999", limit=2)) == 2


def test_search_follows_updates(session: Session, caseload: dict[str, str]) -> None:
    session.patients.all()  # the in-memory index is built
    session.patients.update(caseload["ann"], person("Ann", "Llewellyn", NHS_A))
    assert session.patients.search("jones") == []
    assert [p.record_id for p in session.patients.search("llewellyn")] == [caseload["ann"]]
    pid = session.patients.add(person("Ffion", "Ŵyn", NHS[6]))
    assert [p.record_id for p in session.patients.search("ffion wyn")] == [pid]


def test_find_by_nhs_number_is_exact(session: Session, caseload: dict[str, str]) -> None:
    for typed in ("9434765919", "943 476 5919", "943-476-5919", " 9434765919 "):
        found = session.patients.find_by_nhs_number(typed)
        assert found is not None and found.record_id == caseload["ann"]
        assert found.details.nhs_number == NHS_A
    assert session.patients.find_by_nhs_number(NHS[10]) is None  # valid but not registered
    with pytest.raises(InvalidInput, match="has 10 digits"):
        session.patients.find_by_nhs_number("4765")  # no partial matches through the blind index
    with pytest.raises(InvalidInput, match="not a valid NHS number"):
        session.patients.find_by_nhs_number("9434765918")


def test_no_plain_nhs_number_or_name_in_the_file(session: Session, caseload: dict[str, str], data_dir: Path) -> None:
    blob = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.is_file())
    assert session.patients.find_by_nhs_number(NHS_A) is not None
    for needle in (NHS_A, "943 476 5919", "Łukasz", "Wójcik", "Joanna"):
        assert needle.encode() not in blob


# --- entered in error -----------------------------------------------------------------------------
def test_mark_latest_version_entered_in_error_reverts(session: Session, store: Store, data_dir: Path) -> None:
    v1, v2 = person(), person("Anne", "Smyth", access_needs=("interpreter",))
    pid = session.patients.add(v1)
    session.patients.all()
    bad = session.patients.update(pid, v2)
    eie = session.records.mark_entered_in_error(bad, "  Wrong patient's details typed in.  ")

    assert session.patients.get(pid).details == v1
    assert [p.details for p in session.patients.all()] == [v1]
    assert [p.record_id for p in session.patients.search("ann jones")] == [pid]
    assert session.patients.search("smyth") == []

    history = session.records.history(pid)
    assert [v.version_id for v in history][1:] == [bad, eie]
    assert PatientDetails.from_payload(history[1].payload) == v2  # still readable
    assert history[1].status == "current"
    assert history[2].status == "entered_in_error"
    assert history[2].payload["marks"] == bad
    assert history[2].payload["reason"] == "Wrong patient's details typed in."
    assert history[2].parents == (bad,)
    assert count(data_dir, "versions") == 3

    # A fresh session (list built from the heads) agrees.
    fresh = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    assert [p.details for p in fresh.patients.all()] == [v1]
    assert fresh.patients.find_by_nhs_number(NHS_A).details == v1
    entries = fresh.audit_trail(action="entered_in_error")
    assert [(e.patient_id, e.target_id, e.detail) for e in entries] == [(pid, bad, "Wrong patient's details typed in.")]


def test_withdrawing_the_only_version_withdraws_the_patient(session: Session) -> None:
    pid = session.patients.add(person())
    first = session.records.history(pid)[0].version_id
    session.records.mark_entered_in_error(first, "Duplicate record")
    with pytest.raises(NotFound, match="entered in error"):
        session.patients.get(pid)
    assert session.patients.all() == []
    assert session.patients.search("ann") == []
    assert session.patients.find_by_nhs_number(NHS_A) is None
    assert len(session.records.history(pid)) == 2


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_entered_in_error_needs_a_reason(session: Session, data_dir: Path, reason: str) -> None:
    pid = session.patients.add(person())
    version = session.records.history(pid)[0].version_id
    before = snapshot(data_dir)
    with pytest.raises(InvalidInput, match="Say why this was entered in error"):
        session.records.mark_entered_in_error(version, reason)
    assert snapshot(data_dir) == before


def test_entered_in_error_note_cannot_itself_be_withdrawn(session: Session, data_dir: Path) -> None:
    pid = session.patients.add(person())
    session.patients.update(pid, person(family="Price"))
    note = session.records.mark_entered_in_error(session.records.history(pid)[1].version_id, "typo")
    before = snapshot(data_dir)
    with pytest.raises(InvalidInput, match="itself an 'entered in error' note"):
        session.records.mark_entered_in_error(note, "undo")
    with pytest.raises(NotFound, match="That version does not exist"):
        session.records.mark_entered_in_error("00000000-0000-0000-0000-000000000000", "gone")
    assert snapshot(data_dir) == before


# --- names from everywhere ---------------------------------------------------------------------------
INTERNATIONAL = [
    pytest.param(
        person("Siân", "ap Dafydd", NHS[7], preferred_name="Gwŷn", local_id="Tŵr-12", preferred_language="Cymraeg"),
        "sian dafydd",
        id="welsh",
    ),
    pytest.param(person("Żaneta", "Wójcik-Łęcka", NHS[8], preferred_language="polski"), "zaneta lecka", id="polish"),
    pytest.param(person("عائشہ", "خان", NHS[9], preferred_language="اردو"), "عائشہ خان", id="urdu"),
    pytest.param(person("Sunny 😀", "Smith 🌈", NHS[10]), "sunny", id="emoji"),
    pytest.param(person("Nia", "Jones", NHS[11], preferred_name="👩🏽‍⚕️ Doc"), "nia", id="emoji-zwj-skin-tone"),
    pytest.param(
        person("Dafydd", "Owen", NHS[12], preferred_name="Dafydd 🏴󠁧󠁢󠁷󠁬󠁳󠁿"),
        "dafydd",
        id="welsh-flag",
    ),
]


@pytest.mark.parametrize(("details", "query"), INTERNATIONAL)
def test_international_names_round_trip_exactly(
    store: Store, session: Session, details: PatientDetails, query: str
) -> None:
    pid = session.patients.add(details)
    assert session.patients.get(pid).details == details
    fresh = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    assert [p.details for p in fresh.patients.all()] == [details]
    assert fresh.patients.get(pid).details.given_name.encode() == details.given_name.encode()
    assert [p.record_id for p in fresh.patients.search(query)] == [pid]


def test_decomposed_input_is_stored_composed(session: Session) -> None:
    nfd = unicodedata.normalize("NFD", "Siân")
    assert nfd != "Siân"
    pid = session.patients.add(person(nfd, "ap Dafydd"))
    assert session.patients.get(pid).details.given_name == "Siân"
    assert [p.record_id for p in session.patients.search("Siân")] == [pid]


def test_direction_override_is_refused(session: Session, data_dir: Path) -> None:
    before = snapshot(data_dir)
    with pytest.raises(InvalidInput, match="Family name contains control characters"):
        session.patients.add(person(family="Jones\u202eevil"))
    assert snapshot(data_dir) == before


# --- size limits and validation -------------------------------------------------------------------
def test_one_megabyte_name_is_refused_and_nothing_written(session: Session, data_dir: Path) -> None:
    pid = session.patients.add(person())
    before = snapshot(data_dir)
    audit_before = count(data_dir, "audit")
    with pytest.raises(InvalidInput, match=re.escape("Given name is too long (1,048,576 characters; at most 100).")):
        session.patients.add(person(given="x" * MB, nhs=NHS[0]))
    with pytest.raises(InvalidInput, match=re.escape("Family name is too long (1,048,576 characters; at most 100).")):
        session.patients.update(pid, person(family="ł" * MB))
    assert snapshot(data_dir) == before
    assert count(data_dir, "audit") == audit_before
    assert session.patients.get(pid, audit_view=False).details == person()


def test_one_megabyte_payload_is_refused_and_nothing_written(session: Session, data_dir: Path) -> None:
    pid = session.patients.add(person())
    plan_id, _ = session.records.create("safety_plan", pid, {"warning_signs": "pacing at night"})
    before = snapshot(data_dir)
    audit_before = count(data_dir, "audit")
    message = r"This record is too large to save \([\d,]+ KiB; the limit is 1,024 KiB\).*Nothing was saved\."
    with pytest.raises(InvalidInput, match=message):
        session.records.create("safety_plan", pid, {"warning_signs": "x" * MB})
    with pytest.raises(InvalidInput, match="too large to save.*Nothing was saved"):
        session.records.append(plan_id, {"warning_signs": "x" * MB})
    with pytest.raises(InvalidInput, match="too large to save"):
        session.records.append(plan_id, {"warning_signs": "ł" * (MB // 2)})  # 1 MiB of UTF-8 bytes
    assert snapshot(data_dir) == before
    assert count(data_dir, "audit") == audit_before
    # A large but allowed payload is saved, so the limit is where it says.
    session.records.append(plan_id, {"warning_signs": "x" * 1_000_000})
    assert count(data_dir, "versions") == len(before["versions"]) + 1


def test_too_large_message_reports_a_size_above_the_limit(session: Session) -> None:
    pid = session.patients.add(person())
    with pytest.raises(InvalidInput) as err:
        session.records.create("safety_plan", pid, {"warning_signs": "x" * MB})
    size, limit = (int(n.replace(",", "")) for n in re.findall(r"([\d,]+) KiB", str(err.value)))
    assert size > limit


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nhs_number": "9434765918"}, "'9434765918' is not a valid NHS number: the last digit doesn't match"),
        ({"nhs_number": "12345"}, "An NHS number has 10 digits; '12345' has 5."),
        ({"nhs_number": ""}, "Enter the NHS number (10 digits)."),
        ({"nhs_number": "943476591X"}, "contains 'X'"),
        ({"nhs_number": "1234567890"}, "can never be a valid NHS number"),
        ({"date_of_birth": date(2026, 11, 28)}, "The date of birth 2026-11-28 is in the future."),
        ({"date_of_birth": date(2100, 1, 1)}, "The date of birth 2100-01-01 is in the future."),
        ({"date_of_birth": date(1890, 1, 1)}, "is more than 130 years ago"),
        ({"given_name": "", "family_name": ""}, "Enter the person's name (a given name or a family name)."),
        ({"given_name": "  ", "family_name": "\t"}, "Enter the person's name"),
        ({"access_needs": ("telepathy",)}, "Unknown accessible information need 'telepathy'"),
        ({"local_id": "L" * 41}, "Local id is too long (41 characters; at most 40)."),
    ],
)
def test_invalid_details_give_specific_messages(
    session: Session, data_dir: Path, changes: dict[str, Any], message: str
) -> None:
    pid = session.patients.add(person(nhs=NHS[0]))
    before = snapshot(data_dir)
    with pytest.raises(InvalidInput, match=re.escape(message)):
        session.patients.add(replace(person(), **changes))
    with pytest.raises(InvalidInput, match=re.escape(message)):
        session.patients.update(pid, replace(person(nhs=NHS[0]), **changes))
    assert snapshot(data_dir) == before


def test_boundary_details_are_accepted(session: Session, clock: FakeClock) -> None:
    today = clock.now().date()
    pid = session.patients.add(person(given="", family="Mononym", date_of_birth=today))
    assert session.patients.get(pid).details.date_of_birth == today
    pid2 = session.patients.add(person(given="A" * 100, family="", nhs=NHS[0], access_needs=(" Large Print ",)))
    got = session.patients.get(pid2).details
    assert got.given_name == "A" * 100
    assert got.access_needs == ("large print",)


# --- locking -------------------------------------------------------------------------------------
def test_locked_session_refuses_work_and_forgets_details(session: Session, data_dir: Path) -> None:
    pid = session.patients.add(person())
    assert len(session.patients.all()) == 1
    assert session.patients.search("ann")
    session.lock()
    assert session.locked
    assert not session.patients.loaded
    assert len(session.patients._index) == 0
    before = snapshot(data_dir)
    for attempt in (
        session.patients.all,
        lambda: session.patients.search("ann"),
        lambda: session.patients.add(person("Bob", "New", NHS[0])),
        lambda: session.patients.get(pid),
        lambda: session.records.history(pid),
        lambda: session.patients.find_by_nhs_number(NHS_A),
        lambda: session.patients.update(pid, person(family="X")),
        lambda: session.records.of_patient(pid),
        lambda: session.audit_trail(),
    ):
        with pytest.raises(SessionLocked, match="session is locked"):
            attempt()
    assert snapshot(data_dir) == before
    assert count(data_dir, "audit", "WHERE action = 'lock'") == 1


def reachable_keys(root: object) -> list[object]:
    """Every DataKey reachable from `root` through objects' references (not through modules or classes,
    which reach everything)."""
    modules = {id(m.__dict__) for m in list(sys.modules.values()) if m is not None}
    seen, todo, found = {id(root)}, [root], []
    while todo:
        obj = todo.pop()
        if isinstance(obj, vault.DataKey):
            found.append(obj)
        for ref in gc.get_referents(obj):
            if id(ref) in seen or isinstance(ref, (type, types.ModuleType)) or id(ref) in modules:
                continue
            seen.add(id(ref))
            todo.append(ref)
    return found


def test_forget_locks_without_touching_the_store_and_only_its_write_holds_the_key(
    session: Session, data_dir: Path
) -> None:
    """The app locks on the GUI thread with forget() and runs the lock's audit write on its store worker."""
    session.patients.add(person())
    assert session.patients.all() and reachable_keys(session)
    before = snapshot(data_dir)
    audit_lock = session.forget()
    assert session.locked and not session.patients.loaded and len(session.patients._index) == 0
    assert snapshot(data_dir) == before  # nothing written: the caller runs the write where the store is used
    assert reachable_keys(session) == []  # the session reaches no key; the write does, until it has run
    assert audit_lock is not None and reachable_keys(audit_lock)
    assert session.forget() is None  # already locked: nothing more to audit
    with pytest.raises(SessionLocked):
        session.event_recorder("print")
    audit_lock()
    assert count(data_dir, "audit", "WHERE action = 'lock'") == 1


def test_unlock_needs_the_right_password(session: Session, store: Store) -> None:
    pid = session.patients.add(person())
    session.lock()
    with pytest.raises(LoginFailed, match="not right"):
        session.unlock("not the password")
    assert session.locked
    with pytest.raises(SessionLocked):
        session.patients.all()
    session.unlock(ADMIN_PASSWORD)
    assert not session.locked
    assert [p.record_id for p in session.patients.all()] == [pid]
    assert [e.action for e in session.audit_trail(limit=3)] == ["unlock", "login_failed", "lock"]
    assert verify_chain(store, session) == []


# --- users and roles ------------------------------------------------------------------------------
def test_clinician_cannot_manage_users_or_read_the_audit(store: Store, clinician: str, data_dir: Path) -> None:
    clin = Session.sign_in(store, CLIN, CLIN_PASSWORD)
    assert not clin.is_admin
    before = snapshot(data_dir)
    for attempt in (
        clin.users.all,
        lambda: clin.users.add("sneaky", "admin", "sneaky password 1"),
        lambda: clin.users.disable(ADMIN),
        lambda: clin.users.enable(ADMIN, "new admin password"),
        lambda: clin.audit_trail(),
    ):
        with pytest.raises(NotAllowed, match="Only an administrator can do that."):
            attempt()
    assert snapshot(data_dir) == before
    clin.patients.add(person())  # clinical work is allowed


def test_admin_lists_and_adds_users(session: Session, clinician: str) -> None:
    users = {u.username: u for u in session.users.all()}
    assert set(users) == {ADMIN, CLIN}
    assert users[CLIN].role == "clinician" and users[CLIN].active and users[CLIN].display_name == "Dr Clinician"
    assert users[CLIN].user_id == clinician
    with pytest.raises(InvalidInput, match="already a user called 'clin1'"):
        session.users.add(CLIN, "clinician", "another password")
    with pytest.raises(InvalidInput, match="Role must be one of: clinician, admin."):
        session.users.add("bob", "superuser", "another password")


def test_disabled_user_keeps_authorship_but_cannot_log_in(
    store: Store, session: Session, clinician: str, data_dir: Path
) -> None:
    clin = Session.sign_in(store, CLIN, CLIN_PASSWORD)
    pid = clin.patients.add(person())
    clin.patients.update(pid, person(family="Price"))
    session.users.disable(CLIN)

    assert rows(data_dir, "SELECT DISTINCT author_id FROM versions") == [(clinician,)]
    assert rows(data_dir, "SELECT created_by FROM records") == [(clinician,)]
    assert {v.author_id for v in session.records.history(pid)} == {clinician}
    assert session.patients.get(pid).details.family_name == "Price"
    assert count(data_dir, "key_wraps", "WHERE user_id = ?", clinician) == 0  # their key copy is gone
    info = {u.username: u for u in session.users.all()}[CLIN]
    assert not info.active

    for password in (CLIN_PASSWORD, "some wrong guess"):
        with pytest.raises(LoginFailed, match="disabled") as err:
            Session.sign_in(store, CLIN, password)
        assert not isinstance(err.value, AccountLocked)
    entries = session.audit_trail(action="user_disable")
    assert [(e.user_id, e.target_id, e.detail) for e in entries] == [(session.user.user_id, clinician, CLIN)]
    with pytest.raises(InvalidInput, match="already disabled"):
        session.users.disable(CLIN)
    with pytest.raises(NotFound, match="no user called 'ghost'"):
        session.users.disable("ghost")


def test_cannot_disable_yourself(session: Session, data_dir: Path) -> None:
    before = snapshot(data_dir)
    with pytest.raises(NotAllowed, match="cannot disable your own account"):
        session.users.disable(ADMIN)
    assert snapshot(data_dir) == before


def test_a_disabled_admins_open_session_loses_admin_powers(store: Store, session: Session, data_dir: Path) -> None:
    session.users.add("admin2", "admin", "second admin password")
    second = Session.sign_in(store, "admin2", "second admin password")
    session.users.disable("admin2")  # fine: admin1 is still active
    # admin2's window is still open (on another PC, say); the role is checked afresh, not cached.
    before = snapshot(data_dir)
    with pytest.raises(NotAllowed, match="Only an administrator"):
        second.users.disable(ADMIN)
    with pytest.raises(NotAllowed, match="Only an administrator"):
        second.users.add("sneaky", "admin", "sneaky password 1")
    assert snapshot(data_dir) == before
    Session.sign_in(store, ADMIN, ADMIN_PASSWORD)


def test_enable_user_with_a_new_password(store: Store, session: Session, clinician: str) -> None:
    session.users.disable(CLIN)
    with pytest.raises(InvalidInput, match="at least 12 characters"):
        session.users.enable(CLIN, "short")
    session.users.enable(CLIN, "a brand new password")
    with pytest.raises(LoginFailed, match="not right"):
        Session.sign_in(store, CLIN, CLIN_PASSWORD)
    again = Session.sign_in(store, CLIN, "a brand new password")
    assert again.user.user_id == clinician
    with pytest.raises(InvalidInput, match="already enabled"):
        session.users.enable(CLIN, "a brand new password")
    assert [e.target_id for e in session.audit_trail(action="user_enable")] == [clinician]


# --- passwords --------------------------------------------------------------------------------------
def test_change_password_rewraps_only(store: Store, session: Session, data_dir: Path) -> None:
    pid = session.patients.add(person())
    session.patients.update(pid, person(family="Price"))
    session.records.create("safety_plan", pid, {"reasons_for_living": "my dog"})
    payloads = rows(data_dir, "SELECT seq, version_id, payload FROM versions ORDER BY seq")
    details = rows(data_dir, "SELECT seq, detail FROM audit ORDER BY seq")
    old_wrap = rows(data_dir, "SELECT salt, wrapped FROM key_wraps WHERE purpose = 'user'")
    recovery = rows(data_dir, "SELECT * FROM key_wraps WHERE purpose = 'recovery'")

    session.change_password(ADMIN_PASSWORD, "a completely new password")

    assert rows(data_dir, "SELECT seq, version_id, payload FROM versions ORDER BY seq") == payloads
    assert rows(data_dir, "SELECT seq, detail FROM audit ORDER BY seq")[: len(details)] == details
    new_wrap = rows(data_dir, "SELECT salt, wrapped FROM key_wraps WHERE purpose = 'user'")
    assert len(new_wrap) == 1 and new_wrap != old_wrap
    assert rows(data_dir, "SELECT * FROM key_wraps WHERE purpose = 'recovery'") == recovery
    with pytest.raises(LoginFailed, match="not right"):
        Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    fresh = Session.sign_in(store, ADMIN, "a completely new password")
    assert fresh.patients.get(pid).details.family_name == "Price"
    assert session.patients.get(pid).details.family_name == "Price"  # the open session carries on
    assert verify_chain(store, fresh) == []


def test_change_password_refusals_change_nothing(store: Store, session: Session, data_dir: Path) -> None:
    wrap = rows(data_dir, "SELECT salt, wrapped FROM key_wraps")
    with pytest.raises(LoginFailed, match="current password is not right; the password was not changed"):
        session.change_password("wrong old password", "a completely new password")
    with pytest.raises(InvalidInput, match="at least 12 characters"):
        session.change_password(ADMIN_PASSWORD, "short")
    with pytest.raises(InvalidInput, match="must not be the user name"):
        session.change_password(ADMIN_PASSWORD, "  ADMIN1  " + " " * 5)
    assert rows(data_dir, "SELECT salt, wrapped FROM key_wraps") == wrap
    Session.sign_in(store, ADMIN, ADMIN_PASSWORD)


def test_reset_password_with_recovery_key(store: Store, session: Session, recovery_key: str, clock: FakeClock) -> None:
    pid = session.patients.add(person())
    for _ in range(3):  # locked out first: the reset also clears the lockout
        with pytest.raises(LoginFailed):
            Session.sign_in(store, ADMIN, "forgotten it")
    reset_password_with_recovery(store, recovery_key, ADMIN, "recovered password")
    with pytest.raises(LoginFailed):
        Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    fresh = Session.sign_in(store, ADMIN, "recovered password")
    assert fresh.patients.get(pid).details == person()
    resets = fresh.audit_trail(action="password_reset")
    assert [(e.target_id, e.detail) for e in resets] == [(fresh.user.user_id, "with the recovery key")]
    assert verify_chain(store, fresh) == []


def test_reset_accepts_a_sloppily_typed_recovery_key(store: Store, recovery_key: str) -> None:
    typed = recovery_key.lower().replace("-", " ").replace("o", "0").replace("i", "1")
    reset_password_with_recovery(store, typed, ADMIN, "recovered password")
    Session.sign_in(store, ADMIN, "recovered password")


def test_reset_refuses_a_malformed_key(store: Store, recovery_key: str, data_dir: Path) -> None:
    first = recovery_key[0]
    typo = ("B" if first != "B" else "C") + recovery_key[1:]
    before = snapshot(data_dir)
    with pytest.raises(InvalidInput, match="has a typo"):
        reset_password_with_recovery(store, typo, ADMIN, "recovered password")
    with pytest.raises(InvalidInput, match="14 groups of 4; this one has 52"):
        reset_password_with_recovery(store, recovery_key[5:], ADMIN, "recovered password")
    assert snapshot(data_dir) == before
    Session.sign_in(store, ADMIN, ADMIN_PASSWORD)


def test_reset_refuses_another_stores_key(store: Store, tmp_path: Path, data_dir: Path, clock: FakeClock) -> None:
    other, other_key = Store.create(tmp_path / "other", ORG, ADMIN, ADMIN_PASSWORD, clock=clock)
    other.close()
    before = snapshot(data_dir)
    with pytest.raises(LoginFailed, match="does not belong to this store"):
        reset_password_with_recovery(store, other_key, ADMIN, "recovered password")
    with pytest.raises(NotFound, match="no user called 'ghost'"):
        reset_password_with_recovery(store, other_key, "ghost", "recovered password")
    assert snapshot(data_dir) == before
    Session.sign_in(store, ADMIN, ADMIN_PASSWORD)


def test_reset_checks_the_new_password(store: Store, recovery_key: str) -> None:
    with pytest.raises(InvalidInput, match="at least 12 characters"):
        reset_password_with_recovery(store, recovery_key, ADMIN, "short")
    Session.sign_in(store, ADMIN, ADMIN_PASSWORD)


# --- lockout ------------------------------------------------------------------------------------------
def _failed_attempts(data_dir: Path, username: str = ADMIN) -> int:
    return rows(data_dir, "SELECT failed_attempts FROM users WHERE username = ?", username)[0][0]


def test_three_wrong_passwords_lock_the_account(store: Store, clock: FakeClock, data_dir: Path) -> None:
    for attempt in (1, 2):
        with pytest.raises(LoginFailed, match=r"^The user name or password is not right\.$") as err:
            Session.sign_in(store, ADMIN, "wrong password")
        assert not isinstance(err.value, AccountLocked)
        assert _failed_attempts(data_dir) == attempt
    with pytest.raises(AccountLocked, match="try again in 15 seconds") as err:
        Session.sign_in(store, ADMIN, "wrong password")
    assert err.value.retry_after_seconds == 15
    assert str(err.value).startswith("The user name or password is not right.")

    # The right password is refused while locked, and a wrong one does not extend the lock.
    with pytest.raises(AccountLocked) as err:
        Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    assert err.value.retry_after_seconds == 15
    clock.advance(seconds=10)
    with pytest.raises(AccountLocked) as err:
        Session.sign_in(store, ADMIN, "wrong password")
    assert err.value.retry_after_seconds == 5
    assert _failed_attempts(data_dir) == 3
    with pytest.raises(AccountLocked) as err:
        Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    assert err.value.retry_after_seconds == 5

    clock.advance(seconds=5)
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    assert session.user.username == ADMIN
    assert _failed_attempts(data_dir) == 0
    assert rows(data_dir, "SELECT locked_until FROM users WHERE username = ?", ADMIN) == [(None,)]
    # The counter starts again from zero: one wrong password is just a typo.
    with pytest.raises(LoginFailed) as err:
        Session.sign_in(store, ADMIN, "wrong password")
    assert not isinstance(err.value, AccountLocked)


def test_lockout_delays_double_up_to_fifteen_minutes(store: Store, clock: FakeClock) -> None:
    for _ in range(2):
        with pytest.raises(LoginFailed):
            Session.sign_in(store, ADMIN, "wrong password")
    delays = []
    for _ in range(9):
        with pytest.raises(AccountLocked) as err:
            Session.sign_in(store, ADMIN, "wrong password")
        delays.append(err.value.retry_after_seconds)
        clock.advance(seconds=err.value.retry_after_seconds - 1)
        with pytest.raises(AccountLocked) as still:
            Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
        assert still.value.retry_after_seconds == 1
        clock.advance(seconds=1)
    assert delays == [15, 30, 60, 120, 240, 480, 900, 900, 900]
    with pytest.raises(AccountLocked, match="try again in 15 minutes"):
        Session.sign_in(store, ADMIN, "wrong password")
    clock.advance(seconds=900)
    Session.sign_in(store, ADMIN, ADMIN_PASSWORD)


def test_lockout_delay_schedule() -> None:
    assert [lockout_delay(n) for n in range(0, 12)] == [0, 0, 0, 15, 30, 60, 120, 240, 480, 900, 900, 900]
    assert lockout_delay(1000) == 900


def test_lockout_is_per_user(store: Store, session: Session, clinician: str) -> None:
    for _ in range(3):
        with pytest.raises(LoginFailed):
            Session.sign_in(store, CLIN, "wrong password")
    with pytest.raises(AccountLocked):
        Session.sign_in(store, CLIN, CLIN_PASSWORD)
    Session.sign_in(store, ADMIN, ADMIN_PASSWORD)


def test_unlock_is_subject_to_lockout(store: Store, session: Session, clock: FakeClock) -> None:
    session.lock()
    for _ in range(2):
        with pytest.raises(LoginFailed):
            session.unlock("wrong password")
    with pytest.raises(AccountLocked) as err:
        session.unlock("wrong password")
    assert err.value.retry_after_seconds == 15
    with pytest.raises(AccountLocked):
        session.unlock(ADMIN_PASSWORD)
    assert session.locked
    clock.advance(seconds=15)
    session.unlock(ADMIN_PASSWORD)
    assert not session.locked


def test_unknown_user_gets_the_same_message_as_a_wrong_password(store: Store) -> None:
    with pytest.raises(LoginFailed) as unknown:
        Session.sign_in(store, "no-such-user", ADMIN_PASSWORD)
    with pytest.raises(LoginFailed) as wrong:
        Session.sign_in(store, ADMIN, "wrong password")
    assert type(unknown.value) is type(wrong.value) is LoginFailed
    assert str(unknown.value) == str(wrong.value) == "The user name or password is not right."
    with pytest.raises(LoginFailed) as blank:
        Session.sign_in(store, "   ", ADMIN_PASSWORD)
    assert str(blank.value) == str(wrong.value)


def test_unknown_user_answers_like_a_known_one_on_every_attempt(store: Store) -> None:
    for _ in range(3):
        with pytest.raises(LoginFailed) as unknown:
            Session.sign_in(store, "no-such-user", "wrong password")
        with pytest.raises(LoginFailed) as wrong:
            Session.sign_in(store, ADMIN, "wrong password")
        assert type(unknown.value) is type(wrong.value)
        assert str(unknown.value) == str(wrong.value)


def test_failed_logins_are_folded_into_the_audit_trail(
    store: Store, session: Session, clinician: str, data_dir: Path, clock: FakeClock
) -> None:
    session.users.disable(CLIN)
    clock.advance(seconds=1)
    with pytest.raises(LoginFailed):
        Session.sign_in(store, "password typed in the name box", "x" * 12)
    for _ in range(3):
        with pytest.raises(LoginFailed):
            Session.sign_in(store, ADMIN, "wrong password")
    with pytest.raises(LoginFailed, match="disabled"):
        Session.sign_in(store, CLIN, CLIN_PASSWORD)
    assert count(data_dir, "pending_audit") == 6  # 3 failures + the lock + unknown + disabled
    assert session.audit_trail(action="login_failed") == []  # not chained yet: no key was available

    clock.advance(seconds=15)
    fresh = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    assert count(data_dir, "pending_audit") == 0
    admin_id = fresh.user.user_id
    failed = sorted((e.seq, e.user_id, e.detail) for e in fresh.audit_trail(action="login_failed"))
    assert [(u, d) for _, u, d in failed] == [
        (None, "not an account"),
        (admin_id, "attempt 1"),
        (admin_id, "attempt 2"),
        (admin_id, "attempt 3"),
        (clinician, "account disabled"),
    ]
    locked = fresh.audit_trail(action="account_locked")
    assert [(e.user_id, e.detail) for e in locked] == [(admin_id, "for 15 s")]
    logins = fresh.audit_trail(action="login", username=ADMIN)
    assert logins[0].seq > max(seq for seq, _, _ in failed)  # folded before the login that found them
    assert verify_chain(store, fresh) == []
    # The text typed as a user name is never written down.
    blob = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.is_file())
    assert b"password typed in the name box" not in blob


def test_session_user_facts(store: Store, session: Session, clock: FakeClock) -> None:
    assert session.user.username == ADMIN
    assert session.is_admin
    assert session.user.role == "admin"
    clock.advance(hours=1)
    Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    admin = {u.username: u for u in session.users.all()}[ADMIN]
    assert admin.last_login_at == clock.now()
    assert admin.created_at == clock.now() - timedelta(hours=1)
