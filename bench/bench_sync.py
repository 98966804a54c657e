"""Sync benchmarks against the targets: push and pull of 10,000 versions, two COPY baselines (text write_row,
pre-encoded binary), idle rounds, and anti-entropy on a PC holding 50,000 versions.

Prints figures and a table of targets; never asserts a time. Runs against a throwaway PostgreSQL
cluster on 127.0.0.1 (tests/pg_cluster.py), made for the run and destroyed at the end, or against the
cluster PERFECTCARE_TEST_PGDATA/_PGPORT/_PGPASSWORD name (databases of its own, dropped at the end).

    .venv/bin/python bench/bench_sync.py                    # the default: 3-4 minutes on 2 busy cores
    .venv/bin/python bench/bench_sync.py --versions 1000 --anti-entropy-versions 5000   # a quick look, ~1 min
    .venv/bin/python bench/bench_sync.py --anti-entropy-versions 0    # parts 1-4 only (10,000 versions), ~1 min
    .venv/bin/python bench/bench_sync.py --profile          # also cProfile the measured rounds and heals (stderr)

Of the default run's 3-4 minutes (173 s and 226 s measured with load averages of 3-6 on 2 cores), 2-3 build
the 50,000-version PC for part 5 (demo data 1.5-2.3 min, its push round 30-40 s); parts 1-4 take about 1 minute.
See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # pg_cluster.py

import psycopg  # noqa: E402
from bench_store import (  # noqa: E402
    Row,
    filesystem_of,
    ms,
    percentile,
    print_table,
    profiled,
    section,
    spread,
    verdict,
)
from pg_cluster import PgCluster  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.demo.demo_data import add_demo_data, patient_details  # noqa: E402
from perfectcare_desktop.core.demo.demo_text import demo_people  # noqa: E402
from perfectcare_desktop.core.storage.store import Store  # noqa: E402
from perfectcare_desktop.crypto.kdf import FAST_KDF_ENV  # noqa: E402
from perfectcare_desktop.store.models import Outbox, Version  # noqa: E402
from perfectcare_desktop.sync import anti_entropy, device, enrolment, hub_address, hub_admin, status  # noqa: E402
from perfectcare_desktop.sync import client as sync_client  # noqa: E402
from perfectcare_desktop.sync.anti_entropy import Healed  # noqa: E402
from perfectcare_desktop.sync.client import SyncClient  # noqa: E402
from perfectcare_desktop.sync.pull import PullResult  # noqa: E402
from perfectcare_desktop.sync.pull import pull as pull_only  # noqa: E402
from perfectcare_desktop.sync.push import push as push_only  # noqa: E402

HEAL = anti_entropy.heal  # untimed: RoundParts replaces the module's name with a timed one

ORG = "Bench Trust"
ADMIN = "admin1"
PASSWORD = "correct horse battery"
PASSPHRASE = "bench enrolment passphrase"
VERSIONS_PER_PATIENT = 5  # core.demo_data: a details version and a plan of four
DEFAULT_VERSIONS = 10_000
IDLE_ROUNDS = 50
FRESH_ROUNDS = 20
COPY_PIECE = 1 << 20  # bytes a write in the binary COPY baseline
DEFAULT_AE_VERSIONS = 50_000
AE_RUNS = 30  # heals with nothing to mend, on a PC holding --anti-entropy-versions
AE_ROUNDS = 20  # idle rounds on that PC

# Targets (from the sync performance issue).
PUSH_S = 20.0
PULL_S = 20.0
IDLE_MS = 100.0
AE_MS = 200.0  # an anti-entropy round at 50,000 versions

# The columns a PC inserts into the hub's versions table (sync/hub_admin.py), in push's order.
VERSION_COLUMNS = (
    "version_id, record_id, record_kind, patient_id, record_created_at, record_created_by, record_mac, kind, "
    "author_id, created_at, signed, status, review_due, followup_due, parents, payload"
)


# --- measuring inside SyncClient.round --------------------------------------------------------------
def tcp_bytes(conn: Any) -> tuple[int, int] | None:
    """(sent, received) bytes so far on a psycopg connection's TCP socket: Linux TCP_INFO's
    tcpi_bytes_acked and tcpi_bytes_received (offsets 120 and 128). None where that is not available."""
    if not hasattr(socket, "TCP_INFO"):
        return None
    try:
        with socket.fromfd(conn.fileno(), socket.AF_INET, socket.SOCK_STREAM) as sock:  # a dup: ours to close
            info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 192)
    except (OSError, psycopg.Error):
        return None
    if len(info) < 136:
        return None
    acked, received = struct.unpack_from("<QQ", info, 120)
    return acked, received


class RoundParts:
    """Times the push, pull, anti-entropy (heal) and status.read calls inside every SyncClient.round, and
    counts the bytes push and pull send and receive on the hub connection. It wraps the names
    sync/client.py calls, in this process only: the library is not changed. What is left of a round is
    connecting (when there is no connection yet), the hub clock check and the last-synced write."""

    WIRE = ("push", "pull")
    PARTS = (*WIRE, "heal", "status")

    def __init__(self) -> None:
        self.reset()
        for name in self.WIRE:
            setattr(sync_client, name, self._wrap_wire(name, getattr(sync_client, name)))
        healing = anti_entropy.heal

        def timed_heal(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return healing(*args, **kwargs)
            finally:
                self.seconds["heal"] += time.perf_counter() - start

        anti_entropy.heal = timed_heal  # client.py calls it as anti_entropy.heal; section 5 calls HEAL
        original = status.read

        def timed_status(store: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(store)
            finally:
                self.seconds["status"] += time.perf_counter() - start

        status.read = timed_status  # client.py calls it as status.read

    def reset(self) -> None:
        self.seconds = dict.fromkeys(self.PARTS, 0.0)
        self.sent = dict.fromkeys(self.WIRE, 0)
        self.received = dict.fromkeys(self.WIRE, 0)
        self.wire = True

    def _wrap_wire(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(store: Any, dek: Any, hub: Any, *args: Any, **kwargs: Any) -> Any:
            before = tcp_bytes(hub)
            start = time.perf_counter()
            try:
                return original(store, dek, hub, *args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                after = tcp_bytes(hub)
                if before is None or after is None:
                    self.wire = False
                else:
                    self.sent[name] += after[0] - before[0]
                    self.received[name] += after[1] - before[1]

        return timed

    def rest(self, total_s: float) -> float:
        return total_s - sum(self.seconds.values())

    def describe(self, total_s: float) -> str:
        text = ", ".join(f"{n} {self.seconds[n]:.2f} s" for n in self.PARTS)
        return f"{text}, rest {self.rest(total_s):.2f} s (connect, clock check, last-synced write)"

    def bytes_line(self) -> str:
        if not self.wire:
            return "wire bytes not available here (no TCP_INFO)"
        return "; ".join(f"{n}: sent {mib(self.sent[n])}, received {mib(self.received[n])}" for n in self.WIRE)


def mib(n: float) -> str:
    return f"{n / 1048576:.2f} MiB"


def timed_round(client: SyncClient, dek: Any, parts: RoundParts) -> tuple[float, Any]:
    parts.reset()
    start = time.perf_counter()
    report = client.round(dek)
    return time.perf_counter() - start, report


def outbox_counts(store: Store) -> dict[str, int]:
    with store.reading() as conn:
        rows = conn.execute(
            select(Outbox.item, func.count()).where(Outbox.parked_at.is_(None)).group_by(Outbox.item)
        ).all()
    return {item: count for item, count in rows}


def hub_counts(admin: psycopg.Connection) -> dict[str, int]:
    return {t: admin.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("versions", "users", "audit")}  # noqa: S608


def counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{v:,} {k}" for k, v in sorted(counts.items())) or "nothing"


# --- the cluster ------------------------------------------------------------------------------------
@contextmanager
def hub_cluster() -> Iterator[PgCluster]:
    """A fresh cluster on 127.0.0.1, destroyed afterwards whatever happens, or the running one the
    PERFECTCARE_TEST_PG* variables name (left running)."""
    attached = PgCluster.from_env()
    if attached is not None:
        print(f"   attached to the cluster PERFECTCARE_TEST_PG* name ({attached!r})")
        yield attached
        return
    root = Path(tempfile.mkdtemp(prefix="perfectcare-bench-pg-"))  # under TMPDIR: the postgres user can reach it
    start = time.perf_counter()
    try:
        cluster = PgCluster.create(root)
    except BaseException:
        PgCluster(root / "data", 0, "", made_root=True).destroy()
        raise
    print(f"   fresh cluster on 127.0.0.1:{cluster.port} in {time.perf_counter() - start:.1f} s ({root})")
    try:
        yield cluster
    finally:
        cluster.destroy()


def server_facts(cluster: PgCluster) -> str:
    with cluster.connect() as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers")
        }
    return f"PostgreSQL {version}: " + ", ".join(f"{k}={v}" for k, v in settings.items())


# --- setup: PC A makes the hub, PC B joins while it is nearly empty ----------------------------------
class Pc:
    """One PC: its store, signed-in session and sync client (connection kept between rounds)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.session = Session.sign_in(store, ADMIN, PASSWORD)
        self.client = SyncClient(store)

    def close(self) -> None:
        self.client.close()
        self.session.lock()
        self.store.close()


