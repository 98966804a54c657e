"""Tampering with the store file, as someone with file access (and sqlite3) but no key would.

Each alteration is made with raw sqlite3 on the real file, dropping the append-only trigger first
where needed, and must be caught by verify_store with a sentence naming the damaged version or
audit entry. Reading a tampered version must raise, never return altered data.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.core.storage.verify import verify_store
from perfectcare_desktop.crypto.aead import HEADER_BYTES, NONCE_BYTES, TAG_BYTES, DecryptionError
from perfectcare_desktop.paths import db_path

PLAN = "safety_plan"


def plan_payload(step: int) -> dict:
    return {
        "schema": "safety_plan_draft/0",
        "sections": {
            "warning_signs": [f"Step {step}: pan dw i'n methu cysgu ac yn osgoi pawb"],
            "coping_alone": ["Idę na spacer z psem nad rzekę", "میں اپنی امی کو فون کرتا ہوں"],
        },
        "contacts": [{"name": "Bronwen", "relationship": "sister", "phone": "07700 900461"}],
    }


@pytest.fixture
def populated(session: Session) -> dict[str, list[str]]:
    """Two patients, each with a safety plan of three versions; returns record -> version ids."""
    out: dict[str, list[str]] = {}
    for i, (given, family, nhs) in enumerate([("Gwenllïan", "Prys", "9990000018"), ("Zofia", "Wójcik", "9990000026")]):
        pid = session.patients.add(PatientDetails(given, family, date(1980 + i, 3, 7), nhs))
        session.patients.update(pid, PatientDetails(given, family + "-Jones", date(1980 + i, 3, 7), nhs))
        rid, v1 = session.records.create(PLAN, pid, plan_payload(1))
        v2 = session.records.append(rid, plan_payload(2))
        v3 = session.records.append(rid, plan_payload(3))
        out[pid] = [v.version_id for v in session.records.history(pid)]
        out[rid] = [v1, v2, v3]
    return out


@pytest.fixture
def raw(session: Session) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to the store file: the attacker's tool."""
    conn = sqlite3.connect(str(db_path(session.store.data_dir)), isolation_level=None)
    yield conn
    conn.close()


def drop_trigger(raw: sqlite3.Connection, name: str) -> None:
    raw.execute(f"DROP TRIGGER {name}")


def payload_of(raw: sqlite3.Connection, version_id: str) -> bytes:
    return raw.execute("SELECT payload FROM versions WHERE version_id = ?", (version_id,)).fetchone()[0]


def set_payload(raw: sqlite3.Connection, version_id: str, payload: bytes) -> None:
    drop_trigger(raw, "versions_no_update")
    cur = raw.execute("UPDATE versions SET payload = ? WHERE version_id = ?", (payload, version_id))
    assert cur.rowcount == 1


def flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


def audit_rows(raw: sqlite3.Connection) -> list[tuple]:
    return raw.execute("SELECT seq, action, detail FROM audit ORDER BY seq").fetchall()


def problems_naming(problems: list[str], text: str) -> list[str]:
    return [p for p in problems if text in p]


# --- the intact store ------------------------------------------------------------------------------


def test_intact_store_verifies(session: Session, populated: dict, raw: sqlite3.Connection) -> None:
    versions_in_file = raw.execute("SELECT count(*) FROM versions").fetchone()[0]
    audit_in_file = raw.execute("SELECT count(*) FROM audit").fetchone()[0]
    assert versions_in_file == sum(len(v) for v in populated.values())

    report = verify_store(session)

    assert report.ok, report.problems
    assert report.problems == []
    assert report.versions_checked == versions_in_file
    assert report.audit_entries_checked == audit_in_file
    # The check itself is audited, and the trail still verifies afterwards.
    assert raw.execute("SELECT action FROM audit ORDER BY seq DESC LIMIT 1").fetchone()[0] == "verify"
    again = verify_store(session)
    assert again.ok, again.problems
    assert again.audit_entries_checked == audit_in_file + 1


def test_new_store_verifies(session: Session) -> None:
    report = verify_store(session)
    assert report.ok, report.problems
    assert report.versions_checked == 0


# --- version payloads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    ["first ciphertext byte", "middle of ciphertext", "last byte of tag", "nonce"],
)
def test_flipped_byte_in_payload_is_detected(
    session: Session, populated: dict, raw: sqlite3.Connection, where: str
) -> None:
    record_id = next(r for r, v in populated.items() if len(v) == 3)
    victim = populated[record_id][1]
    sealed = payload_of(raw, victim)
    index = {
        "first ciphertext byte": HEADER_BYTES,
        "middle of ciphertext": (HEADER_BYTES + len(sealed) - TAG_BYTES) // 2,
        "last byte of tag": len(sealed) - 1,
        "nonce": HEADER_BYTES - NONCE_BYTES + 5,
    }[where]
    set_payload(raw, victim, flip(sealed, index))
    assert payload_of(raw, victim) != sealed

    report = verify_store(session)

    assert not report.ok
    named = problems_naming(report.problems, victim)
    assert len(named) == 1, report.problems
    assert "does not authenticate" in named[0]
    assert record_id in named[0]
    assert len(report.problems) == 1, report.problems  # nothing else is blamed
    assert report.versions_checked == sum(len(v) for v in populated.values())

    # Reading the record refuses; it never returns altered or partial content.
    with pytest.raises(DecryptionError):
        session.records.history(record_id)


