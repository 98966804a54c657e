"""What sync could not do, said so an administrator can act: the person is named, the next step is
given, and `perfectcare-admin sync --retry` sends again what the hub refused once it is put right."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sync_support import first_pc, hub_versions, join, patient, plan
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import save_draft
from perfectcare_desktop.sync import status

ADMIN_EXE = Path(sys.executable).with_name("perfectcare-admin")
LAYOUT = load_catalogue().latest()


def admin(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ADMIN_EXE), *args, "--data-dir", str(data_dir), "--password-stdin"],
        input=ADMIN_PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PERFECTCARE_USER": ADMIN},
    )


@pytest.fixture
def two(tmp_path: Path, hub_db: str):
    a = first_pc(tmp_path / "pc1", hub_db)
    b = join(a.session, hub_db, tmp_path / "pc2")
    yield a, b
    a.close()
    b.close()


def test_a_change_the_hub_refused_is_named_and_sent_again_after_the_fix(two, hub_db: str) -> None:
    a, b = two
    pid = a.session.patients.add(patient("Siân", "Roberts", "9434765919"))
    a.sync()
    with psycopg.connect(hub_db) as conn:  # a DBA's constraint that this PC's next plan breaks
        conn.execute("ALTER TABLE versions ADD CONSTRAINT no_plans CHECK (record_kind <> 'safety_plan')")
    save_draft(a.session, pid, LAYOUT, plan("Pacing at night"), None)
    a.sync()
    assert status.read(a.store).parked == 1
    folder = a.store.data_dir
    a.close()  # the CLI opens the store itself

    listed = admin(folder, "sync", "--problems")
    assert listed.returncode == 0, listed.stderr
    assert "Siân Roberts (NHS 943 476 5919): this PC's change to their safety plan" in listed.stdout
    assert "refused by the hub" in listed.stdout and "sync --retry" in listed.stdout

    with psycopg.connect(hub_db) as conn:  # the DBA removes it again
        conn.execute("ALTER TABLE versions DROP CONSTRAINT no_plans")
    retried = admin(folder, "sync", "--retry")
    assert retried.returncode == 0, retried.stderr
    assert "Trying again: 1 change(s)" in retried.stdout
    again = admin(folder, "sync", "--problems")
    assert "nothing waiting for attention" in again.stdout
    b.sync()
    assert b.versions() == set(hub_versions(hub_db))
    assert len(b.versions()) == len(set(hub_versions(hub_db))) and len(b.versions()) >= 2


def test_an_item_refused_from_the_hub_names_the_person_and_retry_fetches_it(two, hub_db: str) -> None:
    a, b = two
    pid = a.session.patients.add(patient("Aled", "Jones", "9434765870"))
    a.sync()
    b.sync()
    v = save_draft(a.session, pid, LAYOUT, plan("Not sleeping"), None)
    a.sync()
    flip = "UPDATE versions SET payload = set_byte(payload, 40, get_byte(payload, 40) # 1) WHERE version_id = %s"
    with psycopg.connect(hub_db) as conn:
        conn.execute(flip, (v,))
    b.sync()
    lines = status.problems(b.store, status.patient_names(b.session))
    assert len(lines) == 1
    assert lines[0].startswith("Aled Jones (NHS 943 476 5870): a change to their record from the hub")
    assert "repaired" in lines[0]
    assert "Aled" not in " ".join(status.problems(b.store))  # without a session: no name
    with psycopg.connect(hub_db) as conn:
        conn.execute(flip, (v,))  # repaired on the hub
    folder = b.store.data_dir
    b.close()
    retried = admin(folder, "sync", "--retry")
    assert retried.returncode == 0, retried.stderr
    assert "nothing waiting for attention" in admin(folder, "sync", "--problems").stdout
