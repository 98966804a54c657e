"""The hub in its production shape (docs/admin-guide.md, Production hub), with real parts: PCs that reach
it through PgBouncer in transaction pooling mode, and a PC whose machine policy names a streaming read
replica for its pulls (tests/pg_cluster.py makes both)."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from pg_cluster import PgBouncer, PgCluster
from sync_support import Pc, hub_versions, patient, plan
from test_sync_faults import assert_converged
from test_sync_hub import pcs  # noqa: F401 - a fixture, used by name: PCs enrolled straight with the cluster
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop import cli
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import save_draft
from perfectcare_desktop.errors import HubUnreachable
from perfectcare_desktop.sync import device, hub_address, push, status
from perfectcare_desktop.sync.client import SyncClient, one_round

LAYOUT = load_catalogue().latest()
ROUNDS = 8  # per PC: psycopg would prepare a query on its 6th run on one connection (prepare_threshold 5)


def nhs_numbers(first: int) -> Iterator[str]:
    """Valid NHS numbers (modulus 11 check digit) from a 9-digit start."""
    stem = first
    while True:
        digits = [int(d) for d in f"{stem:09d}"]
        check = 11 - sum(d * (10 - i) for i, d in enumerate(digits)) % 11
        if check != 10:
            yield f"{stem:09d}{check % 11}"
        stem += 1


def address(url: str, dbname: str) -> str:
    """The hub address a PC's machine policy would give: where, never who (user and password stay the PC's)."""
    params = hub_address.parse(url)
    return f"postgresql://{params['host']}:{params['port']}/{dbname}"


def use_client(pc: Pc, client: SyncClient) -> None:
    pc.client.close()
    pc.client = client


def test_pcs_syncing_at_once_through_pgbouncer_in_transaction_pooling_converge(
    pcs: Callable[[int], list[Pc]],  # noqa: F811 - the fixture imported above
    hub_db: str,
    pgbouncer: PgBouncer,
) -> None:
    """Three PCs run rounds at the same moment, many times, through PgBouncer in transaction pooling, whose
    server connections are replaced between rounds. psycopg would prepare a query run often on one
    connection; the prepared statement stays on the server connection it was made on, and the PC's next
    transaction, on another, fails ("prepared statement _pg3_0 does not exist"; "already exists" where
    another client of the same role made one of that name). PCs prepare nothing, and every round completes."""
    dbname = hub_address.parse(hub_db)["dbname"]
    trio = pcs(3)
    for pc in trio:
        use_client(pc, SyncClient(pc.store, hub_url=address(pgbouncer.url(dbname), dbname)))
    numbers = nhs_numbers(943476500)
    nhs = [[next(numbers) for _ in range(ROUNDS)] for _ in trio]  # drawn here: a generator is not for threads
    # Before each round PgBouncer is told to close its server connections once released (RECONNECT), as
    # server_lifetime, server_idle_timeout or a failover do in production: a PC's next transaction runs
    # on a server connection it has never used.
    barrier = threading.Barrier(len(trio), action=lambda: pgbouncer.admin("RECONNECT"))
    errors: list[BaseException] = []

    def work(pc: Pc, n: int) -> None:
        try:
            for r in range(ROUNDS):
                pid = pc.session.patients.add(patient(f"Pat{n}", f"Round{r}", nhs[n][r]))
                save_draft(pc.session, pid, LAYOUT, plan(f"Sign {n}.{r}"), None)
                barrier.wait(timeout=60)  # the three rounds start together
                pc.sync()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(pc, n), daemon=True) for n, pc in enumerate(trio)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads), "a round never ended"
    assert not errors, errors
    for _ in range(2):  # the last versions of each PC reach the others
        for pc in trio:
            pc.sync()

    assert_converged(hub_db, *trio)
    assert len(trio[0].versions()) >= len(trio) * ROUNDS * 2
    # It was PgBouncer the PCs went through, in transaction pooling, with each PC's own role.
    pools = {p["user"]: p for p in pgbouncer.show("POOLS") if p["database"] == dbname}
    roles = {pc.client.connection(pc.session.require_unlocked()).info.user for pc in trio}
    assert roles <= set(pools) and {pools[r]["pool_mode"] for r in roles} == {"transaction"}
    assert all(pc.client.connection(pc.session.require_unlocked()).prepare_threshold is None for pc in trio)


def paused(replica: PgCluster, pause: bool) -> None:
    """Stop (or resume) the replica's replay of the primary's WAL: it stays up and answers, ever more behind."""
    with replica.connect() as conn:
        conn.execute("SELECT pg_wal_replay_pause()" if pause else "SELECT pg_wal_replay_resume()")
        want = "paused" if pause else "not paused"
        for _ in range(500):
            if conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] == want:
                return
            time.sleep(0.01)
    raise AssertionError(f"the replica's replay is not {want}")


def cli_sync(pc: Pc, policy: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> str:  # fmt: skip
    """`perfectcare-admin sync` on `pc`'s store with this machine policy; what it printed."""
    file = tmp_path / "policy.json"
    file.write_text(json.dumps(policy), encoding="utf-8")
    monkeypatch.setenv("PERFECTCARE_POLICY_FILE", str(file))
    monkeypatch.setattr(cli, "_SETTINGS", None)  # read the policy again
    monkeypatch.setattr(sys, "stdin", io.StringIO(ADMIN_PASSWORD + "\n"))
    capsys.readouterr()
    code = cli.main(["sync", "--data-dir", str(pc.store.data_dir), "--password-stdin", "--user", ADMIN])
    out = capsys.readouterr()
    assert code == 0, out
    return out.out


