"""The security review's attacks on a closed store file (issue 16, part 6), made as an attacker with a ward
login would: close the app, edit the SQLite file with sqlite3 (dropping the append-only triggers), open
it again. `verify` must name each in a sentence, by record, version or audit entry id, and what the app
shows must not follow the edit where the data to show the right content is still there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from testsupport import ADMIN, ADMIN_PASSWORD, ORG, FakeClock, admin_cli

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_content import PlanContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import PLAN_KIND, load_plan, sign_plan
from perfectcare_desktop.core.demo.demo_data import add_demo_data
from perfectcare_desktop.core.patients.caseload import caseload
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage import arrivals, versions
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.core.storage.verify import VerifyReport, verify_store
from perfectcare_desktop.crypto.aead import DecryptionError
from perfectcare_desktop.errors import StoreDamaged
from perfectcare_desktop.paths import db_path
from perfectcare_desktop.store.models import Version, VersionParent
from perfectcare_desktop.sync.audit_anchor import verify_with_hub

LAYOUT = load_catalogue().latest()


class Pc:
    """The store of one ward PC, opened and closed as the app and the attacker take turns with the file."""

    def __init__(self, data_dir: Path, clock: FakeClock, store: Store) -> None:
        self.data_dir, self.clock, self.store = data_dir, clock, store
        self.session: Session | None = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)

    @property
    def s(self) -> Session:
        assert self.session is not None
        return self.session

    def close(self) -> None:
        self.store.close()
        self.session = None

    def open(self) -> Session:
        self.store = Store.open(self.data_dir, self.clock)
        self.session = Session.sign_in(self.store, ADMIN, ADMIN_PASSWORD)
        return self.session

    def copy(self, name: str) -> Path:
        """A copy of the whole file as it is now (the store closed), as the attacker would keep one."""
        kept = self.data_dir.parent / name
        with sqlite3.connect(db_path(self.data_dir)) as src, sqlite3.connect(kept) as dst:
            src.backup(dst)
        return kept

    def edit(self, *statements: str | tuple[str, tuple]) -> None:
        """Run the attacker's SQL on the closed file, with the append-only triggers out of the way."""
        raw = sqlite3.connect(db_path(self.data_dir), isolation_level=None)
        try:
            for (name,) in raw.execute("SELECT name FROM sqlite_schema WHERE type = 'trigger'").fetchall():
                raw.execute(f"DROP TRIGGER {name}")
            for st in statements:
                sql, args = (st, ()) if isinstance(st, str) else st
                raw.execute(sql, args)
        finally:
            raw.close()


@pytest.fixture
def pc(created_store: tuple[Store, str], data_dir: Path, clock: FakeClock) -> Iterator[Pc]:
    made = Pc(data_dir, clock, created_store[0])
    yield made
    made.store.close()


def content(*signs: str) -> PlanContent:
    c = PlanContent.blank(LAYOUT, load_directory().ref)
    c.section("warning_signs").entries = [{"text": s} for s in signs]
    return c


def sign(pc: Pc, pid: str, *signs: str) -> str:
    pc.clock.advance(minutes=5)
    base = load_plan(pc.s, pid, audit_view=False).heads
    return sign_plan(pc.s, pid, LAYOUT, content(*signs), base[-1] if base else None, agreed_with_person=True,
                     agreed_on=pc.clock.now().date(), review_due=date(2027, 3, 1))  # fmt: skip


def shown_signs(session: Session, pid: str) -> list[str]:
    state = load_plan(session, pid, audit_view=False)
    assert state.agreed is not None
    return [e["text"] for e in state.agreed.payload["sections"]["warning_signs"]["entries"]]


def naming(report: VerifyReport, *words: str) -> list[str]:
    return [p for p in report.problems if all(w in p for w in words)]


def seq_of(pc: Pc, version_id: str) -> int:
    with sqlite3.connect(db_path(pc.data_dir)) as raw:
        return raw.execute("SELECT seq FROM versions WHERE version_id = ?", (version_id,)).fetchone()[0]