def setup(url: str, base: Path, parts: RoundParts) -> tuple[Pc, Pc]:
    section("Setup: PC A makes the hub; PC B joins it while the hub is nearly empty")
    store_a, _recovery = Store.create(base / "a", ORG, ADMIN, PASSWORD)
    a = Pc(store_a)
    print(f"   A's outbox after Store.create and login: {counts_text(outbox_counts(a.store))}")
    enrolment.init_hub(a.session, url, "bench PC A")
    timed_round(a.client, a.session.require_unlocked(), parts)  # A's account and trail, if init_hub left any queued
    enrolment.export_file(a.session, url, base / "b.enrol", PASSPHRASE, "bench PC B")
    start = time.perf_counter()
    enrolment.import_file(base / "b.enrol", PASSPHRASE, base / "b")
    print(f"   B joined (import_file with the hub nearly empty) in {time.perf_counter() - start:.2f} s")
    b = Pc(Store.open(base / "b"))  # A's admin account reached B through the hub
    timed_round(b.client, b.session.require_unlocked(), parts)  # B's own entries reach the hub before A's push
    timed_round(a.client, a.session.require_unlocked(), parts)
    a.client.close()
    return a, b


# --- 1. push ----------------------------------------------------------------------------------------
def bench_push(a: Pc, hub: psycopg.Connection, wanted: int, parts: RoundParts, profile: bool) -> dict[str, Any]:
    patients = max(1, -(-wanted // VERSIONS_PER_PATIENT))
    section(f"1. Push: {patients:,} demo patients added on A (core.demo_data), then SyncClient(A).round")
    print(f"   the hub before: {counts_text(hub_counts(hub))}")
    start = time.perf_counter()
    add_demo_data(a.session, patients, seed=1)
    print(f"   demo data added in {time.perf_counter() - start:.1f} s (no target)")
    queued = outbox_counts(a.store)
    print(f"   A's outbox before the push: {counts_text(queued)}")
    before = hub_counts(hub)
    a.client = SyncClient(a.store)  # a new client, as at start-up: connect and SCRAM are in the round
    with profiled(profile, "push round (SyncClient.round on A)", sort="cumulative", limit=40):
        took, report = timed_round(a.client, a.session.require_unlocked(), parts)
    after = hub_counts(hub)
    versions = after["versions"] - before["versions"]
    total, mean = hub.execute("SELECT sum(octet_length(payload)), avg(octet_length(payload)) FROM versions").fetchone()
    table = hub.execute("SELECT pg_total_relation_size('versions')").fetchone()[0]
    print(f"   round: {took:.2f} s, {report.pushed:,} queue items pushed, {versions / took:,.0f} versions/s")
    print(f"   parts: {parts.describe(took)}")
    print(f"   rows added on the hub: {counts_text({t: after[t] - before[t] for t in after})}")
    print(f"   ciphertext {mib(total)} (mean {mean:.0f} bytes a version); hub versions table with indexes {mib(table)}")
    print(f"   on the wire: {parts.bytes_line()}")
    print("   (the pull in this round reads A's own versions back from the hub and skips them: they are here)")
    return {
        "s": took,
        "versions": versions,
        "push_s": parts.seconds["push"],
        "pull_s": parts.seconds["pull"],
        "sent": parts.sent["push"] if parts.wire else None,
        "received": sum(parts.received.values()) if parts.wire else None,
    }


# --- 2. pull ----------------------------------------------------------------------------------------
def bench_pull(b: Pc, versions: int, parts: RoundParts, profile: bool) -> dict[str, Any]:
    section(f"2. Pull: B's round after A's push, a pure pull of {versions:,} versions")
    with profiled(profile, "pull round (SyncClient.round on B)", sort="cumulative", limit=40):
        took, report = timed_round(b.client, b.session.require_unlocked(), parts)
    print(
        f"   round: {took:.2f} s, {report.pulled:,} versions pulled, {report.accounts} account changes, "
        f"{len(report.rejected)} rejected, {report.pulled / took:,.0f} versions/s"
    )
    print(f"   parts: {parts.describe(took)}")
    print(f"   on the wire: {parts.bytes_line()}")
    return {"s": took, "versions": report.pulled, "received": parts.received["pull"] if parts.wire else None}


def bench_join(a: Pc, url: str, base: Path, parts: RoundParts) -> dict[str, Any]:
    enrolment.export_file(a.session, url, base / "c.enrol", PASSPHRASE, "bench PC C")
    parts.reset()
    start = time.perf_counter()
    enrolment.import_file(base / "c.enrol", PASSPHRASE, base / "c")
    took = time.perf_counter() - start
    pull_s, push_s = parts.seconds["pull"], parts.seconds["push"]
    print(
        f"   PC C joins now (enrolment.import_file, whose first round pulls everything): {took:.2f} s; in its "
        f"round pull {pull_s:.2f} s, push {push_s:.2f} s; the rest {took - pull_s - push_s:.2f} s (read the file, "
        "reach the hub, create the store, claim)"
    )
    return {"s": took, "pull_s": pull_s}


# --- 3. the COPY baselines ------------------------------------------------------------------------
def fresh_hub_database(cluster: PgCluster, dbname: str) -> str:
    """A new database made by the hub migration: a versions table of the hub's shape, keys and indexes."""
    url = cluster.create_database(dbname)
    hub_admin.upgrade_schema(hub_address.parse(url))
    return url


def copy_baseline(cluster: PgCluster, hub: psycopg.Connection, text_db: str, binary_db: str) -> dict[str, Any]:
    """The hub's versions rows (the pushed columns, the same ciphertext) COPYed into the versions table of a
    fresh database made by the same hub migration, twice: as psycopg's write_row (text COPY, each row
    encoded during the timed copy), and as pre-encoded binary COPY (the bytes read from the hub before
    the clock starts: only the server's parsing, index updates and commit are timed)."""
    section("3. Baselines: the same rows with a plain COPY into a table of the same shape")
    rows = hub.execute(f"SELECT {VERSION_COLUMNS} FROM versions ORDER BY seq").fetchall()  # noqa: S608
    url = fresh_hub_database(cluster, text_db)
    with psycopg.connect(url) as conn:
        start = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY versions ({VERSION_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        copy_in = time.perf_counter() - start
        copied = conn.execute("SELECT count(*) FROM versions").fetchone()[0]
        start = time.perf_counter()
        raw = 0
        with conn.cursor() as cur, cur.copy("COPY (SELECT * FROM versions ORDER BY seq) TO STDOUT") as copy:
            for block in copy:
                raw += len(block)
        conn.commit()
        copy_out = time.perf_counter() - start
    print(
        f"   text: COPY FROM STDIN (cursor.copy, write_row) of {copied:,} rows, the {VERSION_COLUMNS.count(',') + 1} "
        f"pushed columns with the same ciphertext, into a fresh database made by the hub migration, committed: "
        f"{copy_in:.2f} s ({copied / copy_in:,.0f} rows/s)"
    )
    print(f"   for comparison, COPY TO STDOUT of those rows, raw text ({mib(raw)}): {copy_out:.2f} s")

    # The stricter one: binary COPY of bytes encoded beforehand, written in 1 MiB pieces.
    start = time.perf_counter()
    query = f"COPY (SELECT {VERSION_COLUMNS} FROM versions ORDER BY seq) TO STDOUT (FORMAT BINARY)"  # noqa: S608
    with hub.cursor() as cur, cur.copy(query) as copy:
        data = b"".join(bytes(block) for block in copy)
    read_s = time.perf_counter() - start
    url = fresh_hub_database(cluster, binary_db)
    view = memoryview(data)
    with psycopg.connect(url) as conn:
        start = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY versions ({VERSION_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            for at in range(0, len(view), COPY_PIECE):
                copy.write(view[at : at + COPY_PIECE])
        conn.commit()
        binary_in = time.perf_counter() - start
        copied_binary = conn.execute("SELECT count(*) FROM versions").fetchone()[0]
    print(
        f"   binary: the same rows read from the hub as COPY (FORMAT BINARY) into memory first ({mib(len(data))}, "
        f"{read_s:.2f} s, not timed), then COPY FROM STDIN (FORMAT BINARY) of those bytes into another fresh "
        f"database, committed: {binary_in:.2f} s ({copied_binary / binary_in:,.0f} rows/s)"
    )
    return {"rows": copied, "s": copy_in, "binary_rows": copied_binary, "binary_s": binary_in}


# --- 4. idle rounds ---------------------------------------------------------------------------------
def bench_idle(a: Pc, versions: int, parts: RoundParts, profile: bool) -> dict[str, list[float]]:
    section(f"4. Idle rounds on A (holding {versions:,} versions): nothing to push or pull")
    _, report = timed_round(
        a.client, a.session.require_unlocked(), parts
    )  # what the joins queued on A (export_file's audit)
    print(f"   settling round first: pushed {report.pushed}, pulled {report.pulled}")
    kept: list[float] = []
    split: dict[str, list[float]] = {name: [] for name in (*RoundParts.PARTS, "rest")}
    with profiled(profile, f"{IDLE_ROUNDS} idle rounds, connection kept", sort="cumulative", limit=40):
        for _ in range(IDLE_ROUNDS):
            took, report = timed_round(a.client, a.session.require_unlocked(), parts)
            if report.pushed or report.pulled:
                raise SystemExit(f"an idle round had work to do: {report}")
            kept.append(ms(took))
            for name in RoundParts.PARTS:
                split[name].append(ms(parts.seconds[name]))
            split["rest"].append(ms(parts.rest(took)))
    print(f"   {IDLE_ROUNDS} rounds, connection kept: {spread(kept)}")
    medians = ", ".join(f"{name} {statistics.median(values):.2f}" for name, values in split.items())
    print(f"     medians (ms): {medians} (heal: anti-entropy; status: sync.status.read; rest: the last-synced write)")
    a.client.close()
    fresh = []
    for _ in range(FRESH_ROUNDS):
        client = SyncClient(a.store)
        took, _ = timed_round(client, a.session.require_unlocked(), parts)
        client.close()
        fresh.append(ms(took))
    print(f"   {FRESH_ROUNDS} rounds, each with a new SyncClient (connect + SCRAM): {spread(fresh)}")
    return {"kept": kept, "fresh": fresh, "status": split["status"], "heal": split["heal"]}


# --- 5. anti-entropy on a PC holding --anti-entropy-versions ------------------------------------------
class TimedHub:
    """A PC's hub connection that adds up the time spent in execute() and commit() (a round trip and the
    hub's work each: the hub side of a heal). Everything else is passed through untouched."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.seconds = 0.0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._conn.execute(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start

    def commit(self) -> None:
        start = time.perf_counter()
        try:
            self._conn.commit()
        finally:
            self.seconds += time.perf_counter() - start

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def device_id_of(pc: Pc) -> str:
    with pc.store.reading() as conn:
        return device.load(conn, pc.session.require_unlocked()).device_id


def timed_heal(pc: Pc, device_id: str) -> tuple[float, float, Any]:
    """One anti_entropy.heal on the PC's own hub connection, as a round calls it after its pull: (seconds,
    seconds of it waiting on the hub, what was healed)."""
    hub = TimedHub(pc.client.connection(pc.session.require_unlocked()))
    start = time.perf_counter()
    healed = HEAL(pc.store, pc.session.require_unlocked(), hub, device_id, PullResult())
    return time.perf_counter() - start, hub.seconds, healed


def plan_nodes(node: dict[str, Any]) -> str:
    """An EXPLAIN (FORMAT JSON) plan as its node types, outermost first: 'Aggregate (Hashed) < Seq Scan'."""
    kinds = []
    while True:
        kinds.append(node["Node Type"] + (f" ({node['Strategy']})" if "Strategy" in node else ""))
        if not node.get("Plans"):
            return " < ".join(kinds)
        node = node["Plans"][0]


def hub_top(owner: psycopg.Connection) -> tuple[int, int]:
    xid, seq = owner.execute("SELECT xid::text, seq FROM versions ORDER BY xid DESC, seq DESC LIMIT 1").fetchone()
    return int(xid), seq


def local_versions(pc: Pc) -> int:
    with pc.store.reading() as conn:
        return conn.execute(select(func.count()).select_from(Version)).scalar_one()


def bench_anti_entropy(url: str, base: Path, wanted: int, parts: RoundParts, profile: bool) -> dict[str, Any]:
    """PC D makes a hub of its own (a database next to the first), PC E joins it while it is empty, D adds
    `wanted` versions of demo data and pushes them. Then heal() is timed on D with nothing to mend, with a
    version missing on the hub, and with a version D missed; then idle rounds on D."""
    patients = max(1, -(-wanted // VERSIONS_PER_PATIENT))
    section(f"5. Anti-entropy: PC D holding {patients * VERSIONS_PER_PATIENT:,} versions, on a hub of its own")
    store_d, _recovery = Store.create(base / "d", ORG, ADMIN, PASSWORD)
    d = Pc(store_d)
    pcs = [d]  # closed at the end, whatever happens
    try:
        enrolment.init_hub(d.session, url, "bench PC D")
        enrolment.export_file(d.session, url, base / "e.enrol", PASSPHRASE, "bench PC E")
        enrolment.import_file(base / "e.enrol", PASSPHRASE, base / "e")  # E joins while the hub is empty
        e = Pc(Store.open(base / "e"))
        pcs.append(e)
        timed_round(d.client, d.session.require_unlocked(), parts)

        start = time.perf_counter()
        add_demo_data(d.session, patients, seed=2)
        added_s = time.perf_counter() - start
        d.client.close()
        pushed_s, report = timed_round(d.client, d.session.require_unlocked(), parts)
        print(
            f"   build: {patients:,} demo patients added on D in {added_s:.1f} s, pushed by one round in "
            f"{pushed_s:.1f} s ({report.pushed:,} queue items; {parts.describe(pushed_s)})"
        )
        # Reopened, as the app starts: the first heal computes this PC's per-bucket figures afresh.
        pcs.remove(d)
        d.close()
        d = Pc(Store.open(base / "d"))
        pcs.append(d)
        dev = device_id_of(d)
        held = measured_at = local_versions(d)
        with psycopg.connect(url, autocommit=True) as owner:
            on_hub = hub_counts(owner)["versions"]
            table = owner.execute("SELECT pg_total_relation_size('versions')").fetchone()[0]
            plan = owner.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) SELECT bucket, count(*), bit_xor(id_hash) FROM versions GROUP BY bucket"
            ).fetchone()[0][0]
        print(
            f"   D holds {held:,} versions, the hub {on_hub:,} (versions table with indexes {mib(table)}); "
            "D reopened (Store.open, login), then heal(store, dek, hub, device_id, PullResult()) on its connection"
        )
        print(
            f"   the hub's per-bucket count and XOR alone (EXPLAIN ANALYZE, as the owner): {plan_nodes(plan['Plan'])}, "
            f"{plan['Execution Time']:.1f} ms"
        )

        # (a) nothing to mend: the normal case, every round. First a push and a pull with nothing to do, as a
        # round runs them before heal (so the hub connection has read the versions table already).
        push_only(d.store, d.session.require_unlocked(), d.client.connection(d.session.require_unlocked()), dev)
        pull_only(d.store, d.session.require_unlocked(), d.client.connection(d.session.require_unlocked()))
        with profiled(profile, "the first heal after Store.open", sort="cumulative", limit=30):
            first, first_hub, healed = timed_heal(d, dev)
        if healed != Healed():
            raise SystemExit(f"D and the hub differ after the build: {healed}")
        runs: list[float] = []
        waits: list[float] = []
        with profiled(profile, f"{AE_RUNS - 1} heals with nothing to mend", sort="cumulative", limit=30):
            for _ in range(AE_RUNS - 1):
                took, waited, healed = timed_heal(d, dev)
                if healed != Healed():
                    raise SystemExit(f"a heal with nothing to mend mended something: {healed}")
                runs.append(ms(took))
                waits.append(ms(waited))
        local = [r - w for r, w in zip(runs, waits, strict=True)]
        print(
            f"   nothing to mend, first heal after the reopen (this PC's figures computed from all its versions, "
            f"then kept): {ms(first):.1f} ms, of which waiting on the hub {ms(first_hub):.1f} ms"
        )
        print(f"   nothing to mend, the next {AE_RUNS - 1}: {spread(runs)}")
        print(
            f"     medians: waiting on the hub (the per-bucket summary query, commit) "
            f"{statistics.median(waits):.1f} ms, the rest (SQLite reads, Python) {statistics.median(local):.1f} ms"
        )

        # (b) a hole on the hub: the owner deletes one of D's versions (a DBA's mistake, a restored backup).
        with psycopg.connect(url, autocommit=True) as owner:
            (gone,) = owner.execute(
                "SELECT version_id::text FROM versions ORDER BY seq OFFSET %s LIMIT 1", (on_hub // 2,)
            ).fetchone()
            owner.execute("DELETE FROM versions WHERE version_id = %s", (gone,))
        with profiled(profile, "the heal that finds a version missing on the hub", sort="cumulative", limit=30):
            hub_hole, hub_hole_wait, healed = timed_heal(d, dev)
        if healed.requeued != 1:
            raise SystemExit(f"the version deleted on the hub was not queued again: {healed}")
        mended_s, report = timed_round(d.client, d.session.require_unlocked(), parts)
        print(
            f"   the hub lacks 1 version (deleted by the owner): heal {ms(hub_hole):.1f} ms (waiting on the hub "
            f"{ms(hub_hole_wait):.1f} ms), queued it again; the next round sent it back in {ms(mended_s):.1f} ms"
        )

        # (c) a hole on D: E sends one version (push() alone, so E pulls nothing), and D's place in the
        # stream is set past it without applying it (as a bug or a hub restored and replayed would).
        person = demo_people(patients + 1, seed=2)[-1]  # a prefix of the list D got: not one of D's
        e.session.patients.add(patient_details(person))
        push_only(
            e.store, e.session.require_unlocked(), e.client.connection(e.session.require_unlocked()), device_id_of(e)
        )
        with psycopg.connect(url, autocommit=True) as owner:
            top = hub_top(owner)
        with d.store.writing() as conn:
            device.set_horizon(conn, device.HORIZON_VERSIONS, top)
        with profiled(profile, "the heal that finds a version missing on D", sort="cumulative", limit=30):
            pc_hole, pc_hole_wait, healed = timed_heal(d, dev)
        if healed.fetched != 1:
            raise SystemExit(f"the version D passed was not fetched: {healed}")
        print(
            f"   D lacks 1 version (E pushed it; D's horizon set past it): heal {ms(pc_hole):.1f} ms (waiting on "
            f"the hub {ms(pc_hole_wait):.1f} ms), fetched and applied it"
        )

        # Idle rounds on D, which now include the comparison.
        timed_round(d.client, d.session.require_unlocked(), parts)  # settles: the heal's audit entry goes
        rounds: list[float] = []
        heals: list[float] = []
        for _ in range(AE_ROUNDS):
            took, report = timed_round(d.client, d.session.require_unlocked(), parts)
            if report.pushed or report.pulled or report.healed != Healed():
                raise SystemExit(f"an idle round on D had work to do: {report}")
            rounds.append(ms(took))
            heals.append(ms(parts.seconds["heal"]))
        with psycopg.connect(url, autocommit=True) as owner:
            on_hub = hub_counts(owner)["versions"]
        held = local_versions(d)
        print(f"   {AE_ROUNDS} idle rounds on D, connection kept: {spread(rounds)}; heal in them: {spread(heals)}")
        if held != on_hub:
            raise SystemExit(f"D holds {held:,} versions and the hub {on_hub:,} after healing")
        print(f"   at the end D and the hub hold {held:,} versions each")
    finally:
        for pc in pcs:
            pc.close()
    return {
        "versions": measured_at,
        "patients": patients,
        "added_s": added_s,
        "pushed_s": pushed_s,
        "first": ms(first),
        "runs": runs,
        "waits": waits,
        "local": local,
        "hub_hole": ms(hub_hole),
        "pc_hole": ms(pc_hole),
        "mended": ms(mended_s),
        "rounds": rounds,
        "heals": heals,
    }


# --- the run ----------------------------------------------------------------------------------------
def judged(versions: int, seconds: float, target_s: float) -> tuple[str, str]:
    """Target and verdict cells: the push and pull targets are set for 10,000 versions only."""
    if versions != DEFAULT_VERSIONS:
        return f"({target_s:.0f} s is for {DEFAULT_VERSIONS:,})", ""
    return f"<= {target_s:.0f} s", verdict(seconds <= target_s)


def ae_judged(wanted: int, value_ms: float, label: str = "") -> tuple[str, str]:
    """Target and verdict cells for an anti-entropy figure: the target is set for 50,000 versions only."""
    if wanted != DEFAULT_AE_VERSIONS:
        return f"({AE_MS:.0f} ms is for {DEFAULT_AE_VERSIONS:,})", ""
    return f"<= {AE_MS:.0f} ms{label}", verdict(value_ms <= AE_MS)


def measure(args: argparse.Namespace, cluster: PgCluster, urls: dict[str, str], dbs: dict[str, str], base: Path
            ) -> list[Row]:  # fmt: skip
    parts = RoundParts()
    url = urls["hub"]
    a, b = setup(url, base, parts)
    try:
        with psycopg.connect(url, autocommit=True) as hub:  # the owner's view, for counts and the baseline
            push = bench_push(a, hub, args.versions, parts, args.profile)
            pull = bench_pull(b, push["versions"], parts, args.profile)
            join = bench_join(a, url, base, parts)
            copy = copy_baseline(cluster, hub, dbs["copy"], dbs["copy_binary"])
        print(
            f"   push / text COPY {push['s'] / copy['s']:.1f}x, pull / text COPY {pull['s'] / copy['s']:.1f}x; "
            f"push / binary COPY {push['s'] / copy['binary_s']:.1f}x, pull / binary COPY "
            f"{pull['s'] / copy['binary_s']:.1f}x"
        )
        idle = bench_idle(a, push["versions"], parts, args.profile)
    finally:
        a.close()
        b.close()
    ae = None
    if args.anti_entropy_versions:
        urls["ae"] = cluster.create_database(dbs["ae"])
        ae = bench_anti_entropy(urls["ae"], base, args.anti_entropy_versions, parts, args.profile)

    kept, fresh = idle["kept"], idle["fresh"]
    rows: list[Row] = [
        (
            f"1 push {push['versions']:,} versions (A's round)",
            f"{push['s']:.2f} s, {push['versions'] / push['s']:,.0f} versions/s",
            *judged(push["versions"], push["s"], PUSH_S),
        ),
        ("1   in it: push() / pull() of own echo", f"{push['push_s']:.2f} s / {push['pull_s']:.2f} s", "", ""),
    ]
    if push["sent"] is not None:
        rows.append(("1   sent / received on the wire", f"{mib(push['sent'])} / {mib(push['received'])}", "", ""))
    rows += [
        (
            f"2 pull {pull['versions']:,} versions (B's round)",
            f"{pull['s']:.2f} s, {pull['versions'] / pull['s']:,.0f} versions/s",
            *judged(pull["versions"], pull["s"], PULL_S),
        ),
    ]
    if pull["received"] is not None:
        rows.append(("2   received on the wire", mib(pull["received"]), "", ""))
    rows += [
        ("2 import_file, PC C joins", f"{join['s']:.2f} s (of which pull {join['pull_s']:.2f} s)", "", ""),
        (
            f"3 text COPY of the same {copy['rows']:,} rows",
            f"{copy['s']:.2f} s; push/COPY {push['s'] / copy['s']:.1f}x, pull/COPY {pull['s'] / copy['s']:.1f}x",
            "",
            "",
        ),
        (
            f"3 binary COPY, pre-encoded, {copy['binary_rows']:,} rows",
            f"{copy['binary_s']:.2f} s; push/COPY {push['s'] / copy['binary_s']:.1f}x, "
            f"pull/COPY {pull['s'] / copy['binary_s']:.1f}x",
            "",
            "",
        ),
        (
            "4 idle round, connection kept",
            f"p50 {percentile(kept, 50):.1f}  p95 {percentile(kept, 95):.1f}  max {max(kept):.1f} ms",
            f"<= {IDLE_MS:.0f} ms (p95)",
            verdict(percentile(kept, 95) <= IDLE_MS),
        ),
        (
            "4   in it: sync.status.read",
            f"p50 {percentile(idle['status'], 50):.1f}  p95 {percentile(idle['status'], 95):.1f} ms",
            "",
            "",
        ),
        (
            "4   in it: anti-entropy (heal)",
            f"p50 {percentile(idle['heal'], 50):.1f}  p95 {percentile(idle['heal'], 95):.1f} ms",
            "",
            "",
        ),
        (
            "4 idle round, new connection each",
            f"p50 {percentile(fresh, 50):.1f}  p95 {percentile(fresh, 95):.1f} ms",
            "",
            "",
        ),
    ]
    if ae is not None:
        n, runs = ae["versions"], ae["runs"]
        wanted = args.anti_entropy_versions
        rows += [
            (
                f"5 build: {ae['patients']:,} patients on PC D",
                f"add_demo_data {ae['added_s']:.1f} s + push round {ae['pushed_s']:.1f} s",
                "",
                "",
            ),
            (
                f"5 heal at {n:,}, nothing to mend",
                f"p50 {percentile(runs, 50):.1f}  p95 {percentile(runs, 95):.1f}  max {max(runs):.1f} ms",
                *ae_judged(wanted, percentile(runs, 95), " (p95)"),
            ),
            (
                "5   in it: hub query / the rest",
                f"p50 {percentile(ae['waits'], 50):.1f} / {percentile(ae['local'], 50):.1f} ms",
                "",
                "",
            ),
            ("5 heal, first after Store.open", f"{ae['first']:.1f} ms", *ae_judged(wanted, ae["first"])),
            (
                "5 heal, hub lacks 1 version",
                f"{ae['hub_hole']:.1f} ms (queued again)",
                *ae_judged(wanted, ae["hub_hole"]),
            ),
            ("5 heal, PC D lacks 1 version", f"{ae['pc_hole']:.1f} ms (fetched)", *ae_judged(wanted, ae["pc_hole"])),
            (
                f"5 idle round on D at {n:,}, conn. kept",
                f"p50 {percentile(ae['rounds'], 50):.1f}  p95 {percentile(ae['rounds'], 95):.1f} ms "
                f"(heal p50 {percentile(ae['heals'], 50):.1f})",
                *ae_judged(wanted, percentile(ae["rounds"], 95), " (p95)"),
            ),
        ]
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=DEFAULT_VERSIONS, help="versions pushed and pulled")
    parser.add_argument(
        "--anti-entropy-versions",
        type=int,
        default=DEFAULT_AE_VERSIONS,
        metavar="N",
        help=f"versions PC D holds for the anti-entropy part (default {DEFAULT_AE_VERSIONS:,}; 0 skips it)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the push, pull and idle rounds and the heals (stderr)"
    )
    args = parser.parse_args(argv)
    if args.versions < 1:
        parser.error("--versions must be at least 1")
    if args.anti_entropy_versions < 0:
        parser.error("--anti-entropy-versions must be 0 (skip) or more")
    os.environ[FAST_KDF_ENV] = "1"  # password hashing is not what is measured here
    began = time.perf_counter()

    print("PerfectCare sync benchmark")
    print(
        f"   Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, psycopg {psycopg.__version__} "
        f"({psycopg.pq.__impl__}, libpq {psycopg.pq.version()}), {platform.platform()}"
    )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"   {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), load average {load}")
    base = Path(tempfile.mkdtemp(prefix="perfectcare-bench-sync-"))
    print(f"   stores in {base}: {filesystem_of(base)}")
    print(f"   {FAST_KDF_ENV}=1: cheap Argon2id for sign-in and the enrolment files; no measured step depends on it")
    if args.profile:
        print("   --profile: the push, pull and idle rounds run under cProfile, so their figures are inflated")
    try:
        with hub_cluster() as cluster:
            print(f"   {server_facts(cluster)}")
            name = f"bench_hub_{secrets.token_hex(4)}"
            dbs = {"hub": name, "copy": name + "_copy", "copy_binary": name + "_copybin", "ae": name + "_ae"}
            urls = {"hub": cluster.create_database(name)}
            try:
                rows = measure(args, cluster, urls, dbs, base)
            finally:
                for db in dbs.values():
                    try:
                        cluster.drop_database(db)
                    except psycopg.Error as exc:
                        print(f"   could not drop the database {db}: {exc}", file=sys.stderr)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print_table(rows)
    print(
        f"The hub runs on this machine (loopback, no TLS) with fsync off (tests/pg_cluster.py): a hub commit costs "
        f"less here than on a real server, and the wire is faster. Whole run {time.perf_counter() - began:.0f} s; "
        f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}."
    )


if __name__ == "__main__":
    main()
