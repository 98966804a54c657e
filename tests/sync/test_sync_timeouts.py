"""A hub that stops answering mid-round: the round ends with HubUnreachable instead of hanging, from
the client's deadline or from SyncClient.cancel on another thread, and nothing queued is lost. The hub
is the test PostgreSQL behind a proxy that turns into a black hole (tests/hub_proxy.py): connections
stay open, bytes stop. Deadlines are shortened so each test takes seconds."""

from __future__ import annotations

import io
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_proxy import HubProxy
from sync_support import Pc, first_pc, hub_versions, join, patient
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop import cli
from perfectcare_desktop.errors import HubUnreachable
from perfectcare_desktop.sync import hub_address, hub_connection, status
from perfectcare_desktop.sync.client import SyncClient

ENDED_WITHIN_SECONDS = 60  # only to be sure the round ended: the assertions are about how it ended
PUSHING = b"INSERT INTO versions"  # the first bytes of push's batch: the round is under way
NHS = ["9434765919", "9434765870"]


@pytest.fixture
def proxy(pg_cluster) -> Iterator[HubProxy]:
    p = HubProxy(pg_cluster.port)
    yield p
    p.close()  # also frees a round the test found hanging


@pytest.fixture
def short_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_connection, "STATEMENT_DEADLINE_SECONDS", 2.0)
    monkeypatch.setattr(hub_connection, "CANCEL_TIMEOUT_SECONDS", 0.5)


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test to assert on
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def ended(thread: threading.Thread, started: float) -> None:
    thread.join(ENDED_WITHIN_SECONDS - (time.monotonic() - started))
    assert not thread.is_alive(), f"still waiting for the hub after {ENDED_WITHIN_SECONDS} s"


def through(proxy: HubProxy, pc: Pc, hub_url: str) -> SyncClient:
    """A client for `pc` whose hub address (machine policy's override) is the proxy."""
    return SyncClient(pc.store, proxy.url(hub_address.parse(hub_url)["dbname"]))


def test_the_hub_is_reached_with_keepalives_a_user_timeout_and_no_prepared_statements(
    hub_db: str, tmp_path: Path
) -> None:
    params = hub_address.secured(hub_address.parse("postgresql://hub.trust.nhs.uk/perfectcare"))
    assert params["keepalives"] == "1"
    idle, interval, count = (int(params[k]) for k in ("keepalives_idle", "keepalives_interval", "keepalives_count"))
    assert idle + interval * count < 60  # a dead link is noticed well within a minute
    assert int(params["tcp_user_timeout"]) == (idle + interval * count) * 1000
    assert params["connect_timeout"] == str(hub_address.CONNECT_TIMEOUT_SECONDS)
    a = first_pc(tmp_path / "a", hub_db)
    hub = a.client.connection(a.session.require_unlocked())
    assert hub.prepare_threshold is None  # PgBouncer in transaction pooling keeps no prepared statements
    assert hub.info.get_parameters()["keepalives"] == "1" and hub.info.get_parameters()["tcp_user_timeout"]
    a.close()


def test_a_hub_that_stops_answering_mid_push_ends_the_round_and_loses_nothing(
    hub_db: str, tmp_path: Path, proxy: HubProxy, short_deadlines: None
) -> None:
    a = first_pc(tmp_path / "a", hub_db)
    pid = a.session.patients.add(patient("Gwen", "Lloyd", NHS[0]))
    waiting = status.read(a.store).waiting
    client = through(proxy, a, hub_db)
    proxy.black_hole(when_sent=PUSHING)
    started = time.monotonic()
    thread, box = in_thread(lambda: client.round(a.session.require_unlocked()))
    ended(thread, started)
    assert isinstance(box.get("error"), HubUnreachable), box
    assert "lost" in str(box["error"]) and "wait here" in str(box["error"])
    assert proxy.swallowed > 0  # the hub went silent mid-round, not before it
    assert status.read(a.store).waiting == waiting  # nothing sent is forgotten here
    client.close()

    proxy.forward()  # the hub answers again: the next round sends everything, once
    assert through(proxy, a, hub_db).round(a.session.require_unlocked()).pushed == waiting
    b = join(a.session, hub_db, tmp_path / "b")
    b.sync()
    b.session.patients.reload()
    assert pid in {p.record_id for p in b.session.patients.all()}
    on_hub = hub_versions(hub_db)
    assert len(on_hub) == len(set(on_hub)) and a.versions() == set(on_hub) == b.versions()
    a.close()
    b.close()


