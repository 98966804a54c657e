"""An enrolment file makes one PC, however its import ends: the hub claims the file before any store
exists here, and the store is built aside and moved into the data folder as the last step. An import
killed while pulling leaves no store that opens and a file the hub refuses; a new file then works."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sync_support import PASSPHRASE, Pc, first_pc, hub_versions
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.demo.demo_data import add_demo_data
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.errors import EnrolmentInterrupted, HubUnreachable, NotAllowed, StoreNotFound
from perfectcare_desktop.sync import client, enrolment, hub_address, hub_admin

CHILD = Path(__file__).with_name("enrol_child.py")


def claimed(hub_url: str) -> set[str]:
    with psycopg.connect(hub_url) as conn:
        return {r[0] for r in conn.execute("SELECT device_id::text FROM device_claims").fetchall()}


def test_an_import_killed_while_pulling_leaves_no_store_and_a_used_file(hub_db: str, tmp_path: Path) -> None:
    a = first_pc(tmp_path / "a", hub_db)
    add_demo_data(a.session, 120, seed=5)  # 600 versions: many small pull batches for the kill to land in
    a.sync()
    file = tmp_path / "b.enrol"
    device_id = enrolment.export_file(a.session, hub_db, file, PASSPHRASE)
    b = tmp_path / "b"

    child = subprocess.Popen([sys.executable, str(CHILD), str(file), str(b)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "pulling"
    assert child.stdout.readline().strip() == "pulled some"  # one batch in, the next one half-applied
    child.send_signal(signal.SIGKILL)
    rest = child.stdout.read()
    child.wait()
    assert "done" not in rest, "the import finished before the kill: give it more to pull"

    with pytest.raises(StoreNotFound):
        Store.open(b)  # nothing half-pulled to sign in to
    assert device_id in claimed(hub_db)  # claimed before anything was built here
    with pytest.raises(NotAllowed, match="already been used.*new one"):
        enrolment.import_file(file, PASSPHRASE, b)
    with pytest.raises(StoreNotFound):
        Store.open(b)
    assert not list(b.glob(enrolment.PARTIAL_PREFIX + "*"))  # the killed import's leftovers are gone

    # The administrator revokes the device that never joined, and a new file joins the PC.
    hub_admin.revoke_device(hub_address.parse(hub_db), device_id)
    again = tmp_path / "b2.enrol"
    new_id = enrolment.export_file(a.session, hub_db, again, PASSPHRASE)
    enrolment.import_file(again, PASSPHRASE, b)
    store = Store.open(b)
    pc = Pc(store, Session.sign_in(store, ADMIN, ADMIN_PASSWORD))
    pc.sync()
    assert pc.versions() == a.versions() == set(hub_versions(hub_db))
    with psycopg.connect(hub_db) as conn:  # its audit trail is its own on the hub
        assert conn.execute("SELECT count(*) FROM audit WHERE device_id = %s", (new_id,)).fetchone()[0] > 0
    pc.close()
    a.close()


def test_an_import_that_fails_after_the_claim_keeps_nothing_and_says_the_file_is_used(
    hub_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = first_pc(tmp_path / "a", hub_db)
    file = tmp_path / "b.enrol"
    device_id = enrolment.export_file(a.session, hub_db, file, PASSPHRASE)
    b = tmp_path / "b"

    def line_drops(*_args: object, **_kw: object) -> None:
        raise HubUnreachable("The connection to the hub was lost; changes wait here for the next try.")

    with monkeypatch.context() as m:
        m.setattr(client, "pull", line_drops)
        with pytest.raises(EnrolmentInterrupted, match=f"used up.*revoke device {device_id}"):
            enrolment.import_file(file, PASSPHRASE, b)
    assert not (b / "perfectcare.sqlite3").exists()
    assert not list(b.glob(enrolment.PARTIAL_PREFIX + "*"))
    with pytest.raises(NotAllowed, match="already been used"):
        enrolment.import_file(file, PASSPHRASE, b)
    a.close()
