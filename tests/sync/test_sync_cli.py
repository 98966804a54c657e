"""`perfectcare-admin hub …`, `enrol …` and `sync` as an administrator's script runs them, on a real
hub; and the hub credentials are found nowhere on disk outside the encrypted store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.sync import device

ADMIN_EXE = Path(sys.executable).with_name("perfectcare-admin")
PASSPHRASE = "blue door, third floor"


def run(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ADMIN_EXE), *args, "--data-dir", str(data_dir), "--password-stdin"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PERFECTCARE_USER": ADMIN},
    )


def test_hub_init_enrol_and_sync_from_the_command_line(tmp_path: Path, hub_db: str) -> None:
    a, b = tmp_path / "ward-a", tmp_path / "ward-b"
    made = run(a, "init", "--org", "Test Trust", "--admin", ADMIN, stdin=ADMIN_PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    not_yet = run(a, "sync", stdin=ADMIN_PASSWORD + "\n")
    assert not_yet.returncode == 1 and "not enrolled" in not_yet.stderr

    init = run(a, "hub", "init", "--url", hub_db, "--label", "Ward A desk", stdin=ADMIN_PASSWORD + "\n")
    assert init.returncode == 0, init.stderr
    assert "is ready for Test Trust" in init.stdout and "Synced: sent" in init.stdout
    added = run(a, "user", "add", "nurse.jo", stdin=f"{ADMIN_PASSWORD}\nnurse password 1\n")
    assert added.returncode == 0, added.stderr

    file = tmp_path / "ward-b.enrol"
    short = run(a, "enrol", "export", "--admin-url", hub_db, "--out", str(file), stdin=f"{ADMIN_PASSWORD}\nshort\n")
    assert short.returncode == 1 and "at least 12" in short.stderr and not file.exists()
    out = run(a, "enrol", "export", "--admin-url", hub_db, "--out", str(file), "--label", "Ward B laptop",
              stdin=f"{ADMIN_PASSWORD}\n{PASSPHRASE}\n")  # fmt: skip
    assert out.returncode == 0, out.stderr
    wrong = run(b, "enrol", "import", str(file), stdin="not the passphrase\n")
    assert wrong.returncode == 1 and "passphrase does not open" in wrong.stderr
    assert not (b / "perfectcare.sqlite3").exists()
    joined = run(b, "enrol", "import", str(file), stdin=PASSPHRASE + "\n")
    assert joined.returncode == 0, joined.stderr
    assert "Staff can now sign in" in joined.stdout

    devices = run(a, "hub", "devices", "--url", hub_db)
    assert devices.returncode == 0 and "Ward A desk" in devices.stdout and "Ward B laptop" in devices.stdout
    # The account made on A after enrolment signs in on B.
    synced = subprocess.run(
        [str(ADMIN_EXE), "sync", "--data-dir", str(b), "--password-stdin", "--user", "nurse.jo"],
        input="nurse password 1\n", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert synced.returncode == 0, synced.stderr
    assert "0 waiting, 0 need attention" in synced.stdout

    # Credentials live only inside the encrypted store: not in any file, log or the enrolment file's clear part.
    store = Store.open(b)
    with store.reading() as conn:
        config = device.load(conn, Session.sign_in(store, ADMIN, ADMIN_PASSWORD).require_unlocked())
    store.close()
    owner_password = hub_db.split(":")[2].split("@")[0]
    secrets = [config.password.encode(), config.role.encode(), owner_password.encode()]
    files = [f for f in [*a.rglob("*"), *b.rglob("*"), file] if f.is_file()]
    files += [f for f in Path(os.environ["PERFECTCARE_LOG_DIR"]).rglob("*") if f.is_file()]
    for f in files:
        data = f.read_bytes()
        for s in secrets:
            assert s not in data, f"{s!r} found in {f}"

    revoked = run(a, "hub", "revoke", "--url", hub_db, config.device_id)
    assert revoked.returncode == 0, revoked.stderr
    refused = run(b, "sync", stdin=ADMIN_PASSWORD + "\n")
    assert refused.returncode == 1 and "revoked" in refused.stderr