def swap_seq(a: str, b: str) -> list[str | tuple[str, tuple]]:
    """Statements giving versions a and b each other's arrival number."""
    return [
        ("CREATE TEMP TABLE was AS SELECT version_id, seq FROM versions WHERE version_id IN (?, ?)", (a, b)),
        ("UPDATE versions SET seq = -seq WHERE version_id IN (?, ?)", (a, b)),  # the numbers are unique
        (
            "UPDATE versions SET seq = (SELECT seq FROM was WHERE was.version_id = "
            "CASE versions.version_id WHEN ? THEN ? ELSE ? END) WHERE version_id IN (?, ?)",
            (a, b, a, a, b),
        ),  # fmt: skip
        "DROP TABLE was",
    ]


PEOPLE = [("Gwenllïan", "Prys", date(1980, 3, 7), "9990000018"), ("Zofia", "Wójcik", date(1984, 6, 1), "9990000026")]


def two_patients_with_plans(pc: Pc) -> tuple[str, str]:
    a, b = (pc.s.patients.add(PatientDetails(*p)) for p in PEOPLE)
    sign(pc, a, "Gwen: not sleeping")
    sign(pc, b, "Zofia: skipping meals")
    return a, b


# --- a. a plan moved to another patient ---------------------------------------------------------------------


def test_plan_moved_to_another_patient_is_named_and_never_shown_as_theirs(pc: Pc) -> None:
    a, b = two_patients_with_plans(pc)
    plan_a = versions.one_per_patient_id(PLAN_KIND, a)
    pc.close()
    pc.edit(("UPDATE records SET patient_id = ? WHERE record_id = ?", (b, plan_a)))
    session = pc.open()

    report = verify_store(session)

    moved = naming(report, f"record {plan_a} ({PLAN_KIND})", f"made for patient {a}", f"filed under patient {b}")
    assert len(moved) == 1, report.problems
    assert not naming(report, "does not authenticate"), report.problems  # the versions themselves are sound
    assert "Gwen" not in " ".join(report.problems) and "9990000018" not in " ".join(report.problems)
    # The moved plan's versions were sealed with patient A: read as B's record they do not open, so B is
    # never shown A's plan (and A's plan is not lost: put the record back and it opens again).
    with pytest.raises(DecryptionError):
        session.records.history(plan_a)
    # B's page shows B's own plan; A's shows none, and a plan saved for A is refused rather than sealed as B's.
    assert shown_signs(session, b) == ["Zofia: skipping meals"]
    assert load_plan(session, a, audit_view=False).record_id is None
    with pytest.raises(StoreDamaged, match="filed under another patient"):
        sign(pc, a, "Gwen: written again")
    assert verify_store(session).problems == report.problems  # nothing was written


def test_patient_record_filed_under_another_id_is_named(pc: Pc) -> None:
    a, b = two_patients_with_plans(pc)
    pc.close()
    pc.edit(("UPDATE records SET patient_id = ? WHERE record_id = ?", (b, a)))

    report = verify_store(pc.open())

    assert naming(report, f"patient record {a} (patient) is filed under another patient's id"), report.problems


# --- b. versions reordered by seq --------------------------------------------------------------------------


def corrected(pc: Pc) -> tuple[str, str, str, str, str]:
    """A patient whose family name and plan were corrected: (patient, details before, after, plan before, after)."""
    pid = pc.s.patients.add(PatientDetails(*PEOPLE[0]))
    before = pc.s.records.history(pid)[-1].version_id
    pc.clock.advance(minutes=1)
    after = pc.s.patients.update(pid, PatientDetails("Gwenllïan", "Prys-Jones", *PEOPLE[0][2:]))
    plan_before = sign(pc, pid, "Wrong: somebody else's warning sign")
    plan_after = sign(pc, pid, "Right: not sleeping, avoiding everyone")
    return pid, before, after, plan_before, plan_after


def test_versions_reordered_by_seq_change_nothing_shown_and_are_named(pc: Pc) -> None:
    pid, before, after, plan_before, plan_after = corrected(pc)
    pc.close()
    pc.edit(*swap_seq(before, after), *swap_seq(plan_before, plan_after))
    assert seq_of(pc, before) > seq_of(pc, after)
    session = pc.open()

    assert session.patients.get(pid, audit_view=False).details.family_name == "Prys-Jones"
    assert [s.details.family_name for s in session.patients.all()] == ["Prys-Jones"]
    assert shown_signs(session, pid) == ["Right: not sleeping, avoiding everyone"]
    assert [v.version_id for v in session.records.history(pid)] == [before, after]
    assert [row.plan_updated_at for row in caseload(session)] == [pc.clock.now()]
    report = verify_store(session)
    for child, parent in ((after, before), (plan_after, plan_before)):
        named = naming(report, f"version {child} ", f"arriving before version {parent}", "versions.seq")
        assert len(named) == 1, report.problems