def test_cancel_from_another_thread_ends_a_round_stuck_on_a_silent_hub(
    hub_db: str, tmp_path: Path, proxy: HubProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deadline is far off: only cancel (the app's lock) can end this round soon."""
    monkeypatch.setattr(hub_connection, "CANCEL_TIMEOUT_SECONDS", 0.5)
    a = first_pc(tmp_path / "a", hub_db)
    a.session.patients.add(patient("Gwen", "Lloyd", NHS[0]))
    waiting = status.read(a.store).waiting
    client = through(proxy, a, hub_db)
    proxy.black_hole(when_sent=PUSHING)
    started = time.monotonic()
    thread, box = in_thread(lambda: client.round(a.session.require_unlocked()))
    deadline = time.monotonic() + 30
    while proxy.swallowed == 0 and time.monotonic() < deadline:  # the round is now waiting on the hub
        time.sleep(0.02)
    assert proxy.swallowed > 0 and thread.is_alive()
    client.cancel()
    ended(thread, started)
    assert isinstance(box.get("error"), HubUnreachable), box
    assert status.read(a.store).waiting == waiting
    client.close()
    a.sync()  # straight to the hub: everything goes, once
    assert status.read(a.store).waiting == 0 and a.versions() == set(hub_versions(hub_db))
    a.close()


def test_a_hub_that_stops_answering_mid_pull_ends_the_round_and_the_next_pulls_everything(
    hub_db: str, tmp_path: Path, proxy: HubProxy, short_deadlines: None
) -> None:
    a = first_pc(tmp_path / "a", hub_db)
    b = join(a.session, hub_db, tmp_path / "b")
    for nhs, given in zip(NHS, ("Gwen", "Rhys"), strict=True):
        a.session.patients.add(patient(given, "Lloyd", nhs))
    a.sync()
    client = through(proxy, b, hub_db)
    proxy.black_hole(when_sent=b"FROM versions")  # pull's first read
    started = time.monotonic()
    thread, box = in_thread(lambda: client.round(b.session.require_unlocked()))
    ended(thread, started)
    assert isinstance(box.get("error"), HubUnreachable), box
    assert proxy.swallowed > 0
    client.close()
    proxy.forward()
    through(proxy, b, hub_db).round(b.session.require_unlocked())
    assert b.versions() == a.versions() == set(hub_versions(hub_db))
    a.close()
    b.close()


def test_perfectcare_admin_sync_on_a_silent_hub_exits_1_saying_so(
    hub_db: str,
    tmp_path: Path,
    proxy: HubProxy,
    short_deadlines: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a = first_pc(tmp_path / "a", hub_db)
    a.session.patients.add(patient("Gwen", "Lloyd", NHS[0]))
    waiting = status.read(a.store).waiting
    policy = tmp_path / "policy.json"  # machine policy moves the hub: to the proxy
    policy.write_text(json.dumps({"hub_url": proxy.url(hub_address.parse(hub_db)["dbname"])}), encoding="utf-8")
    monkeypatch.setenv("PERFECTCARE_POLICY_FILE", str(policy))
    monkeypatch.setattr(cli, "_SETTINGS", None)
    monkeypatch.setattr(sys, "stdin", io.StringIO(ADMIN_PASSWORD + "\n"))
    proxy.black_hole(when_sent=PUSHING)
    argv = ["sync", "--data-dir", str(a.store.data_dir), "--password-stdin", "--user", ADMIN]
    started = time.monotonic()
    thread, box = in_thread(lambda: cli.main(argv))
    ended(thread, started)
    assert box.get("value") == 1, box
    assert "connection to the hub was lost" in capsys.readouterr().err
    assert proxy.swallowed > 0 and status.read(a.store).waiting > waiting  # and the command's own sign-in
    a.close()