@pytest.mark.parametrize("offset", [3, 6], ids=["key id high byte", "key id low byte"])
def test_flipped_byte_in_header_key_id_is_detected(
    session: Session, populated: dict, raw: sqlite3.Connection, offset: int
) -> None:
    record_id = next(r for r, v in populated.items() if len(v) == 3)
    victim = populated[record_id][0]
    sealed = payload_of(raw, victim)
    assert sealed[3:7] == (1).to_bytes(4, "big")  # the layout this test relies on
    set_payload(raw, victim, flip(sealed, offset))

    report = verify_store(session)

    assert not report.ok
    named = problems_naming(report.problems, victim)
    assert len(named) == 1 and "does not authenticate" in named[0], report.problems
    assert len(report.problems) == 1, report.problems
    with pytest.raises(DecryptionError):
        session.records.history(record_id)


@pytest.mark.parametrize("offset", [0, 2], ids=["magic", "format version"])
def test_flipped_byte_in_header_magic_or_format_is_detected(
    session: Session, populated: dict, raw: sqlite3.Connection, offset: int
) -> None:
    record_id = next(r for r, v in populated.items() if len(v) == 3)
    victim = populated[record_id][2]
    set_payload(raw, victim, flip(payload_of(raw, victim), offset))

    report = verify_store(session)

    assert problems_naming(report.problems, victim), report.problems
    with pytest.raises(DecryptionError):
        session.records.history(record_id)


@pytest.mark.parametrize("source", ["same record", "another record"])
def test_ciphertext_copied_from_another_version_is_detected(
    session: Session, populated: dict, raw: sqlite3.Connection, source: str
) -> None:
    plans = [r for r, v in populated.items() if len(v) == 3]
    victim_record = plans[0]
    victim = populated[victim_record][2]
    donor = populated[plans[0]][0] if source == "same record" else populated[plans[1]][2]
    kinds = {k for (k,) in raw.execute("SELECT kind FROM versions WHERE version_id IN (?, ?)", (victim, donor))}
    assert kinds == {PLAN}  # same kind: only the row binding can tell them apart
    donor_payload = payload_of(raw, donor)
    set_payload(raw, victim, donor_payload)

    report = verify_store(session)

    assert not report.ok
    named = problems_naming(report.problems, victim)
    assert len(named) == 1 and "does not authenticate" in named[0], report.problems
    assert not problems_naming(report.problems, donor), "the untouched donor row was blamed"
    assert len(report.problems) == 1, report.problems
    with pytest.raises(DecryptionError):
        session.records.history(victim_record)


def test_truncated_payload_is_detected(session: Session, populated: dict, raw: sqlite3.Connection) -> None:
    record_id = next(r for r, v in populated.items() if len(v) == 3)
    victim = populated[record_id][1]
    set_payload(raw, victim, payload_of(raw, victim)[: HEADER_BYTES + 3])

    report = verify_store(session)

    assert problems_naming(report.problems, victim), report.problems
    with pytest.raises(DecryptionError):
        session.records.history(record_id)