def test_correction_renumbered_under_an_older_cache_still_shows(pc: Pc) -> None:
    """The cached patient list is complete up to an arrival number; an older copy of it put back, with the
    correction renumbered below that number (swapped with an unrelated version), showed the details from
    before the correction."""
    pid = pc.s.patients.add(PatientDetails(*PEOPLE[0]))
    other = pc.s.patients.add(PatientDetails(*PEOPLE[1]))
    unrelated = sign(pc, other, "Zofia: skipping meals")
    assert pc.s.patients.all()  # writes the cache
    pc.close()
    older = pc.copy("older.sqlite3")
    pc.open()
    pc.clock.advance(minutes=1)
    correction = pc.s.patients.update(pid, PatientDetails("Gwenllïan", "Prys-Jones", *PEOPLE[0][2:]))
    assert {s.details.family_name for s in pc.s.patients.all()} == {"Prys-Jones", "Wójcik"}
    pc.close()
    pc.edit(
        f"ATTACH DATABASE '{older}' AS older",
        "DELETE FROM snapshots",
        "INSERT INTO snapshots SELECT * FROM older.snapshots",
        *swap_seq(correction, unrelated),
    )
    session = pc.open()

    # Verify first: reading the patient list rebuilds the cache it finds stale, and the evidence with it.
    report = verify_store(session)
    assert naming(report, f"patient record {pid}", f"newest version {correction}", "versions.seq"), report.problems
    assert {s.details.family_name for s in session.patients.all()} == {"Prys-Jones", "Wójcik"}


# --- c. an "entered in error" version deleted ----------------------------------------------------------------


def withdrawn_plan(pc: Pc) -> tuple[str, str, str]:
    """A plan whose second agreed version was entered in error: (patient, withdrawn version, the note)."""
    pid = pc.s.patients.add(PatientDetails(*PEOPLE[0]))
    sign(pc, pid, "First: not sleeping")
    wrong = sign(pc, pid, "Another patient's plan, saved here by mistake")
    pc.clock.advance(minutes=1)
    note = pc.s.records.mark_entered_in_error(wrong, "saved on the wrong patient")
    assert shown_signs(pc.s, pid) == ["First: not sleeping"]
    return pid, wrong, note


def delete_version(version_id: str) -> list[tuple[str, tuple]]:
    return [
        ("DELETE FROM version_parents WHERE version_id = ?", (version_id,)),
        ("DELETE FROM outbox WHERE ref = ?", (version_id,)),
        ("DELETE FROM versions WHERE version_id = ?", (version_id,)),
        ("DELETE FROM snapshots WHERE name NOT LIKE 'arrived:%'", ()),  # the caches, rebuilt at will
    ]


def cut_trail_to(older: Path) -> list[str | tuple[str, tuple]]:
    """The audit trail cut back to where an older copy of the file ended, with that copy's saved head put
    back, so the trail verifies on its own."""
    with sqlite3.connect(older) as raw:
        top = raw.execute("SELECT max(seq) FROM audit").fetchone()[0]
    return [
        f"ATTACH DATABASE '{older}' AS older",
        ("DELETE FROM audit WHERE seq > ?", (top,)),
        "UPDATE meta SET value = (SELECT value FROM older.meta WHERE key = 'audit_head') WHERE key = 'audit_head'",
    ]


def test_entered_in_error_version_deleted_is_named(pc: Pc) -> None:
    pid, wrong, note = withdrawn_plan(pc)
    pc.close()
    pc.edit(*delete_version(note))

    report = verify_store(pc.open())

    named = naming(report, f"records version {wrong} marked entered in error", "was deleted")
    assert len(named) == 1, report.problems


