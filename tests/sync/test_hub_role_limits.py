"""Every PC's hub role carries server-side limits (lock, statement and idle-in-transaction timeouts)
as role settings, so they hold through PgBouncer too: a DBA's lock on `versions` fails a PC's round
within the lock timeout instead of holding it for minutes, and nothing is lost."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
from sync_support import first_pc, join, patient

from perfectcare_desktop.errors import SyncError
from perfectcare_desktop.sync import enrolment, hub_admin, status

EXPECTED = {f"{name}={value}" for name, value in hub_admin.DEVICE_SETTINGS.items()}


def role_settings(hub_url: str) -> dict[str, set[str]]:
    with psycopg.connect(hub_url) as conn:
        rows = conn.execute(
            "SELECT d.role_name, r.rolconfig FROM devices d JOIN pg_roles r ON r.rolname = d.role_name"
        ).fetchall()
    return {role: set(config or ()) for role, config in rows}


def test_device_roles_carry_the_limits_and_hub_init_gives_them_to_older_roles(hub_db: str, tmp_path: Path) -> None:
    assert hub_admin.DEVICE_SETTINGS == {"lock_timeout": "10s", "statement_timeout": "60s",
                                         "idle_in_transaction_session_timeout": "120s"}  # fmt: skip
    a = first_pc(tmp_path / "a", hub_db)
    b = join(a.session, hub_db, tmp_path / "b")
    settings = role_settings(hub_db)
    assert len(settings) == 2 and all(s == EXPECTED for s in settings.values())
    with psycopg.connect(hub_db) as conn:  # roles made by a hub from before the limits
        for role in settings:
            conn.execute(f'ALTER ROLE "{role}" RESET ALL')
    assert all(not s for s in role_settings(hub_db).values())
    enrolment.init_hub(a.session, hub_db)  # run again, as after an upgrade
    assert all(s == EXPECTED for s in role_settings(hub_db).values())
    a.close()
    b.close()


def test_a_dba_lock_on_versions_fails_a_round_within_the_lock_timeout(hub_db: str, tmp_path: Path) -> None:
    a = first_pc(tmp_path / "a", hub_db)
    b = join(a.session, hub_db, tmp_path / "b")
    pid = a.session.patients.add(patient("Gwen", "Lloyd", "9434765919"))
    waiting = status.read(a.store).waiting
    dba = psycopg.connect(hub_db)
    dba.execute("LOCK TABLE versions IN ACCESS EXCLUSIVE MODE")  # held: the transaction stays open
    box: dict[str, object] = {}

    def sync_a() -> None:
        try:
            box["report"] = a.sync()
        except Exception as exc:  # noqa: BLE001 - the test looks at what it was
            box["error"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=sync_a, daemon=True)
    thread.start()
    thread.join(45)
    took = time.monotonic() - started
    hung = thread.is_alive()
    dba.commit()  # the DBA is done: the lock goes (and frees a round that was still waiting)
    dba.close()
    thread.join(60)
    assert not hung, "the round waited on the DBA's lock for as long as the lock was held"
    assert isinstance(box.get("error"), SyncError), box
    assert 5 < took < 30  # about the lock timeout (10 s), not minutes
    assert status.read(a.store).waiting == waiting  # nothing lost

    assert a.sync().pushed == waiting  # the next round sends everything
    b.sync()
    b.session.patients.reload()
    assert pid in {p.record_id for p in b.session.patients.all()}
    a.close()
    b.close()
