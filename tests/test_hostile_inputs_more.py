"""Hostile inputs still open after issue 17 part 5: a lone surrogate typed or stored, a store whose key
wraps were edited, deeply nested settings and enrolment files, a password that is not UTF-8. Each is
met with a sentence (exit 1 or 2, never 3) and changes nothing it should not."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from testsupport import CLI_PASSWORD as PASSWORD
from testsupport import admin_cli as run

from perfectcare_desktop.core.access.session import Session

HUGE = {"algorithm": "argon2id", "memory_kib": 2**31, "iterations": 3, "lanes": 4}
DEEP = b"[" * 100_000 + b"]" * 100_000


def refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode in (1, 2), (result.returncode, result.stdout, result.stderr)
    assert "unexpected internal error" not in result.stderr and "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("hostile-more") / "store"
    assert run(data_dir, "init", "--org", "Test Trust", "--admin", "boss").returncode == 0
    demo = run(data_dir, "demo-data", "--patients", "3")
    assert demo.returncode == 0, demo.stderr
    return data_dir


@pytest.fixture
def own_store(cli_store: Path, tmp_path: Path) -> Path:
    """A copy of the module's store, for a test that damages it."""
    copy = tmp_path / "store"
    shutil.copytree(cli_store, copy)
    return copy


def db_file(data_dir: Path) -> Path:
    from perfectcare_desktop.store.database import db_path

    return db_path(data_dir)


def dump(data_dir: Path) -> str:
    """Every row of the store, to show that a refusal changed nothing (no failed attempt, no audit)."""
    with sqlite3.connect(db_file(data_dir)) as conn:
        return "\n".join(conn.iterdump())


# --- 1. a lone surrogate typed in (a broken clipboard) -------------------------------------------------------
def test_a_lone_surrogate_typed_in_is_saved_as_a_replacement_character(store: object) -> None:
    from testsupport import ADMIN, ADMIN_PASSWORD

    from perfectcare_desktop.core.patients.details import PatientDetails
    from perfectcare_desktop.core.storage import payloads

    assert payloads.decode(payloads.encode({"text": "Call Si\ud800n \udfff"})) == {"text": "Call Si\ufffdn \ufffd"}
    assert payloads.decode(payloads.encode({"k\udc80": ["a\ud83d"]})) == {"k\ufffd": ["a\ufffd"]}
    pair = "\U0001f600 stays"  # a whole pair (an emoji) is not touched
    assert payloads.decode(payloads.encode({"text": pair})) == {"text": pair}
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)  # type: ignore[attr-defined]
    pid = session.patients.add(PatientDetails("Si\ud800n", "Jones", date(1980, 1, 2), "9434765919"))
    assert session.patients.get(pid, audit_view=False).details.given_name == "Si\ufffdn"


# --- 2. a lone surrogate already stored (another program's "\ud800" escape), printed -------------------------
def plant_surrogate(data_dir: Path, nhs_number: str, record: str = "plan") -> str:
    """Append a copy of the record's newest version (the agreed plan, or the patient's details) with one
    text holding "\\ud800", sealed with the store's own key and bound metadata as a save seals it: what
    another program's JSON escape leaves (versions are append-only, and a save here now cleans such a
    character). Returns the new version's id."""
    from datetime import timedelta

    from sqlalchemy import insert, select

    from perfectcare_desktop.core.clinical.plans import load_plan
    from perfectcare_desktop.core.storage import versions
    from perfectcare_desktop.core.storage.store import Store
    from perfectcare_desktop.store.models import Version, VersionParent

    store = Store.open(data_dir)
    try:
        session = Session.sign_in(store, "boss", PASSWORD)
        patient = session.patients.find_by_nhs_number(nhs_number)
        if record == "plan":
            shown = load_plan(session, patient.record_id, audit_view=False).agreed
            payload = dict(shown.payload)
            payload["sections"]["coping_alone"]["entries"][0]["text"] = "Go for a walk\ud800"
            version_id = shown.version_id
        else:
            payload = {
                **versions.current(session.records.history(patient.record_id)).payload,
                "given_name": "Si\ud800n",
            }
            version_id = patient.version_id
        data = json.dumps(payload, ensure_ascii=True, sort_keys=True).encode()
        with store.writing() as conn:
            row = conn.execute(select(Version.__table__).where(Version.version_id == version_id)).one()
            values = {c: getattr(row, c) for c in versions.STORED_COLUMNS if c != "payload"}
            values |= {"version_id": versions.new_id(), "created_at": row.created_at + timedelta(seconds=1)}
            parents = versions.head_ids(conn, row.record_id)
            bound = versions.bound_metadata(SimpleNamespace(**values), parents)
            sealed = session.require_unlocked().seal(
                data, versions.PAYLOAD_TABLE, row.record_id, values["version_id"], *bound
            )
            conn.execute(insert(Version.__table__), {**values, "payload": sealed})
            conn.execute(insert(VersionParent.__table__), [{"version_id": values["version_id"], "parent_id": p}
                                                            for p in parents])  # fmt: skip
        if record == "plan":
            agreed = load_plan(session, patient.record_id, audit_view=False).agreed
            assert agreed.version_id == values["version_id"]
            assert agreed.payload["sections"]["coping_alone"]["entries"][0]["text"] == "Go for a walk\ud800"
        return values["version_id"]
    finally:
        store.close()