def test_entered_in_error_version_deleted_with_the_audit_tail_is_named(pc: Pc) -> None:
    """The note and its audit entry removed by cutting the trail back to an older copy's saved head; the
    patient's details corrected after that copy keep their version, now without its audit entry."""
    pid = pc.s.patients.add(PatientDetails(*PEOPLE[0]))
    sign(pc, pid, "First: not sleeping")
    wrong = sign(pc, pid, "Another patient's plan, saved here by mistake")
    pc.close()
    older = pc.copy("older.sqlite3")
    pc.open()
    pc.clock.advance(minutes=1)
    note = pc.s.records.mark_entered_in_error(wrong, "saved on the wrong patient")
    correction = pc.s.patients.update(pid, PatientDetails("Gwenllïan", "Prys-Jones", *PEOPLE[0][2:]))
    pc.close()
    pc.edit(*cut_trail_to(older), *delete_version(note))
    session = pc.open()

    report = verify_store(session)

    assert not naming(report, "newest audit entries after"), report.problems  # the saved head fits the cut trail
    named = naming(report, f"version {correction} of record {pid} (patient", "no audit entry recording it")
    assert len(named) == 1, report.problems


# --- d (ii). the audit tail cut, the saved head put back, the versions kept ---------------------------------


def test_audit_tail_cut_with_saved_head_put_back_is_named(pc: Pc) -> None:
    pid = pc.s.patients.add(PatientDetails(*PEOPLE[0]))
    pc.close()
    older = pc.copy("older.sqlite3")
    pc.open()
    pc.clock.advance(minutes=1)
    plan = sign(pc, pid, "Not sleeping")
    pc.close()
    pc.edit(*cut_trail_to(older))

    report = verify_with_hub(pc.open())

    assert naming(report, f"version {plan} of record", f"({PLAN_KIND}", "no audit entry recording it"), report.problems
    # A PC that never synced says what it cannot see.
    assert any("never synced" in n for n in report.notes), report.notes


def test_imported_version_deleted_is_named(pc: Pc) -> None:
    add_demo_data(pc.s, 1, seed=4)
    (summary,) = pc.s.patients.all()
    newest = pc.s.records.history(versions.one_per_patient_id(PLAN_KIND, summary.record_id))[-1].version_id
    pc.close()
    pc.edit(*delete_version(newest))

    report = verify_store(pc.open())

    assert naming(report, f"version {newest}, received from the hub or imported, is no longer in the store"), (
        report.problems
    )


def test_version_deleted_with_its_audit_entry_kept_is_named(pc: Pc) -> None:
    pid = pc.s.patients.add(PatientDetails(*PEOPLE[0]))
    first = sign(pc, pid, "First")
    second = sign(pc, pid, "Second")
    pc.close()
    pc.edit(*delete_version(second))

    report = verify_store(pc.open())

    assert naming(report, "records the saving of version " + second, "was deleted"), report.problems
    assert shown_signs(pc.s, pid) == ["First"] and first


def test_an_intact_store_with_every_kind_of_history_verifies(pc: Pc) -> None:
    """No false alarm: corrections, an entered-in-error note, caches written, the store closed and opened."""
    a, b = two_patients_with_plans(pc)
    wrong = sign(pc, a, "Another patient's plan, saved here by mistake")
    pc.s.records.mark_entered_in_error(wrong, "saved on the wrong patient")
    pc.s.patients.update(b, PatientDetails("Zofia", "Wójcik-Nowak", *PEOPLE[1][2:]))
    assert pc.s.patients.all() and caseload(pc.s)
    pc.close()
    session = pc.open()

    first = verify_store(session)
    second = verify_store(session)

    assert first.ok, first.problems
    assert second.ok, second.problems
    assert not any("patient sealed" in n for n in first.notes), first.notes


# --- versions written before the patient was sealed in ------------------------------------------------------


def as_written_before(pc: Pc, record_id: str) -> None:
    """Seal a record's versions again as the code before issue 16 sealed them (no patient bound): a store
    written by that code, opened by this one."""
    dek = pc.s.require_unlocked()
    with pc.store.reading() as conn:
        rows = conn.execute(select(Version.__table__).where(Version.record_id == record_id)).all()
        parents: dict[str, list[str]] = {r.version_id: [] for r in rows}
        for vp in conn.execute(select(VersionParent.__table__)):
            if vp.version_id in parents:
                parents[vp.version_id].append(vp.parent_id)
        patient = versions.patient_of(conn, record_id)
    resealed = []
    for r in rows:
        data = versions.open_payload(dek, r, parents[r.version_id], patient)
        old = dek.seal(data, versions.PAYLOAD_TABLE, r.record_id, r.version_id,
                       *versions.bound_metadata(r, parents[r.version_id]))  # fmt: skip
        resealed.append(("UPDATE versions SET payload = ? WHERE version_id = ?", (old, r.version_id)))
    pc.close()
    pc.edit(*resealed)
    pc.open()