def test_a_pc_pulls_from_the_read_replica_policy_names_and_from_the_primary_when_it_is_down(
    pcs: Callable[[int], list[Pc]],  # noqa: F811 - the fixture imported above
    hub_db: str, pg_cluster: PgCluster, replica: PgCluster, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:  # fmt: skip
    dbname = hub_address.parse(hub_db)["dbname"]
    a, b = pcs(2)
    read_url = address(replica.admin_url(dbname), dbname)
    use_client(b, SyncClient(b.store, read_url=read_url))
    numbers = nhs_numbers(943476600)

    a.session.patients.add(patient("Siân", "Roberts", next(numbers)))
    a.sync()
    replica.wait_for_replay(pg_cluster)
    assert b.sync().pulled > 0
    assert_converged(hub_db, a, b)
    with replica.connect(dbname) as conn:  # b's reading connection is open, idle, on the replica
        role = b.client.connection(b.session.require_unlocked()).info.user
        on_replica = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (role,)).fetchone()[0]
    assert on_replica == 1

    # The replica stops replaying: what a pushes reaches the primary, not the replica. b's rounds, from
    # the app's client and from perfectcare-admin sync (policy hub_read_url), complete and bring nothing
    # of it: they read the replica. b's own change goes to the primary, once (anti-entropy sees it missing
    # on the replica and sends it again: a no-op there).
    paused(replica, True)
    before = a.versions()
    a.session.patients.add(patient("Wojciech", "Nowak", next(numbers)))
    a.sync()
    news = a.versions() - before
    assert news and news <= set(hub_versions(hub_db))
    b.session.patients.add(patient("Gwen", "Lloyd", next(numbers)))
    assert b.sync().pulled == 0
    printed = cli_sync(b, {"hub_read_url": read_url}, tmp_path, monkeypatch, capsys)
    assert "received 0 versions" in printed
    assert not news & b.versions()
    on_hub = hub_versions(hub_db)
    assert len(on_hub) == len(set(on_hub)) and b.versions() <= set(on_hub)
    assert status.read(b.store).waiting == 0

    # Replayed again, the replica has it all: lag cost only time.
    paused(replica, False)
    replica.wait_for_replay(pg_cluster)
    assert b.sync().pulled >= len(news)
    a.sync()
    assert_converged(hub_db, a, b)

    # The replica is down: b's connection to it is cut mid-life, and a new client cannot reach it at all.
    # Rounds read from the primary and complete.
    replica.stop()
    caplog.set_level(logging.WARNING, logger="perfectcare.sync")
    before = a.versions()
    a.session.patients.add(patient("Aled", "Jones", next(numbers)))
    a.sync()
    news = a.versions() - before
    assert b.sync().pulled >= len(news)
    assert news <= b.versions()
    b.sync()
    a.session.patients.add(patient("Ola", "Kowalska", next(numbers)))
    a.sync()
    assert one_round(b.store, b.session.require_unlocked(), None, read_url).pulled > 0
    assert_converged(hub_db, a, b)
    fallbacks = [r.getMessage() for r in caplog.records if r.name == "perfectcare.sync"]
    assert len(fallbacks) == 2, fallbacks  # the app's client once (then it waits before trying again); one_round
    assert "failed mid-round" in fallbacks[0] and "cannot be reached" in fallbacks[1]