def agreed_nhs_numbers(data_dir: Path) -> list[str]:
    from perfectcare_desktop.core.patients.caseload import caseload
    from perfectcare_desktop.core.storage.store import Store

    store = Store.open(data_dir)
    try:
        rows = caseload(Session.sign_in(store, "boss", PASSWORD))
        return [r.patient.details.nhs_number for r in rows if r.plan_state == "agreed"]
    finally:
        store.close()


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(path).pages)


def test_a_plan_holding_a_lone_surrogate_prints_a_replacement_character_and_says_so(
    own_store: Path, tmp_path: Path
) -> None:
    """The old code printed it as an empty box (the fonts have no glyph for half a pair), with no word."""
    agreed = agreed_nhs_numbers(own_store)
    assert len(agreed) >= 2, "the demo data has two agreed plans"
    version_id = plant_surrogate(own_store, agreed[0])
    for variant in ("standard", "clinician-record", "large-print"):
        out = tmp_path / variant
        out.mkdir()
        result = run(own_store, "export-pdf", "--patient", agreed[0], "--out", str(out), "--variant", variant)
        assert result.returncode == 0, result.stderr
        assert f"version {version_id} held an invalid character (a lone UTF-16 surrogate" in result.stderr
        assert "printed as U+FFFD" in result.stderr and "unexpected internal error" not in result.stderr
        (pdf,) = out.iterdir()
        text = pdf_text(pdf)
        assert "Go for a walk\ufffd" in text and "\x00" not in text
    batch = tmp_path / "batch"
    batch.mkdir()
    result = run(own_store, "export-pdf", "--all", "--out", str(batch), "--variant", "standard")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("lone UTF-16 surrogate") == 1, result.stderr
    assert len(list(batch.glob("safety-plan-*.pdf"))) == len(agreed)


def test_a_patient_name_holding_a_lone_surrogate_prints_a_replacement_character(
    own_store: Path, tmp_path: Path
) -> None:
    nhs_number = agreed_nhs_numbers(own_store)[0]
    plant_surrogate(own_store, nhs_number, record="patient")
    out = tmp_path / "out"
    out.mkdir()
    result = run(own_store, "export-pdf", "--patient", nhs_number, "--out", str(out), "--variant", "clinician-record")
    assert result.returncode == 0, result.stderr
    assert "lone UTF-16 surrogate" in result.stderr
    assert "Si\ufffdn" in pdf_text(next(out.iterdir()))


# --- 3. key wraps edited in the store's own SQL --------------------------------------------------------------
@pytest.mark.parametrize(
    "kdf",
    ["argon2id:" + json.dumps(HUGE), "argon2id:" + json.dumps({**HUGE, "memory_kib": 1024, "lanes": 2**24}),
     "argon2id:{not json", "argon2id:" + "[" * 100_000],
)  # fmt: skip
def test_a_store_whose_key_settings_were_edited_is_refused_in_words(own_store: Path, kdf: str) -> None:
    with sqlite3.connect(db_file(own_store)) as conn:
        assert conn.execute("UPDATE key_wraps SET kdf = ? WHERE purpose = 'user'", (kdf,)).rowcount >= 1
    before = dump(own_store)
    for command in ("verify", "info"):
        result = run(own_store, command, user=command != "info")
        if command == "info":  # needs no password: still works
            assert result.returncode == 0, result.stderr
            continue
        refused(result, "key settings are not ones PerfectCare writes", "Restore a backup")
    assert dump(own_store) == before


