"""No patient detail is ever written to disk in clear: not in the database, its WAL, nor a backup.

The store is filled with demo patients and put through the everyday scenarios; then every string a
decrypted export shows (names, NHS numbers in both forms, free text, phone numbers, reasons) is
searched for, as UTF-8 and as UTF-16-LE, in the bytes of every file under the data folder, once
with a session open (so the WAL holds recent pages) and again after the store is closed.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from testsupport import ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.demo.demo_data import add_demo_data
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.patients.nhs_number import check_digit, format_nhs_number, is_valid_nhs_number
from perfectcare_desktop.core.storage.backup import create_backup
from perfectcare_desktop.core.storage.export_json import export_patients
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.errors import LoginFailed
from perfectcare_desktop.paths import BACKUP_DIR, db_path

MIN_LENGTH = 6
# Content keys whose values are generic vocabulary, not details about a person ("sister",
# "English", "large print"), or ids and markers that are meant to be in clear.
GENERIC_KEYS = frozenset({"schema", "marks", "relationship", "preferred_language", "access_needs"})

OWN_PATIENT = {
    "given_name": "Gwenllïan Dwynwen",
    "family_name": "Brzęczyszczykiewicz",
    "preferred_name": "عائشہ بی بی 🌸",
    "local_id": "MC7654321",
}
UPDATED_FAMILY = "Łukasiewicz-ap Rhys 🏴"
ERROR_REASON = "Manylion y claf anghywir — wpisane do złej karty; غلط مریض"
PLAN_TEXT = {
    "warning_signs": [
        "Pan dw i'n methu cysgu ac yn osgoi fy ffrindiau am ddyddiau",
        "Kiedy przestaję odbierać telefony od mamy",
        "جب میں رات کو اکیلا ہوتا ہوں اور سو نہیں پاتا",
    ],
    "reasons_for_living": ["Fy nghi bach, Mabli 🐕, a gweld fy nith yn tyfu"],
}
PLAN_CONTACTS = [{"name": "Bronwen Haf", "relationship": "sister", "phone": "07700 900461"}]
PLAN_SECOND_TEXT = "Dzwonię do Bronwen Haf pod numer 07700 900461 zanim zrobi się ciemno"


def unused_nhs_number(taken: set[str]) -> str:
    for n in range(123456, 999999):
        nine = f"999{n:06d}"
        check = check_digit(nine)
        if check is not None and f"{nine}{check}" not in taken:
            return f"{nine}{check}"
    raise AssertionError("no free test-range NHS number")


def strings_in(value: Any, key: str = "") -> Iterator[str]:
    if key in GENERIC_KEYS:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings_in(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v, key)


def secrets_from_export(export: dict[str, Any]) -> set[str]:
    """Every detail about a person that the export shows, in the forms it could be written in."""
    found: set[str] = set()
    for patient in export["patients"]:
        for record in patient["records"]:
            for version in record["versions"]:
                # Dates the store keeps in clear by design (when a version was saved, review and
                # follow-up due) may also appear in the content, e.g. the day a plan was agreed.
                clear = {str(version[k])[:10] for k in ("created_at", "review_due", "followup_due") if version[k]}
                for text in strings_in(version["content"]):
                    if text in clear:
                        continue
                    if is_valid_nhs_number(text) and text.isdigit():
                        found.update({text, format_nhs_number(text)})
                    elif len(text) >= MIN_LENGTH:
                        found.add(text)
    return found


def needles(secrets: Iterable[str]) -> dict[bytes, str]:
    out: dict[bytes, str] = {}
    for text in secrets:
        out[text.encode("utf-8")] = text
        out[text.encode("utf-16-le")] = text + " (UTF-16-LE)"
    return out


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def scan(folder: Path, wanted: dict[bytes, str]) -> list[str]:
    """'file: text' for each secret found in clear in any file under folder."""
    hits = []
    for path in files_under(folder):
        data = path.read_bytes()
        hits += [f"{path.relative_to(folder)}: {text!r}" for needle, text in wanted.items() if needle in data]
    return hits


@pytest.fixture
def worked_store(store: Store, session: Session, data_dir: Path, clock) -> tuple[Session, set[str]]:
    """A store after demo data and a day's work; returns the session (still open) and the secrets."""
    assert add_demo_data(session, 60, seed=7) == 60
    taken = {p.details.nhs_number for p in session.patients.all()}
    nhs = unused_nhs_number(taken)

    details = PatientDetails(
        OWN_PATIENT["given_name"],
        OWN_PATIENT["family_name"],
        date(1987, 3, 14),
        format_nhs_number(nhs),  # typed with spaces, as on a letter
        local_id=OWN_PATIENT["local_id"],
        preferred_name=OWN_PATIENT["preferred_name"],
        preferred_language="Cymraeg",
        access_needs=("interpreter",),
    )
    pid = session.patients.add(details)
    clock.advance(minutes=5)
    wrong = session.patients.update(
        pid,
        PatientDetails(
            details.given_name,
            UPDATED_FAMILY,
            details.date_of_birth,
            nhs,
            details.local_id,
            details.preferred_name,
            "Cymraeg",
        ),
    )
    clock.advance(minutes=1)
    session.records.mark_entered_in_error(wrong, ERROR_REASON)
    session.users.add("nurse.rhys", "clinician", "a different long password", "Nyrs Rhys")
    rid, _ = session.records.create(
        "safety_plan", pid, {"schema": "safety_plan_draft/0", "sections": PLAN_TEXT, "contacts": PLAN_CONTACTS}
    )
    session.records.append(
        rid,
        {
            "schema": "safety_plan_draft/0",
            "sections": {**PLAN_TEXT, "people_to_ask": [PLAN_SECOND_TEXT]},
            "contacts": PLAN_CONTACTS,
        },
    )
    (data_dir / BACKUP_DIR).mkdir(exist_ok=True)
    create_backup(session, data_dir / BACKUP_DIR / "manual.pcbackup")
    create_backup(session, data_dir / "beside-the-store.pcbackup")
    session.lock()
    with pytest.raises(LoginFailed):
        session.unlock("not the password at all")
    session.unlock(ADMIN_PASSWORD)
    session.patients.get(pid)  # a view, audited
    session.patients.search("Gwenllïan")

    export = export_patients(session)
    secrets = secrets_from_export(export)

    # The scan must cover what this test put in, in every form.
    for text in [
        *OWN_PATIENT.values(),
        UPDATED_FAMILY,
        ERROR_REASON,
        PLAN_SECOND_TEXT,
        "07700 900461",
        "Bronwen Haf",
        nhs,
        format_nhs_number(nhs),
        "1987-03-14",
        *PLAN_TEXT["warning_signs"],
    ]:
        assert text in secrets, text
    assert len(secrets) > 500  # the demo patients' names, numbers and plans are in too
    assert sum(is_valid_nhs_number(s) and s.isdigit() for s in secrets) == 61
    return session, secrets


