"""The throwaway PostgreSQL cluster the sync tests run against (tests/pg_cluster.py): UTF-8 text
round-trips, passwords are checked over TCP, and the server survives SIGKILL and stop/start."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
from pg_cluster import ENV_DATA, ENV_PASSWORD, ENV_PORT, PgCluster
from psycopg import sql

URDU = "مریض کا حفاظتی منصوبہ: رات کو بہن کو فون کریں"
POLISH = "Zażółć gęślą jaźń — plan bezpieczeństwa pacjenta"
SCRIPT = Path(__file__).resolve().parents[1] / "pg_cluster.py"


def test_text_round_trips_in_utf8(hub_db: str) -> None:
    with psycopg.connect(hub_db, autocommit=True) as conn:
        assert conn.execute("SHOW server_encoding").fetchone() == ("UTF8",)
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)")
        for text in (URDU, POLISH):
            conn.execute("INSERT INTO notes (body) VALUES (%s)", (text,))
        rows = conn.execute("SELECT body, length(body) FROM notes ORDER BY id").fetchall()
    assert rows == [(URDU, len(URDU)), (POLISH, len(POLISH))]


def test_passwords_are_checked_over_tcp(pg_cluster: PgCluster, hub_db: str) -> None:
    role = f"device_{secrets.token_hex(4)}"
    with pg_cluster.connect() as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'right horse'").format(sql.Identifier(role)))
    try:
        dbname = hub_db.rsplit("/", 1)[1]
        conninfo = {"host": "127.0.0.1", "port": pg_cluster.port, "dbname": dbname, "user": role}
        with psycopg.connect(**conninfo, password="right horse") as conn:
            assert conn.execute("SELECT current_user").fetchone() == (role,)
        for wrong in ("wrong horse", ""):
            with pytest.raises(psycopg.OperationalError, match="password"):
                psycopg.connect(**conninfo, password=wrong, connect_timeout=10)
        with pg_cluster.connect() as admin:
            stored = admin.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchone()[0]
        assert stored.startswith("SCRAM-SHA-256$")
    finally:
        with pg_cluster.connect() as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _write_row(cluster: PgCluster, url: str, text: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS notes (body text)")
        conn.execute("INSERT INTO notes VALUES (%s)", (text,))


def _rows(url: str) -> list[str]:
    with psycopg.connect(url, connect_timeout=10) as conn:
        return [r[0] for r in conn.execute("SELECT body FROM notes ORDER BY body")]


def test_kill_then_start_keeps_committed_data(private_pg_cluster: PgCluster) -> None:
    cluster = private_pg_cluster
    url = cluster.create_database("hub")
    _write_row(cluster, url, URDU)
    held = psycopg.connect(url, autocommit=True)
    for round_ in range(2):  # twice: the second start meets the pid file the first crash left too
        cluster.kill()
        assert not cluster.is_running()
        assert (cluster.data / "postmaster.pid").exists() or round_  # a killed server cannot remove it
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1")
        cluster.start()
        assert cluster.is_running()
        held = psycopg.connect(url, autocommit=True)
        _write_row(cluster, url, f"{POLISH} {round_}")
    held.close()
    assert _rows(url) == sorted([URDU, f"{POLISH} 0", f"{POLISH} 1"])
    assert "database system was interrupted" in cluster.log_file.read_text()


def test_stop_then_start(private_pg_cluster: PgCluster) -> None:
    cluster = private_pg_cluster
    url = cluster.create_database("hub")
    _write_row(cluster, url, POLISH)
    cluster.stop()
    assert not cluster.is_running()
    cluster.stop()  # stopping a stopped server is nothing
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5)
    cluster.start()
    cluster.start()  # starting a running server is nothing
    assert _rows(url) == [POLISH]
    with cluster.connect() as admin:
        settings = {name: admin.execute(f"SHOW {name}").fetchone()[0] for name in ("fsync", "synchronous_commit")}
    assert settings == {"fsync": "off", "synchronous_commit": "on"}  # see pg_cluster.py on synchronous_commit
    cluster.drop_database("hub")
    with cluster.connect() as admin:
        assert admin.execute("SELECT count(*) FROM pg_database WHERE datname = 'hub'").fetchone() == (0,)


def test_script_start_prints_exports_and_stop_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    """As CI runs it: without site-packages (so standard library only), then attached from the environment."""
    root = Path(tempfile.mkdtemp(prefix="perfectcare-pg-"))
    started = subprocess.run(
        [sys.executable, "-S", str(SCRIPT), "start", str(root)], capture_output=True, text=True, check=False
    )
    try:
        assert started.returncode == 0, started.stderr
        exports = dict(
            line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines() if line.strip()
        )
        assert set(exports) == {ENV_DATA, ENV_PORT, ENV_PASSWORD}
        for name, value in exports.items():
            monkeypatch.setenv(name, value)
        cluster = PgCluster.from_env()
        assert cluster is not None and cluster.data == root / "data" and cluster.is_running()
        with cluster.connect() as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("app",)
        stopped = subprocess.run(
            [sys.executable, "-S", str(SCRIPT), "stop", str(root)], capture_output=True, text=True, check=False
        )
        assert stopped.returncode == 0, stopped.stderr
        assert not cluster.is_running()
    finally:
        PgCluster(root / "data", 0, "", made_root=True).destroy()
    assert not root.exists()


def test_from_env_is_none_without_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ENV_DATA, ENV_PORT, ENV_PASSWORD):
        monkeypatch.delenv(name, raising=False)
    assert PgCluster.from_env() is None
    monkeypatch.setenv(ENV_PORT, "5432")
    with pytest.raises(RuntimeError, match=ENV_DATA):
        PgCluster.from_env()
    assert os.environ[ENV_PORT] == "5432"
