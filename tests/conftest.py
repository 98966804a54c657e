"""Shared fixtures: a real encrypted store in a temporary folder, a controllable clock, and a throwaway
PostgreSQL cluster for the sync hub (tests/pg_cluster.py) with empty databases in it.

The session's cluster is the one PERFECTCARE_TEST_PGDATA, _PGPORT and _PGPASSWORD name (CI starts it
with `tests/pg_cluster.py start`), or else one created in a temporary folder and removed when the
session ends (only if a test asks for it). Tests that stop or kill the server use
`private_pg_cluster`, never the shared one. `replica` (a streaming replica of the session's cluster)
and `pgbouncer` (PgBouncer in transaction pooling mode in front of it) are a test's own: it may stop them.
"""

from __future__ import annotations

import os

# Before any Qt import: widgets render offscreen in tests and CI.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Hundreds of key derivations in the suite: use cheap Argon2id parameters (never in a real store).
os.environ["PERFECTCARE_INSECURE_FAST_KDF"] = "1"
# Never the machine's own policy file or the real user's log folder (subprocesses inherit these).
_SCRATCH = __import__("tempfile").mkdtemp(prefix="perfectcare-tests-")
os.environ["PERFECTCARE_POLICY_FILE"] = os.path.join(_SCRATCH, "no-policy.json")
os.environ["PERFECTCARE_LOG_DIR"] = os.path.join(_SCRATCH, "logs")

import contextlib  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from pg_cluster import PgBouncer, PgBouncerNotFound, PgCluster, PostgresNotFound, find_bindir, find_pgbouncer  # noqa: E402
from testsupport import ADMIN, ADMIN_PASSWORD, ORG, FakeClock  # noqa: E402, F401 - one home, imported by tests

from perfectcare_desktop.core.access.session import Session  # noqa: E402
from perfectcare_desktop.core.storage.store import Store  # noqa: E402


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def created_store(data_dir: Path, clock: FakeClock) -> Iterator[tuple[Store, str]]:
    """A new store with one admin; yields (store, recovery key text)."""
    store, recovery = Store.create(data_dir, ORG, ADMIN, ADMIN_PASSWORD, clock=clock)
    yield store, recovery
    store.close()


@pytest.fixture
def store(created_store: tuple[Store, str]) -> Store:
    return created_store[0]


@pytest.fixture
def recovery_key(created_store: tuple[Store, str]) -> str:
    return created_store[1]


@pytest.fixture
def session(store: Store) -> Session:
    return Session.sign_in(store, ADMIN, ADMIN_PASSWORD)


# --- PostgreSQL for the sync hub -----------------------------------------------------------------------
def new_cluster() -> PgCluster:
    """A new cluster in a new temporary folder (under TMPDIR, which the postgres user can pass through,
    unlike pytest's private tmp_path); fails the test with install advice when PostgreSQL is missing."""
    try:
        find_bindir()
    except PostgresNotFound as exc:
        missing = str(exc)
    else:
        root = Path(tempfile.mkdtemp(prefix="perfectcare-pg-"))
        try:
            return PgCluster.create(root)
        except BaseException:
            PgCluster(root / "data", 0, "", made_root=True).destroy()
            raise
    pytest.fail(missing, pytrace=False)  # outside the except: the message once, not twice


@contextlib.contextmanager
def owned_cluster() -> Iterator[PgCluster]:
    cluster = new_cluster()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    attached = PgCluster.from_env()
    if attached is not None:
        try:
            attached.connect().close()
        except Exception as exc:  # noqa: BLE001 - any failure: say which cluster, then stop
            pytest.fail(f"cannot reach the cluster PERFECTCARE_TEST_PG* name ({attached!r}): {exc}", pytrace=False)
        yield attached
        return
    with owned_cluster() as cluster:
        yield cluster


@pytest.fixture
def private_pg_cluster() -> Iterator[PgCluster]:
    """A cluster of the test's own, which it may stop, kill and start."""
    with owned_cluster() as cluster:
        yield cluster


@pytest.fixture
def hub_db(pg_cluster: PgCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """The admin URL of a new empty database, dropped after the test."""
    stem = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:40]
    name = f"hub_{stem}_{secrets.token_hex(4)}"
    url = pg_cluster.create_database(name)
    yield url
    with contextlib.suppress(Exception):
        pg_cluster.drop_database(name)


@pytest.fixture
def replica(pg_cluster: PgCluster) -> Iterator[PgCluster]:
    """A hot-standby streaming replica of the session's cluster, removed after the test (about a second:
    pg_basebackup of the cluster and a start). The test may stop it; the primary is never touched."""
    root = Path(tempfile.mkdtemp(prefix="perfectcare-replica-"))  # under TMPDIR: the postgres user passes through
    try:
        made = PgCluster.replica_of(pg_cluster, root)
    except BaseException:
        PgCluster(root / "data", 0, "", made_root=True).destroy()
        raise
    try:
        yield made
    finally:
        made.destroy()


@pytest.fixture
def pgbouncer(pg_cluster: PgCluster) -> Iterator[PgBouncer]:
    """PgBouncer in transaction pooling mode in front of the session's cluster, SCRAM passwords checked;
    stopped and removed after the test. Fails (never skips) with install advice when it is missing."""
    missing = None
    try:
        find_pgbouncer()
    except PgBouncerNotFound as exc:
        missing = str(exc)
    if missing is not None:
        pytest.fail(missing, pytrace=False)  # outside the except: the message once, not twice
    root = Path(tempfile.mkdtemp(prefix="perfectcare-pgbouncer-"))
    try:
        bouncer = PgBouncer.start(pg_cluster, root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        yield bouncer
    finally:
        bouncer.destroy()