def test_no_patient_detail_is_on_disk_in_clear(worked_store: tuple[Session, set[str]], data_dir: Path) -> None:
    session, secrets = worked_store
    wanted = needles(secrets)

    # While the session is open: recent pages are in the WAL, not yet checkpointed.
    wal = Path(str(db_path(data_dir)) + "-wal")
    assert wal.exists() and wal.stat().st_size > 0
    names = {p.relative_to(data_dir).as_posix() for p in files_under(data_dir)}
    assert {"perfectcare.sqlite3", "perfectcare.sqlite3-wal", "perfectcare.sqlite3-shm"} <= names
    assert {"backups/manual.pcbackup", "beside-the-store.pcbackup"} <= names

    hits = scan(data_dir, wanted)
    assert not hits, "patient details in clear on disk (session open):\n" + "\n".join(hits[:20])

    session.lock()
    session.store.close()
    hits = scan(data_dir, wanted)
    assert not hits, "patient details in clear on disk (store closed):\n" + "\n".join(hits[:20])
    assert files_under(data_dir)  # the scan really read files


def test_scanner_finds_planted_plaintext(
    worked_store: tuple[Session, set[str]], data_dir: Path, tmp_path: Path
) -> None:
    """The scan would fail if plaintext were written: plant some in a copy of the folder."""
    session, secrets = worked_store
    session.store.close()
    copy = tmp_path / "copy"
    shutil.copytree(data_dir, copy)
    wanted = needles(secrets)
    assert not scan(copy, wanted)

    (copy / "stray.txt").write_text(f"notes: {ERROR_REASON}\n", encoding="utf-8")
    (copy / BACKUP_DIR / "stray-utf16.txt").write_bytes(PLAN_SECOND_TEXT.encode("utf-16-le"))
    conn = sqlite3.connect(str(db_path(copy)))
    with conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('leak', ?)", (OWN_PATIENT["local_id"],))
    conn.close()

    hits = scan(copy, wanted)

    assert f"stray.txt: {ERROR_REASON!r}" in hits
    assert f"backups/stray-utf16.txt: {PLAN_SECOND_TEXT + ' (UTF-16-LE)'!r}" in hits
    assert any(h.startswith("perfectcare.sqlite3") and OWN_PATIENT["local_id"] in h for h in hits), hits
