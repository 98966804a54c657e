"""Fixtures for the sync tests: a throwaway PostgreSQL cluster (tests/pg_cluster.py) and empty databases in it.

The session's cluster is the one PERFECTCARE_TEST_PGDATA, _PGPORT and _PGPASSWORD name (CI starts it
with `tests/pg_cluster.py start`), or else one created in a temporary folder and removed when the
session ends. Tests that stop or kill the server use `private_pg_cluster`, never the shared one.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_cluster import PgCluster, PostgresNotFound, find_bindir


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
    cluster = new_cluster()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def private_pg_cluster() -> Iterator[PgCluster]:
    """A cluster of the test's own, which it may stop, kill and start."""
    cluster = new_cluster()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def hub_db(pg_cluster: PgCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """The admin URL of a new empty database, dropped after the test."""
    stem = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:40]
    name = f"hub_{stem}_{secrets.token_hex(4)}"
    url = pg_cluster.create_database(name)
    yield url
    with contextlib.suppress(Exception):
        pg_cluster.drop_database(name)