# --- the audit trail -------------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["at", "user_id", "patient_id", "action", "detail"])
def test_edited_audit_entry_is_detected(
    session: Session, populated: dict, raw: sqlite3.Connection, column: str
) -> None:
    rows = audit_rows(raw)
    with_detail = [r for r in rows if r[2] is not None]
    seq = with_detail[len(with_detail) // 2][0]
    assert 1 < seq < rows[-1][0]
    drop_trigger(raw, "audit_no_update")
    new_value = {
        "at": "2026-11-27 09:07:00.000000",
        "user_id": "00000000-0000-0000-0000-000000000000",
        "patient_id": "11111111-1111-4111-8111-111111111111",
        "action": "view",
        "detail": next(r[2] for r in with_detail if r[0] != seq),  # a genuine sealed detail, from another entry
    }[column]
    before = raw.execute(f"SELECT {column} FROM audit WHERE seq = ?", (seq,)).fetchone()[0]
    assert before != new_value
    raw.execute(f"UPDATE audit SET {column} = ? WHERE seq = ?", (new_value, seq))

    report = verify_store(session)

    assert not report.ok
    named = [p for p in report.problems if p.startswith(f"audit entry {seq} ")]
    assert named, report.problems
    assert any("altered" in p for p in named), report.problems
    # Only the edited entry is blamed: its successors still chain from its stored MAC. An entry no longer
    # saying "update" also leaves the version it recorded without its entry, which is named too.
    others = [p for p in report.problems if not p.startswith(f"audit entry {seq} ")]
    assert all("has no audit entry recording it" in p for p in others), report.problems
    assert len(others) == (column == "action"), report.problems


def test_audit_entry_deleted_in_the_middle_is_detected(
    session: Session, populated: dict, raw: sqlite3.Connection
) -> None:
    rows = audit_rows(raw)
    seq = rows[len(rows) // 2][0]
    drop_trigger(raw, "audit_no_delete")
    raw.execute("DELETE FROM audit WHERE seq = ?", (seq,))

    report = verify_store(session)

    assert not report.ok
    assert f"audit entries {seq}-{seq} are missing" in report.problems, report.problems
    assert any(p.startswith(f"audit entry {seq + 1} ") for p in report.problems), report.problems
    assert report.audit_entries_checked == len(rows) - 1


def test_several_audit_entries_deleted_in_the_middle_are_detected(
    session: Session, populated: dict, raw: sqlite3.Connection
) -> None:
    rows = audit_rows(raw)
    first = rows[3][0]
    drop_trigger(raw, "audit_no_delete")
    raw.execute("DELETE FROM audit WHERE seq BETWEEN ? AND ?", (first, first + 2))

    report = verify_store(session)

    assert f"audit entries {first}-{first + 2} are missing" in report.problems, report.problems


@pytest.mark.parametrize("also_anchor", [False, True], ids=["entry only", "entry and head anchor"])
def test_newest_audit_entry_deleted_is_detected(
    session: Session, populated: dict, raw: sqlite3.Connection, also_anchor: bool
) -> None:
    rows = audit_rows(raw)
    newest = rows[-1][0]
    drop_trigger(raw, "audit_no_delete")
    raw.execute("DELETE FROM audit WHERE seq = ?", (newest,))
    if also_anchor:
        raw.execute("DELETE FROM meta WHERE key = 'audit_head'")

    report = verify_store(session)

    assert not report.ok
    assert any(f"newest audit entries after {newest - 1} are missing" in p for p in report.problems), report.problems


def test_whole_audit_trail_deleted_with_its_anchor_is_detected(
    session: Session, populated: dict, raw: sqlite3.Connection
) -> None:
    drop_trigger(raw, "audit_no_delete")
    raw.execute("DELETE FROM audit")
    raw.execute("DELETE FROM meta WHERE key = 'audit_head'")

    report = verify_store(session)

    assert not report.ok, "an audit trail deleted wholesale passed verification"


# --- clear metadata and the blind index -------------------------------------------------------------


def test_deleted_blind_index_row_is_detected(session: Session, populated: dict, raw: sqlite3.Connection) -> None:
    drop_trigger(raw, "blind_index_no_delete")
    patient = next(iter(populated))
    assert raw.execute("DELETE FROM blind_index WHERE record_id = ?", (patient,)).rowcount == 1
    assert session.patients.find_by_nhs_number("9990000018") is None  # the damage is real

    report = verify_store(session)

    assert not report.ok, "a patient missing from the NHS-number index passed verification"


@pytest.mark.parametrize(
    ("column", "value"), [("signed", 1), ("status", "entered_in_error")], ids=["fake signature", "fake withdrawal"]
)
def test_edited_version_metadata_is_detected(
    session: Session, populated: dict, raw: sqlite3.Connection, column: str, value: object
) -> None:
    record_id = next(r for r, v in populated.items() if len(v) == 3)
    victim = populated[record_id][2]
    drop_trigger(raw, "versions_no_update")
    raw.execute(f"UPDATE versions SET {column} = ? WHERE version_id = ?", (value, victim))
    # The metadata is sealed into the ciphertext's associated data: the edited row no longer opens.
    with pytest.raises(DecryptionError):
        session.records.history(record_id)

    report = verify_store(session)

    assert not report.ok, f"a version whose {column} was edited in the file passed verification"


def test_tampered_store_file_outside_sqlite_is_detected(session: Session, populated: dict, tmp_path: Path) -> None:
    """Overwrite ciphertext bytes directly in the file (no SQL at all): still caught."""
    record_id = next(r for r, v in populated.items() if len(v) == 3)
    victim = populated[record_id][1]
    store = session.store
    store.close()  # last connection closed: the WAL is checkpointed into the main file
    path = db_path(store.data_dir)
    conn = sqlite3.connect(str(path))
    sealed = conn.execute("SELECT payload FROM versions WHERE version_id = ?", (victim,)).fetchone()[0]
    conn.close()
    data = path.read_bytes()
    ciphertext = sealed[HEADER_BYTES : HEADER_BYTES + 24]
    assert data.count(ciphertext) == 1
    at = data.index(ciphertext) + 10
    path.write_bytes(data[:at] + bytes([data[at] ^ 0x80]) + data[at + 1 :])

    reopened = Store.open(store.data_dir, store.clock)
    try:
        s = Session.sign_in(reopened, ADMIN, ADMIN_PASSWORD)
        report = verify_store(s)
        named = problems_naming(report.problems, victim)
        assert len(named) == 1 and "does not authenticate" in named[0], report.problems
        with pytest.raises(DecryptionError):
            s.records.history(record_id)
    finally:
        reopened.close()
