"""A throwaway PostgreSQL cluster in a folder, for the tests (the sync hub's database).

`PgCluster.create(root)` runs initdb into root/data (user `app`, UTF-8, C.UTF-8 locale, trust on
the Unix socket, scram-sha-256 over TCP so passwords are really checked) and starts the server on
127.0.0.1 with fsync and full-page writes off: a SIGKILL of the server loses nothing committed (the
writes are in the OS's cache), only a crash of the machine would. synchronous_commit stays on: off,
a commit returns before its WAL is written at all, and a killed server loses the last ~0.6 s of
committed transactions, which would make the kill tests lie about what a real server keeps (and
with fsync off, on costs only a write() per commit). As root, the cluster runs as the `postgres`
user (initdb refuses root) and the folder is handed to it.

Standard library only: CI runs it as a script with the system python3 before the venv exists

    eval "$(python3 tests/pg_cluster.py start ROOT)"   # prints export lines for the three variables
    python3 tests/pg_cluster.py stop ROOT

and `PgCluster.from_env()` attaches to the cluster those variables name. psycopg is imported only by
the methods that connect.

The production shape of a hub (docs/admin-guide.md, Production hub) has two more parts, for the tests:
`PgCluster.replica_of(primary, root)` makes a streaming replica (pg_basebackup -R over the primary's
Unix socket, hot standby on its own port), and `PgBouncer.start(cluster, root)` runs Debian's pgbouncer
in front of a cluster in transaction pooling mode, checking passwords (SCRAM) against the cluster's
pg_shadow. Both run as the `postgres` user when we are root, as the cluster does.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

ENV_DATA = "PERFECTCARE_TEST_PGDATA"
ENV_PORT = "PERFECTCARE_TEST_PGPORT"
ENV_PASSWORD = "PERFECTCARE_TEST_PGPASSWORD"
ADMIN_USER = "app"
PREFERRED_VERSION = "15"
SERVER_OPTIONS = "-c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200"
INSTALL_HINT = (
    "PostgreSQL server programs (initdb, pg_ctl) were not found in /usr/lib/postgresql/*/bin or on PATH. "
    "The sync tests need a real PostgreSQL 15 server: on Debian/Ubuntu run `apt-get install postgresql-15` "
    "(`./run tests` installs it), or point PERFECTCARE_TEST_PGDATA/PGPORT/PGPASSWORD at a running cluster "
    "(see `python3 tests/pg_cluster.py start ROOT`)."
)
_SOCKET_PATH_MAX = 107  # sun_path on Linux, less the terminating NUL
PGBOUNCER_HINT = (
    "PgBouncer was not found (/usr/sbin/pgbouncer or on PATH). The production-shape sync tests run the hub "
    "behind a real PgBouncer in transaction pooling mode: on Debian/Ubuntu run `apt-get install pgbouncer` "
    "(`./run tests` installs it)."
)


class PgClusterError(RuntimeError):
    """A PostgreSQL program failed, or the cluster is not in the state asked for."""


class PostgresNotFound(PgClusterError):
    """No PostgreSQL server programs on this machine (the message says how to install them)."""


class PgBouncerNotFound(PgClusterError):
    """No pgbouncer program on this machine (the message says how to install it)."""


def find_bindir() -> Path:
    """The folder holding initdb and pg_ctl: PostgreSQL 15's if installed, else the newest Debian one, else PATH's."""
    found = sorted(
        (p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda d: (d.parent.name == PREFERRED_VERSION, _version_key(d.parent.name)),
        reverse=True,
    )
    if found:
        return found[0]
    on_path = shutil.which("initdb")
    if on_path and (Path(on_path).resolve().parent / "pg_ctl").exists():
        return Path(on_path).resolve().parent
    raise PostgresNotFound(INSTALL_HINT)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now (the server may still lose a race for it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_root() -> bool:
    return os.geteuid() == 0


def _process_alive(pid: int) -> bool:
    """Whether `pid` is a live PostgreSQL process. A killed server whose parent never reaps it stays a
    zombie, which kill(pid, 0) (and so pg_ctl and the server's own lock-file check) takes for running."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    name, _, rest = stat.partition("(")[2].rpartition(")")
    return name.startswith("postgres") and rest.split()[0] not in ("Z", "X")


def _children(pid: int) -> list[int]:
    """The live child processes of `pid` (a server's backends and helpers), from /proc."""
    out = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


class PgCluster:
    """A PostgreSQL cluster whose data folder is `data`; the server listens on 127.0.0.1:`port`, and the
    admin role `app` logs in with `password` over TCP. Its socket and server.log live in `root`
    (data's parent)."""

    def __init__(self, data: Path, port: int, password: str, *, made_root: bool = False) -> None:
        self.data = Path(data).absolute()
        self.root = self.data.parent
        self.port = port
        self.password = password
        self._made_root = made_root
        self._bindir: Path | None = None

    def __repr__(self) -> str:
        return f"PgCluster(data={str(self.data)!r}, port={self.port})"

    # --- making and finding clusters --------------------------------------------------------------

    @classmethod
    def create(cls, root: Path, port: int | None = None) -> PgCluster:
        """initdb into root/data and start the server, on `port` or a free one. `root` may exist (empty
        or not) but must not hold a data folder yet; as root, it is given to the postgres user."""
        bindir = find_bindir()
        root = Path(root).absolute()
        if (root / "data").exists():
            raise PgClusterError(f"{root / 'data'} exists already: create a cluster in a new folder")
        socket_path = root / ".s.PGSQL.65535"
        if len(str(socket_path).encode()) > _SOCKET_PATH_MAX:
            raise PgClusterError(f"{root} is too long a path for the server's Unix socket: use a shorter folder")
        root.mkdir(parents=True, exist_ok=True)
        if _as_root():
            shutil.chown(root, "postgres", "postgres")
        os.chmod(root, 0o700)
        cluster = cls(root / "data", port or 0, secrets.token_urlsafe(24), made_root=True)
        cluster._bindir = bindir
        if _as_root() and cluster._run("test", "-w", str(root), "-a", "-x", str(root), check=False).returncode:
            raise PgClusterError(
                f"the postgres user cannot reach {root} (a parent folder is private to root): "
                "create the cluster under a folder everyone can pass through, such as one from tempfile.mkdtemp()"
            )
        pwfile = root / "initdb-password"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(cluster.password + "\n")
        if _as_root():
            shutil.chown(pwfile, "postgres", "postgres")
        try:
            cluster._run(
                "initdb",
                "-D",
                str(cluster.data),
                "-U",
                ADMIN_USER,
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
            )
        finally:
            pwfile.unlink()
        if port is not None:
            cluster.start()
            return cluster
        cluster.start_on_free_port()
        return cluster

    @classmethod
    def replica_of(cls, primary: PgCluster, root: Path) -> PgCluster:
        """A streaming replica of `primary` in root/data, started (hot standby) on a free port; `destroy()`
        removes it and leaves the primary alone. pg_basebackup -R copies the primary over its Unix socket
        (initdb's `local replication all trust`, so no password) and writes standby.signal and
        primary_conninfo, so the copy follows the primary's WAL from then on. Its roles and passwords
        are the primary's."""
        bindir = find_bindir()
        root = Path(root).absolute()
        if (root / "data").exists():
            raise PgClusterError(f"{root / 'data'} exists already: make a replica in a new folder")
        if len(str(root / ".s.PGSQL.65535").encode()) > _SOCKET_PATH_MAX:
            raise PgClusterError(f"{root} is too long a path for the server's Unix socket: use a shorter folder")
        root.mkdir(parents=True, exist_ok=True)
        if _as_root():
            shutil.chown(root, "postgres", "postgres")
        os.chmod(root, 0o700)
        replica = cls(root / "data", 0, primary.password, made_root=True)
        replica._bindir = bindir
        replica._run(
            "pg_basebackup",
            "-D",
            str(replica.data),
            "-h",
            str(primary.root),  # the folder of the primary's socket
            "-p",
            str(primary.port),
            "-U",
            ADMIN_USER,
            "-R",  # standby.signal + primary_conninfo: a standby that streams from the primary
            "-X",
            "stream",
            "--checkpoint=fast",  # else it waits for the primary's next scheduled checkpoint
            "--no-sync",  # as initdb --no-sync: a test copy, fsync off anyway
        )
        replica.start_on_free_port()
        return replica

    def start_on_free_port(self) -> None:
        for attempt in range(5):  # a free port can be taken between our probe and the server's bind
            self.port = free_port()
            try:
                self.start()
                return
            except PgClusterError as exc:
                if "already in use" not in str(exc) or attempt == 4:
                    raise

    def wait_for_replay(self, primary: PgCluster, timeout: float = 30) -> None:
        """On a replica: wait until it has replayed all the WAL `primary` has written so far, that of
        transactions still open included (a lock a test holds, rows not yet committed)."""
        with primary.connect() as p:
            # The primary streams only flushed WAL, and WAL that no commit has waited for may stay
            # unflushed for a long time. A transactional message makes a commit that wrote WAL, which
            # waits for the flush of everything before it.
            p.execute("SELECT pg_logical_emit_message(true, 'perfectcare-tests', 'flush')")
            target = p.execute("SELECT pg_current_wal_flush_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with self.connect() as r:
            while not r.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise PgClusterError(f"the replica {self!r} did not replay up to {target} in {timeout} s")
                time.sleep(0.02)

    @classmethod
    def attach(cls, data: Path, port: int, password: str) -> PgCluster:
        """A cluster someone else created and started (its data folder, port and `app` password)."""
        return cls(data, port, password)

    @classmethod
    def from_env(cls) -> PgCluster | None:
        """The cluster PERFECTCARE_TEST_PGDATA, _PGPORT and _PGPASSWORD name (as `start` prints), or None."""
        values = [os.environ.get(name) for name in (ENV_DATA, ENV_PORT, ENV_PASSWORD)]
        if not any(values):
            return None
        if not all(values):
            raise PgClusterError(f"set all of {ENV_DATA}, {ENV_PORT} and {ENV_PASSWORD}, or none of them")
        data, port, password = values
        return cls.attach(Path(data), int(port), password)

    def export_lines(self) -> str:
        """Shell lines that set the three variables `from_env` reads."""
        pairs = ((ENV_DATA, str(self.data)), (ENV_PORT, str(self.port)), (ENV_PASSWORD, self.password))
        return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in pairs)

    # --- the server -------------------------------------------------------------------------------

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = find_bindir()
        return self._bindir

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def start(self) -> None:
        """Start the server and wait (up to 30 s) until it accepts connections; nothing if it runs already.
        Lock files a killed server left are removed first."""
        if self.is_running():
            return
        self._remove_stale_lock_files()
        log_start = self.log_file.stat().st_size if self.log_file.exists() else 0
        options = f"-p {self.port} -k {shlex.quote(str(self.root))} {SERVER_OPTIONS}"
        args = ["start", "-D", str(self.data), "-w", "-t", "30", "-l", str(self.log_file), "-o", options]
        result = self._run("pg_ctl", *args, check=False)
        if result.returncode:
            log = ""
            if self.log_file.exists():
                with self.log_file.open("rb") as f:
                    f.seek(log_start)
                    log = f.read().decode(errors="replace")
            raise PgClusterError(f"pg_ctl start failed for {self.data}:\n{result.stdout}{result.stderr}\n{log}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`mode`: smart, fast or immediate) and wait until it has; nothing if it is not running."""
        if not self.is_running():
            self._remove_stale_lock_files()
            return
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", "60")

    def is_running(self) -> bool:
        pid = self._postmaster_pid()
        return pid is not None and _process_alive(pid)

    def kill(self) -> None:
        """SIGKILL the postmaster, as a crash would, and wait until its backends have gone too (they
        notice their parent's death; any still there after 10 s are killed). `start()` recovers."""
        pid = self._postmaster_pid()
        if pid is None or not _process_alive(pid):
            raise PgClusterError(f"the server for {self.data} is not running")
        children = _children(pid)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _process_alive(pid) or any(_process_alive(c) for c in children):
            if time.monotonic() > deadline:
                for c in children:
                    if _process_alive(c):
                        os.kill(c, signal.SIGKILL)
                deadline = time.monotonic() + 10
            time.sleep(0.02)

    def destroy(self) -> None:
        """Stop the server (killing it if it will not stop) and remove its folder: the whole root for a
        cluster `create` made, only the data folder for an attached one."""
        try:
            self.stop()
        except PgClusterError:
            if self.is_running():
                self.kill()
        shutil.rmtree(self.root if self._made_root else self.data, ignore_errors=True)

    # --- databases --------------------------------------------------------------------------------

    def admin_url(self, dbname: str = "postgres") -> str:
        return (
            f"postgresql://{ADMIN_USER}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{quote(dbname, safe='')}"
        )

    def connect(self, dbname: str = "postgres"):  # noqa: ANN201 - psycopg.Connection, imported lazily
        """An autocommit psycopg connection as `app` over TCP."""
        import psycopg

        return psycopg.connect(self.admin_url(dbname), autocommit=True, connect_timeout=10)

    def create_database(self, name: str) -> str:
        """Create an empty database (from template0, UTF-8) owned by `app`; returns its admin URL."""
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(name)))
        return self.admin_url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database if it exists; WITH (FORCE) terminates its connections first."""
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    # --- helpers ----------------------------------------------------------------------------------

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program (or, for `test`, the shell's) as the postgres user when we are root."""
        cmd = [program if program == "test" else str(self.bindir / program), *args]
        if _as_root():
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        cwd = self.root if self.root.exists() else "/"
        result = subprocess.run(
            cmd, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180, check=False
        )
        if check and result.returncode:
            raise PgClusterError(f"{shlex.join(cmd)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        return result

    def _postmaster_pid(self) -> int | None:
        return _lock_file_pid(self.data / "postmaster.pid")

    def _remove_stale_lock_files(self) -> None:
        """Remove the lock files (postmaster.pid, the socket's .lock) a killed server left behind. The server
        removes them itself when their process is gone, but not while it lingers as a zombie."""
        for lock in [self.data / "postmaster.pid", *self.root.glob(".s.PGSQL.*.lock")]:
            pid = _lock_file_pid(lock)
            if pid is not None and not _process_alive(pid):
                lock.unlink(missing_ok=True)


def find_pgbouncer() -> Path:
    """The pgbouncer program: Debian's in /usr/sbin (not on a normal user's PATH), else PATH's."""
    for candidate in (Path("/usr/sbin/pgbouncer"), shutil.which("pgbouncer")):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    raise PgBouncerNotFound(PGBOUNCER_HINT)


class PgBouncer:
    """A pgbouncer in front of a cluster, listening on 127.0.0.1:`port`, pooling in `pool_mode`.

    Every database name is forwarded to the cluster's Unix socket (`* =`), so the tests' new databases
    need no configuration. Clients sign in with SCRAM, checked against the cluster's own pg_shadow
    (auth_user `app` runs auth_query over the socket, which the cluster trusts), so a device role made
    on the hub can sign in through PgBouncer at once and a wrong password is refused here, as in
    production. `app` itself is in the auth file (its password in clear: a throwaway folder of the
    postgres user's, 0600) and is PgBouncer's admin (SHOW POOLS, SHOW STATS on database `pgbouncer`).
    """

    def __init__(self, root: Path, port: int, cluster: PgCluster, process: subprocess.Popen[bytes]) -> None:
        self.root = root
        self.port = port
        self.cluster = cluster
        self._process = process

    def __repr__(self) -> str:
        return f"PgBouncer(port={self.port}, cluster={self.cluster!r})"

    @classmethod
    def start(cls, cluster: PgCluster, root: Path, *, pool_mode: str = "transaction", pool_size: int = 4) -> PgBouncer:
        """Write the configuration into `root` (made, and given to the postgres user when we are root) and
        start pgbouncer on a free port; returns once it accepts connections. A small pool by default, so
        clients take turns on the same server connections, as a busy production pool makes them do."""
        program = find_pgbouncer()
        root = Path(root).absolute()
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        users = root / "userlist.txt"
        users.write_text(f'"{ADMIN_USER}" "{cluster.password}"\n')
        os.chmod(users, 0o600)
        # pgbouncer refuses to run as root; as the postgres user, like the cluster.
        who: dict[str, Any] = {"user": "postgres", "group": "postgres", "extra_groups": []} if _as_root() else {}
        for attempt in range(5):  # a free port can be taken between our probe and pgbouncer's bind
            port = free_port()
            config = root / "pgbouncer.ini"
            config.write_text(
                "[databases]\n"
                f"* = host={cluster.root} port={cluster.port}\n"
                "[pgbouncer]\n"
                f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
                "unix_socket_dir =\n"  # TCP only: nothing to clean up, nothing to collide with
                f"auth_type = scram-sha-256\nauth_file = {users}\n"
                f"auth_user = {ADMIN_USER}\n"
                "auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename = $1\n"
                f"pool_mode = {pool_mode}\ndefault_pool_size = {pool_size}\nmax_client_conn = 200\n"
                f"admin_users = {ADMIN_USER}\n"
                f"pidfile = {root / 'pgbouncer.pid'}\n"
            )
            if _as_root():
                for path in (root, users, config):
                    shutil.chown(path, "postgres", "postgres")
            log = root / "pgbouncer.log"
            with log.open("ab") as out:  # pgbouncer in the foreground logs to stderr: ours to keep
                start = out.tell()
                process = subprocess.Popen(
                    [str(program), str(config)],
                    cwd=root,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    **who,
                )
            bouncer = cls(root, port, cluster, process)
            failure = bouncer._wait_until_listening(timeout=15)
            if failure is None:
                return bouncer
            bouncer.stop()
            text = log.read_bytes()[start:].decode(errors="replace")
            if "Address already in use" not in text or attempt == 4:
                raise PgClusterError(f"pgbouncer did not start ({failure}):\n{text}")
        raise AssertionError("unreachable")

    def url(self, dbname: str, user: str = ADMIN_USER, password: str | None = None) -> str:
        """A postgresql:// address through PgBouncer (as `app` with the cluster's password by default)."""
        secret = self.cluster.password if password is None and user == ADMIN_USER else password
        who = quote(user, safe="") + (f":{quote(secret, safe='')}" if secret else "")
        return f"postgresql://{who}@127.0.0.1:{self.port}/{quote(dbname, safe='')}"

    def show(self, what: str) -> list[dict[str, Any]]:
        """A SHOW command on PgBouncer's admin console (POOLS, STATS, SERVERS, ...), as dicts."""
        return self.admin(f"SHOW {what}")

    def admin(self, command: str) -> list[dict[str, Any]]:
        """A command on PgBouncer's admin console (SHOW ..., RECONNECT, PAUSE, ...); its rows as dicts, if any."""
        import psycopg
        from psycopg.rows import dict_row

        # The admin console speaks only the simple query protocol (no parameters, no prepare).
        with psycopg.connect(self.url("pgbouncer"), autocommit=True, connect_timeout=10) as conn:
            cur = conn.cursor(row_factory=dict_row)
            cur.execute(command, prepare=False)
            return cur.fetchall() if cur.description else []

    def is_running(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> None:
        """Stop pgbouncer (SIGTERM: immediate shutdown; clients are cut) and wait; killed after 10 s."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def destroy(self) -> None:
        """Stop pgbouncer and remove its folder; the cluster behind it is left alone."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _wait_until_listening(self, timeout: float) -> str | None:
        """None once 127.0.0.1:port accepts a connection; else why not (pgbouncer exited, or too slow)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return f"it exited with status {self._process.returncode}"
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.settimeout(1)
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return None
            time.sleep(0.02)
        return f"it was not listening after {timeout} s"


def _lock_file_pid(path: Path) -> int | None:
    """The process id on the first line of a PostgreSQL lock file, or None if there is none."""
    try:
        first = path.read_text().split("\n", 1)[0].strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return int(first) if first.isdigit() else None


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: pg_cluster.py start ROOT  (prints export lines) | pg_cluster.py stop ROOT", file=sys.stderr)
        return 2
    command, root = argv[0], Path(argv[1])
    try:
        if command == "start":
            began = time.monotonic()
            cluster = PgCluster.create(root)
            print(
                f"PostgreSQL test cluster on port {cluster.port} in {time.monotonic() - began:.1f} s", file=sys.stderr
            )
            sys.stdout.write(cluster.export_lines())
        else:
            PgCluster.attach(root.absolute() / "data", port=0, password="").stop()  # stopping needs neither
    except PgClusterError as exc:
        print(f"pg_cluster.py {command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
