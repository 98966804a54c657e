"""Faults on the way to the hub: the hub stopped or killed mid-push, this PC's process killed during
push and during pull (again and again), and TLS rules. After each, rounds end converged: every
version once on the hub and on every PC, none lost, none doubled, every store verifying clean."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from sync_support import Pc, first_pc, hub_versions, join, patient

from perfectcare_desktop.core.demo.demo_data import add_demo_data
from perfectcare_desktop.core.storage.verify import verify_store
from perfectcare_desktop.errors import HubUnreachable, InvalidInput
from perfectcare_desktop.sync import hub_address, status

CHILD = Path(__file__).with_name("sync_child.py")
NHS = ["9434765919", "9434765870"]


def assert_converged(hub_url: str, *pcs: Pc) -> None:
    on_hub = hub_versions(hub_url)
    assert len(on_hub) == len(set(on_hub)), "a version is on the hub twice"
    for pc in pcs:
        assert pc.versions() == set(on_hub)
        assert status.read(pc.store).waiting == 0
        assert verify_store(pc.session).problems == []


@pytest.fixture
def private_hub(private_pg_cluster):
    return private_pg_cluster, private_pg_cluster.create_database("hub")


def test_hub_stopped_queues_work_that_drains_after_restart(private_hub, tmp_path: Path) -> None:
    cluster, url = private_hub
    a = first_pc(tmp_path / "a", url)
    b = join(a.session, url, tmp_path / "b")
    cluster.stop()
    pid = a.session.patients.add(patient("Gwen", "Lloyd", NHS[0]))
    with pytest.raises(HubUnreachable, match="wait here for the next try"):
        a.sync()
    waiting = status.read(a.store).waiting
    assert waiting >= 2  # the patient's version and its audit entry at least
    with pytest.raises(HubUnreachable):
        a.sync()  # and again: nothing is lost or doubled by failing rounds
    assert status.read(a.store).waiting == waiting
    cluster.start()
    assert a.sync().pushed == waiting
    b.sync()
    b.session.patients.reload()
    assert pid in {p.record_id for p in b.session.patients.all()}
    a.sync()
    assert_converged(url, a, b)
    a.close()
    b.close()


def test_hub_killed_mid_push_loses_and_doubles_nothing(private_hub, tmp_path: Path) -> None:
    cluster, url = private_hub
    a = first_pc(tmp_path / "a", url)
    b = join(a.session, url, tmp_path / "b")
    add_demo_data(a.session, 600, seed=3)  # 3,000 versions and their audit entries to push
    total = len(a.versions())
    seen: list[int] = []

    def kill_when_half_way() -> None:
        with psycopg.connect(url, autocommit=True) as watch:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                n = watch.execute("SELECT count(*) FROM versions").fetchone()[0]
                if n > 300:
                    break
                time.sleep(0.005)
        cluster.kill()

    killer = threading.Thread(target=kill_when_half_way)
    killer.start()
    with pytest.raises(HubUnreachable):
        a.sync()
    killer.join()
    cluster.start()
    seen.append(len(hub_versions(url)))
    assert 0 < seen[0] < total  # the kill did land mid-push
    a.sync()
    b.sync()
    a.sync()
    assert_converged(url, a, b)
    a.close()
    b.close()


def _kill_loop(folder: Path, mode: str, kills_wanted: int, refill) -> int:  # noqa: ANN001 - a callable
    """Start the child on `folder`, kill it at a random moment once it is working; repeat until it has
    been killed mid-work `kills_wanted` times. Returns how many runs it took."""
    rng = random.Random(7)
    kills = runs = 0
    while kills < kills_wanted:
        runs += 1
        assert runs < kills_wanted * 4, "the child finishes before it can be killed: give it more to do"
        child = subprocess.Popen([sys.executable, str(CHILD), str(folder), mode], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.25))
        child.send_signal(signal.SIGKILL)
        rest = child.stdout.read()
        child.wait()
        if "done" in rest:
            refill()  # it finished before the kill: more work for the next run
        else:
            kills += 1
    return runs


@pytest.mark.slow
def test_killed_again_and_again_during_push_then_pull(pg_cluster, tmp_path: Path) -> None:
    url = pg_cluster.create_database("hub_kill_loop")
    a = first_pc(tmp_path / "a", url)
    b = join(a.session, url, tmp_path / "b")
    seed = iter(range(100, 1000))
    add_demo_data(a.session, 400, seed=1)  # 2,000 versions waiting on A

    def more_on_a() -> None:
        add_demo_data(a.session, 100, seed=next(seed))

    push_runs = _kill_loop(a.store.data_dir, "push", 20, more_on_a)
    a.sync()  # what is left
    assert push_runs >= 20
    assert a.versions() == set(hub_versions(url))

    def more_for_b() -> None:
        more_on_a()
        a.sync()

    pull_runs = _kill_loop(b.store.data_dir, "pull", 20, more_for_b)
    b.sync()
    a.sync()
    assert pull_runs >= 20
    assert_converged(url, a, b)
    a.close()
    b.close()
    pg_cluster.drop_database("hub_kill_loop")


def test_tls_is_required_to_any_other_machine() -> None:
    params = hub_address.secured(hub_address.parse("postgresql://hub.trust.nhs.uk/perfectcare"))
    assert params["sslmode"] == "verify-full"
    for weak in ("disable", "allow", "prefer", "require", "verify-ca"):
        with pytest.raises(InvalidInput, match="verify-full"):
            hub_address.secured(hub_address.parse(f"postgresql://hub.trust.nhs.uk/perfectcare?sslmode={weak}"))
    local = hub_address.secured(hub_address.parse("postgresql://127.0.0.1:5432/perfectcare"))
    assert "sslmode" not in local  # this machine: no network to protect
    with pytest.raises(InvalidInput, match="not a PostgreSQL address"):
        hub_address.parse("http://hub.example/")
    with pytest.raises(InvalidInput, match="name its database"):
        hub_address.parse("postgresql://hub.trust.nhs.uk")