def test_a_commit_the_replica_has_not_replayed_holds_its_pulls_back_and_hides_nothing(
    pcs: Callable[[int], list[Pc]],  # noqa: F811 - the fixture imported above
    hub_db: str,
    pg_cluster: PgCluster,
    replica: PgCluster,
) -> None:
    """docs/sync.md, A read replica: A's push is open while B's later one commits; the replica replays
    both, then stops before A's commit. On the replica A's transaction is still running, so C, reading
    there, is held below it: B's rows wait too (they are after A's in commit order), and nothing is
    passed over. Replayed, everything arrives."""
    dbname = hub_address.parse(hub_db)["dbname"]
    a, b, c = pcs(3)
    use_client(c, SyncClient(c.store, read_url=address(replica.admin_url(dbname), dbname)))
    numbers = nhs_numbers(943476700)
    for pc in (a, b, c):
        pc.sync()
    a.session.patients.add(patient("Siân", "Roberts", next(numbers)))
    with a.store.reading() as conn:
        config = device.load(conn, a.session.require_unlocked())
    slow = hub_address.connect(config.params(a.store.data_dir))  # A's push, held open on the primary
    batch = push.next_batch(a.store, a.session.require_unlocked(), config.device_id)
    assert batch is not None and batch.rows["version"]
    push.insert(slow, batch.rows)
    b.session.patients.add(patient("Wojciech", "Nowak", next(numbers)))
    b.sync()
    replica.wait_for_replay(pg_cluster)  # the replica has A's rows (uncommitted) and B's commit
    paused(replica, True)
    slow.commit()  # committed on the primary, not on the replica
    push.sent(a.store, batch.oids)
    slow.close()

    assert c.sync().pulled == 0  # B's rows are behind A's transaction, still running on the replica
    assert not c.versions() & (set(hub_versions(hub_db)) - b.versions())

    paused(replica, False)
    replica.wait_for_replay(pg_cluster)
    c.sync()
    a.sync()
    b.sync()
    assert_converged(hub_db, a, b, c)


def test_cancel_ends_a_round_waiting_on_the_replica_at_once_and_keeps_the_replica(
    pcs: Callable[[int], list[Pc]],  # noqa: F811 - the fixture imported above
    hub_db: str,
    pg_cluster: PgCluster,
    replica: PgCluster,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Locking the app cancels the round in flight (SyncClient.cancel): a pull waiting on the replica
    ends too, and that is not taken for a failure of the replica, which the next round reads again."""
    dbname = hub_address.parse(hub_db)["dbname"]
    a, b = pcs(2)
    use_client(b, SyncClient(b.store, read_url=address(replica.admin_url(dbname), dbname)))
    b.sync()
    role = b.client.connection(b.session.require_unlocked()).info.user
    caplog.set_level(logging.WARNING, logger="perfectcare.sync")
    dba = psycopg.connect(pg_cluster.admin_url(dbname))
    dba.execute("LOCK TABLE versions IN ACCESS EXCLUSIVE MODE")  # a DBA's lock: standbys replay it too
    try:
        replica.wait_for_replay(pg_cluster)
        box: dict[str, BaseException] = {}

        def run() -> None:
            try:
                b.client.round(b.session.require_unlocked())
            except BaseException as exc:  # noqa: BLE001 - asserted below
                box["error"] = exc

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        with replica.connect(dbname) as conn:  # wait until b's pull waits for the lock, on the replica
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND wait_event_type = 'Lock'"
            for _ in range(500):
                if conn.execute(waiting, (role,)).fetchone()[0]:
                    break
                time.sleep(0.01)
            else:
                raise AssertionError("b's pull never waited on the replica")
        b.client.cancel()
        thread.join(5)  # well inside the hub's lock_timeout (10 s): the cancel ended it
        assert not thread.is_alive()
        assert isinstance(box.get("error"), HubUnreachable), box
    finally:
        dba.rollback()
        dba.close()
    assert not [r for r in caplog.records if r.name == "perfectcare.sync"]  # the replica was not given up
    a.session.patients.add(patient("Siân", "Roberts", "9434765919"))
    a.sync()
    replica.wait_for_replay(pg_cluster)
    assert b.sync().pulled > 0
    with replica.connect(dbname) as conn:
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (role,)).fetchone()[0] == 1
    assert_converged(hub_db, a, b)