def test_signing_in_to_an_edited_store_changes_nothing(own_store: Path) -> None:
    from perfectcare_desktop.core.storage.store import Store
    from perfectcare_desktop.errors import StoreDamaged

    with sqlite3.connect(db_file(own_store)) as conn:
        conn.execute("UPDATE key_wraps SET kdf = ? WHERE purpose = 'user'", ("argon2id:" + json.dumps(HUGE),))
    before = dump(own_store)
    store = Store.open(own_store)
    try:
        for _ in range(3):  # no lockout counting either: the password was never tried
            with pytest.raises(StoreDamaged, match="tampered with"):
                Session.sign_in(store, "boss", PASSWORD)
    finally:
        store.close()
    assert dump(own_store) == before


# --- 4. settings.json nested thousands deep ---------------------------------------------------------------------
def test_a_deeply_nested_settings_file_is_reported_and_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from perfectcare_desktop.config import load_user_settings

    settings = tmp_path / "settings.json"
    settings.write_bytes(DEEP)
    with caplog.at_level("WARNING"):
        assert load_user_settings(settings) == {}
    assert any("nested too deeply" in r.getMessage() for r in caplog.records), caplog.records
    assert settings.read_bytes() == DEEP


def test_the_cli_runs_with_a_deeply_nested_settings_file(cli_store: Path, tmp_path: Path) -> None:
    config = tmp_path / "config"
    settings = config / "PerfectCare Desktop" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_bytes(DEEP)
    env = {**os.environ, "XDG_CONFIG_HOME": str(config), "APPDATA": str(config)}
    result = run(cli_store, "verify", env=env)
    assert result.returncode == 0, result.stderr
    assert "unexpected internal error" not in result.stderr
    assert settings.read_bytes() == DEEP


# --- 5. an enrolment file whose header is nested thousands deep -------------------------------------------------
@pytest.mark.parametrize("header", [DEEP, json.dumps({"kdf": "[" * 100_000, "salt": "AAAA"}).encode()])
def test_an_enrolment_header_nested_thousands_deep_is_damaged_in_words(tmp_path: Path, header: bytes) -> None:
    from perfectcare_desktop.sync.enrolment import MAGIC

    crafted = tmp_path / "ward-pc.enrol"
    crafted.write_bytes(MAGIC + header + b"\n" + os.urandom(200))
    target = tmp_path / "store"
    refused(run(target, "enrol", "import", str(crafted), stdin="a long enough passphrase\n", user=False), "damaged")
    assert not target.exists()


# --- 6. a password on stdin that is not UTF-8 -------------------------------------------------------------------
@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])
def test_a_password_that_is_not_utf8_is_refused_in_words(cli_store: Path, locale: str) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "PYTHONUTF8") and not k.startswith("LC_")
    }
    env |= {"LC_ALL": locale, "LANG": locale}
    before = dump(cli_store)
    result = run(cli_store, "verify", stdin=b"\xff\xfe pass\n", env=env)
    refused(result, "not UTF-8 text")
    assert dump(cli_store) == before  # not even a failed attempt: no password was tried


def test_secrets_refuse_a_line_that_is_not_utf8() -> None:
    import io

    from perfectcare_desktop.cli_terminal import Secrets
    from perfectcare_desktop.errors import InvalidInput

    stdin = io.TextIOWrapper(io.BytesIO(b"good one\n\xff\xfe pass\n"), encoding="utf-8", errors="surrogateescape")
    secrets = Secrets(True, stdin)
    assert secrets.get("Password: ") == "good one"
    with pytest.raises(InvalidInput, match="Line 2 of standard input .* is not UTF-8 text"):
        secrets.get("Password: ")
    strict = io.TextIOWrapper(io.BytesIO(b"\xff\xfe pass\n"), encoding="utf-8")  # a stream with strict errors
    with pytest.raises(InvalidInput, match="not UTF-8 text"):
        Secrets(True, strict).get("Password: ")