def test_versions_written_before_the_patient_was_sealed_still_open(pc: Pc) -> None:
    a, b = two_patients_with_plans(pc)
    plan_a = versions.one_per_patient_id(PLAN_KIND, a)
    as_written_before(pc, plan_a)

    assert shown_signs(pc.s, a) == ["Gwen: not sleeping"]
    report = verify_store(pc.s)
    assert report.ok, report.problems
    assert any("1 version(s) were written before each version sealed its patient" in n for n in report.notes)

    # Moved, such a plan still opens (nothing sealed names its patient), but its derived id names the move.
    pc.close()
    pc.edit(("UPDATE records SET patient_id = ? WHERE record_id = ?", (b, plan_a)))
    report = verify_store(pc.open())
    assert [p for p in report.problems if f"made for patient {a} but is filed under patient {b}" in p], report.problems


@pytest.fixture
def older_store(data_dir: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pc]:
    """A store as the program before these checks made it: its first audit entry lacks the mark."""
    with monkeypatch.context() as m:
        m.setattr(arrivals, "FROM_CREATION", "")
        store, _ = Store.create(data_dir, ORG, ADMIN, ADMIN_PASSWORD, clock=clock)
    made = Pc(data_dir, clock, store)
    yield made
    made.store.close()


def test_a_store_this_program_made_never_accepts_versions_without_entries(pc: Pc) -> None:
    add_demo_data(pc.s, 2, seed=3)
    pc.close()
    pc.edit("DELETE FROM snapshots WHERE name LIKE 'arrived:%'", "DELETE FROM meta WHERE key = 'arrivals_baseline'")

    report = verify_store(pc.open())

    assert len(naming(report, "no audit entry recording it")) == 10, report.problems


def test_versions_an_older_program_received_are_accepted_once_and_a_second_time_is_named(older_store: Pc) -> None:
    """A store whose demo import (or pull) was made by the program before these lists: its versions
    have no audit entry of their own. They are accepted once, with a dated audit entry; deleting the
    meta hint to have versions whose entries were cut accepted too is named."""
    pc = older_store
    add_demo_data(pc.s, 2, seed=3)
    pc.close()
    pc.edit("DELETE FROM snapshots WHERE name LIKE 'arrived:%'", "DELETE FROM meta WHERE key = 'arrivals_baseline'")
    report = verify_store(pc.open())  # the sign-in accepts them
    assert report.ok, report.problems
    assert any("10 version(s) already in this store" in n for n in report.notes), report.notes

    pid = pc.s.patients.add(PatientDetails(*PEOPLE[0]))
    pc.close()
    older = pc.copy("older.sqlite3")
    pc.open()
    plan = sign(pc, pid, "Not sleeping")
    pc.close()
    pc.edit(*cut_trail_to(older), "DELETE FROM meta WHERE key = 'arrivals_baseline'")

    report = verify_store(pc.open())

    assert not [p for p in report.problems if plan in p], report.problems  # accepted by the second listing...
    assert [p for p in report.problems if "ran again" in p and "marker in meta was deleted" in p], report.problems


def test_the_admin_command_names_the_damage_and_fails(pc: Pc) -> None:
    a, b = two_patients_with_plans(pc)
    plan_a = versions.one_per_patient_id(PLAN_KIND, a)
    pc.close()
    pc.edit(("UPDATE records SET patient_id = ? WHERE record_id = ?", (b, plan_a)))

    result = admin_cli(pc.data_dir, "verify", "--user", ADMIN, user=False, stdin=ADMIN_PASSWORD + "\n")

    assert result.returncode == 1, result.stderr
    assert f"record {plan_a} (safety_plan) was made for patient {a} but is filed under patient {b}" in result.stderr
    assert "Note: this PC has never synced" in result.stdout
    assert "Gwenllïan" not in result.stdout + result.stderr
