"""A pull never skips a change whose hub transaction commits late.

The hub numbers rows when they are inserted, but other PCs see them when they commit: PC A's push,
still open, holds low numbers while PC B's later push commits higher ones. A pull that moved past B's
rows used to skip A's for good. These tests hold A's push open on a connection of its own, exactly as a
slow network or a large batch does, while B pushes and C pulls."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sync_support import Pc, first_pc, hub_versions, join, patient
from testsupport import ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.sync import device, hub_address, hub_admin, push
from perfectcare_desktop.sync.pull import pull

NHS = ["9434765919", "9434765870", "9434765862", "9434765854", "9434765846"]


@pytest.fixture
def three(tmp_path: Path, hub_db: str):
    a = first_pc(tmp_path / "pc1", hub_db)
    b = join(a.session, hub_db, tmp_path / "pc2")
    c = join(a.session, hub_db, tmp_path / "pc3")
    yield a, b, c
    for pc in (a, b, c):
        pc.close()


def _own_connection(pc: Pc):  # noqa: ANN202 - psycopg.Connection
    """A second hub connection as this PC, for a push transaction held open."""
    with pc.store.reading() as conn:
        config = device.load(conn, pc.session.require_unlocked())
    return hub_address.connect(config.params(pc.store.data_dir)), config.device_id


def test_a_push_committed_after_a_later_one_is_still_pulled(three, hub_db: str) -> None:
    a, b, c = three
    for pc in (a, b, c):
        pc.sync()
    a.session.patients.add(patient("Siân", "Roberts", NHS[0]))
    a.session.patients.add(patient("Aled", "Jones", NHS[1]))
    slow, device_id = _own_connection(a)
    batch = push.next_batch(a.store, a.session.require_unlocked(), device_id)
    assert batch is not None and batch.rows["version"]
    push.insert(slow, batch.rows)  # A's rows take their numbers now, but stay invisible until commit

    b.session.patients.add(patient("Wojciech", "Nowak", NHS[2]))
    b.sync()  # B's later-numbered rows commit first
    c.sync()  # C reads B's rows while A's are still open

    slow.commit()
    push.sent(a.store, batch.oids)
    slow.close()
    for _ in range(2):
        c.sync()
        b.sync()

    on_hub = set(hub_versions(hub_db))
    assert c.versions() == on_hub, "C skipped the versions whose push committed after B's"
    assert b.versions() == on_hub
    c.session.patients.reload()
    assert {p.details.display_name for p in c.session.patients.all()} == {
        "Siân Roberts",
        "Aled Jones",
        "Wojciech Nowak",
    }


def test_an_account_committed_late_is_still_pulled(three) -> None:
    """The account stream is read the same way: a skipped account made its author's versions refused."""
    a, b, c = three
    for pc in (a, b, c):
        pc.sync()
    a.session.users.add("nurse.jo", "clinician", "another good password", "Jo Bloggs")
    slow, device_id = _own_connection(a)
    batch = push.next_batch(a.store, a.session.require_unlocked(), device_id)
    push.insert(slow, batch.rows)
    b.session.users.add("nurse.al", "clinician", "a third good password", "Al Evans")
    b.sync()
    c.sync()
    slow.commit()
    push.sent(a.store, batch.oids)
    slow.close()
    c.sync()
    assert Session.sign_in(c.store, "nurse.jo", "another good password").user.role == "clinician"
    assert Session.sign_in(c.store, "nurse.al", "a third good password").user.role == "clinician"


def test_a_push_held_open_delays_but_never_hides(three, hub_db: str) -> None:
    """While A's push is open, what others commit after it waits too: delayed, never lost."""
    a, b, c = three
    for pc in (a, b, c):
        pc.sync()
    a.session.patients.add(patient("Siân", "Roberts", NHS[0]))
    slow, device_id = _own_connection(a)
    batch = push.next_batch(a.store, a.session.require_unlocked(), device_id)
    push.insert(slow, batch.rows)
    b.session.patients.add(patient("Wojciech", "Nowak", NHS[2]))
    b.sync()
    with c.store.reading() as conn:
        before = device.horizon(conn, device.HORIZON_VERSIONS)
    result = pull(c.store, c.session.require_unlocked(), c.client.connection(c.session.require_unlocked()))
    assert result.versions == 0  # B's rows are behind A's open transaction in commit order: not yet
    with c.store.reading() as conn:
        assert device.horizon(conn, device.HORIZON_VERSIONS) == before
    slow.rollback()  # A's line drops: its transaction never commits, its queue rows stay
    slow.close()
    c.sync()
    a.sync()
    c.sync()
    assert c.versions() == set(hub_versions(hub_db))
    assert len(hub_versions(hub_db)) == len(set(hub_versions(hub_db)))


def test_a_hub_from_before_commit_order_upgrades_with_nothing_lost(tmp_path: Path, hub_db: str) -> None:
    """A hub at revision h001 with PCs that pulled by seq: after `hub init` upgrades it, each PC carries
    on from its old cursor and misses nothing, old rows or new."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    a = first_pc(tmp_path / "pc1", hub_db)
    b = join(a.session, hub_db, tmp_path / "pc2")
    try:
        a.session.patients.add(patient("Siân", "Roberts", NHS[0]))
        a.sync()
        b.sync()
        # Back to h001, as a hub made by the previous release was, with B's cursor as that release kept it.
        params = hub_address.parse(hub_db)
        engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(hub_db))
        with engine.begin() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", str(hub_admin._MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "h001")
        engine.dispose()
        with psycopg.connect(hub_db) as hub:
            top = hub.execute("SELECT max(seq) FROM versions").fetchone()[0]
        with b.store.writing() as conn:
            conn.exec_driver_sql(
                "DELETE FROM meta WHERE key IN (?, ?)", (device.HORIZON_VERSIONS, device.HORIZON_USERS)
            )
            device.set_cursor(conn, device.CURSOR_VERSIONS, top)
        a.client.close()
        b.client.close()
        a.session.patients.add(patient("Aled", "Jones", NHS[1]))  # queued while the hub is old
        hub_admin.init_hub(params, a.store.store_id, a.store.organisation)  # the admin upgrades the hub
        a.sync()
        b.sync()
        assert b.versions() == a.versions() == set(hub_versions(hub_db))
        b.session.patients.reload()
        assert len(b.session.patients.all()) == 2
        assert Session.sign_in(b.store, a.session.user.username, ADMIN_PASSWORD)
    finally:
        a.close()
        b.close()
