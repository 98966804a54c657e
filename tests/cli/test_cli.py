"""The admin CLI as an administrator's script would use it: the real console script, real store."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from perfectcare_desktop import cli
from perfectcare_desktop.core.access.session import Session

PASSWORD = "correct horse battery"
NURSE_PASSWORD = "clinician pass 1"
ADMIN_EXE = Path(sys.executable).with_name("perfectcare-admin")


def run(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The installed `perfectcare-admin`, as a script runs it (no terminal)."""
    return subprocess.run(
        [str(ADMIN_EXE), *args, "--data-dir", str(data_dir)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PERFECTCARE_USER": ""},
    )


@pytest.fixture
def cli_store(tmp_path: Path) -> Path:
    data_dir = tmp_path / "store"
    result = run(data_dir, "init", "--org", "Test Trust", "--admin", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    return data_dir


def test_init_prints_recovery_key_once_and_it_resets_a_password(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    result = run(data_dir, "init", "--org", "Test Trust", "--admin", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    keys = [line.strip() for line in result.stdout.splitlines() if line.strip().count("-") == 13]
    assert len(keys) == 1, result.stdout
    assert "shown once" in result.stdout
    # Nothing on disk holds the recovery key in clear.
    for f in data_dir.rglob("*"):
        if f.is_file():
            assert keys[0].encode() not in f.read_bytes()
    reset = run(data_dir, "user", "reset-password", "boss", "--password-stdin", stdin=f"a brand new pass\n{keys[0]}\n")
    assert reset.returncode == 0, reset.stderr
    new = run(data_dir, "user", "list", "--user", "boss", "--password-stdin", stdin="a brand new pass\n")
    assert new.returncode == 0, new.stderr
    old = run(data_dir, "user", "list", "--user", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert old.returncode == 1
    assert "not right" in old.stderr


def test_init_refuses_an_existing_store_and_changes_nothing(cli_store: Path) -> None:
    before = (cli_store / "perfectcare.sqlite3").read_bytes()
    again = run(cli_store, "init", "--org", "X", "--admin", "other", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 1
    assert "already a store" in again.stderr
    assert "Traceback" not in again.stderr
    assert (cli_store / "perfectcare.sqlite3").read_bytes() == before


def test_user_add_list_disable(cli_store: Path) -> None:
    added = run(
        cli_store, "user", "add", "nurse1", "--role", "clinician", "--user", "boss", "--password-stdin",
        stdin=f"{PASSWORD}\n{NURSE_PASSWORD}\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = run(cli_store, "user", "list", "--user", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert "nurse1" in listed.stdout and "clinician" in listed.stdout and "active" in listed.stdout
    # A clinician may not administer users.
    refused = run(cli_store, "user", "list", "--user", "nurse1", "--password-stdin", stdin=NURSE_PASSWORD + "\n")
    assert refused.returncode == 1 and "administrator" in refused.stderr
    disabled = run(cli_store, "user", "disable", "nurse1", "--user", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert disabled.returncode == 0, disabled.stderr
    listed = run(cli_store, "user", "list", "--user", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert "disabled" in listed.stdout
    nurse = run(cli_store, "verify", "--user", "nurse1", "--password-stdin", stdin=NURSE_PASSWORD + "\n")
    assert nurse.returncode == 1 and "disabled" in nurse.stderr


def test_demo_data_export_verify_round_trip(cli_store: Path, tmp_path: Path) -> None:
    demo = run(cli_store, "demo-data", "--patients", "12", "--seed", "5", "--user", "boss", "--password-stdin",
               stdin=PASSWORD + "\n")  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    assert demo.stderr == ""  # no progress output when not on a terminal
    out = tmp_path / "export.json"
    exported = run(cli_store, "export", "--out", str(out), "--user", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert exported.returncode == 0, exported.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert len(data["patients"]) == 12
    kinds = sorted(r["kind"] for r in data["patients"][0]["records"])
    assert kinds == ["patient", "safety_plan"]
    plan = next(r for r in data["patients"][0]["records"] if r["kind"] == "safety_plan")
    assert len(plan["versions"]) == 4
    assert plan["versions"][1]["parents"] == [plan["versions"][0]["version_id"]]
    # One patient by NHS number, with spaces as a clinician would type it.
    nhs = data["patients"][3]["records"][0]["versions"][-1]["content"]["nhs_number"]
    spaced = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"
    one = run(cli_store, "export", "--patient", spaced, "--user", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert one.returncode == 0, one.stderr
    assert [p["patient_id"] for p in json.loads(one.stdout)["patients"]] == [data["patients"][3]["patient_id"]]
    # Same seed twice: deterministic demo data.
    verify = run(cli_store, "verify", "--user", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert verify.returncode == 0, verify.stderr
    assert "Intact: 60 versions" in verify.stdout


def test_bad_input_gets_a_clear_message_and_no_traceback(cli_store: Path, tmp_path: Path) -> None:
    cases = [
        (["export", "--patient", "999 123 4560"], "can never be a valid NHS number"),
        (["export", "--patient", "943 476 5918"], "not a valid NHS number"),
        (["export", "--patient", "123"], "10 digits"),
        (["backup", str(tmp_path / "no" / "such" / "folder" / "b.bak")], "does not exist"),
        (["restore", str(tmp_path / "missing.bak")], "no file"),
    ]
    for args, expected in cases:
        result = run(cli_store, *args, "--user", "boss", "--password-stdin", stdin=PASSWORD + "\n")
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    short = run(tmp_path / "new", "init", "--org", "T", "--admin", "a", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
    assert not (tmp_path / "new" / "perfectcare.sqlite3").exists()
    no_user = run(cli_store, "verify", "--password-stdin", stdin=PASSWORD + "\n")
    assert no_user.returncode == 1 and "--user" in no_user.stderr
    ended = run(cli_store, "user", "add", "x1", "--user", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert ended.returncode == 1 and "line 2" in ended.stderr


def test_damaged_store_is_reported_not_crashed(cli_store: Path) -> None:
    db = cli_store / "perfectcare.sqlite3"
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])
    for extra in ("-wal", "-shm"):
        Path(str(db) + extra).unlink(missing_ok=True)
    result = run(cli_store, "verify", "--user", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.returncode == 1
    assert "damaged" in result.stderr and "restore" in result.stderr
    assert "Traceback" not in result.stderr


def test_backup_and_restore_through_the_cli(cli_store: Path, tmp_path: Path) -> None:
    run(cli_store, "demo-data", "--patients", "5", "--user", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    backup = tmp_path / "nightly.pcbackup"
    made = run(cli_store, "backup", str(backup), "--user", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    target = tmp_path / "restored"
    restored = run(target, "restore", str(backup), "--user", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert restored.returncode == 0, restored.stderr
    verify = run(target, "verify", "--user", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert verify.returncode == 0 and "Intact: 25 versions" in verify.stdout
    # Over the store it came from, it says first what it rolls back (10 versions saved since the backup).
    run(cli_store, "demo-data", "--patients", "2", "--seed", "2", "--user", "boss", "--password-stdin",
        stdin=PASSWORD + "\n")  # fmt: skip
    over = run(cli_store, "restore", str(backup), "--user", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert over.returncode == 0, over.stderr
    told = over.stdout.index("back to the backup taken")
    assert "10 version(s) held here" in over.stdout and told < over.stdout.index("Restored the store")
    damaged = tmp_path / "damaged.pcbackup"
    blob = bytearray(backup.read_bytes())
    blob[-100] ^= 0xFF
    damaged.write_bytes(bytes(blob))
    refused = run(tmp_path / "other", "restore", str(damaged), "--user", "boss", "--password-stdin",
                  stdin=PASSWORD + "\n")  # fmt: skip
    assert refused.returncode == 1 and "damaged" in refused.stderr
    assert not (tmp_path / "other" / "perfectcare.sqlite3").exists()


def test_progress_shows_on_a_terminal(cli_store: Path) -> None:
    """On a terminal, long operations redraw a progress line; (without one they stay quiet: see above)."""
    pid, fd = pty.fork()
    if pid == 0:  # child: the CLI with stdin/stdout/stderr on the pseudo-terminal
        os.execv(
            str(ADMIN_EXE),
            [str(ADMIN_EXE), "demo-data", "--patients", "300", "--user", "boss", "--data-dir", str(cli_store)],
        )
    output = b""
    sent = False
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if not sent and b"Password" in output:
            os.write(fd, (PASSWORD + "\n").encode())  # typed at the no-echo prompt
            sent = True
    os.waitpid(pid, 0)
    text = output.decode(errors="replace")
    assert "Adding synthetic patients" in text and "100% (300/300)" in text
    assert PASSWORD not in text  # no echo


def test_cli_never_imports_qt(cli_store: Path) -> None:
    code = (
        "import sys; from perfectcare_desktop import cli; "
        f"rc = cli.main(['verify', '--user', 'boss', '--password-stdin', '--data-dir', {str(cli_store)!r}]); "
        "print('QT' if any(m.startswith('PySide6') for m in sys.modules) else 'NOQT', rc)"
    )
    result = subprocess.run([sys.executable, "-c", code], input=PASSWORD + "\n", capture_output=True, text=True)
    assert result.stdout.strip().endswith("NOQT 0"), result.stdout + result.stderr


def test_unexpected_errors_hide_the_traceback(cli_store: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def boom(*_args: object) -> int:
        raise RuntimeError("a message that might quote Siân ap Dafydd")

    monkeypatch.setattr(cli, "cmd_info", boom)
    assert cli.main(["info", "--data-dir", str(cli_store)]) == 3
    err = capsys.readouterr().err
    assert "RuntimeError" in err and "Siân" not in err and "Traceback" not in err


def test_followup_figure_counts_discharges_followed_up_within_72_hours(cli_store: Path) -> None:
    """`followup-figure`: the NHS England figure from the store's records, with what is not counted and
    why; a period that ends before it starts is refused in words."""
    from datetime import datetime, timedelta

    from perfectcare_desktop.core.clinical.discharge import MADE, PLANNED, TRANSFER, record_discharge, record_followup
    from perfectcare_desktop.core.patients.details import PatientDetails
    from perfectcare_desktop.core.patients.nhs_number import test_range_numbers
    from perfectcare_desktop.core.storage.store import Store

    numbers = test_range_numbers(__import__("random").Random(3))
    store = Store.open(cli_store)
    try:
        session = Session.sign_in(store, "boss", PASSWORD)
        now = store.clock.now()
        left = (now - timedelta(days=5)).replace(hour=10, minute=0, second=0, microsecond=0)
        pids = [session.patients.add(PatientDetails(n, "Roberts", datetime(1990, 1, 1).date(), next(numbers)))
                for n in ("Made", "Missed", "Moved")]  # fmt: skip
        for pid, kind in zip(pids, (PLANNED, PLANNED, TRANSFER), strict=True):
            record_discharge(session, pid, left, discharge_type=kind, owner_text="Crisis team")
        record_followup(session, pids[0], left + timedelta(days=1), outcome=MADE)
    finally:
        store.close()
    start, end = (left - timedelta(days=1)).date().isoformat(), now.date().isoformat()
    result = run(cli_store, "followup-figure", "--from", start, "--to", end, "--user", "boss", "--password-stdin",
                 stdin=PASSWORD + "\n")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Followed up within 72 hours: 1 of 2 discharges" in result.stdout and "(50%)" in result.stdout
    assert "Not counted: 1 transfer(s), 0 whose 72 hours have not ended." in result.stdout
    assert "Exclusions: Transfers to another mental health inpatient setting" in result.stdout
    backwards = run(cli_store, "followup-figure", "--from", end, "--to", start, "--user", "boss",
                    "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert backwards.returncode != 0 and "The period ends before it starts." in backwards.stderr
