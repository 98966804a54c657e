"""A store on disk: create it (with its first admin), open it, and run transactions on it.

`Store` holds no key. `Session.sign_in(store, ...)` (core/access/session.py, through core/access/sign_in.py) returns a
session holding the unwrapped data key; all clinical work goes through the session.
"""

from __future__ import annotations

import contextlib
import os
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, select

from ... import __version__
from ...crypto import vault
from ...crypto.kdf import KdfParams, default_params
from ...crypto.signing import AdminKey
from ...errors import InvalidInput, StoreAlreadyExists, StoreNotWritable
from ...store import database
from ...store.models import Meta
from ..access import grants, teams
from ..access.accounts import insert_user, insert_wrap, set_password
from ..access.passwords import check_new_password, check_username
from ..clock import Clock, SystemClock
from . import arrivals, audit
from .files import ensure_writable_folder


class Store:
    """An opened (migrated, checked) store folder. Holds no key material."""

    def __init__(self, data_dir: Path, engine: Engine, clock: Clock) -> None:
        self.data_dir = Path(data_dir)
        self.engine = engine
        self.clock = clock

    # --- opening and creating ------------------------------------------------------------------
    @classmethod
    def open(
        cls, data_dir: Path, clock: Clock | None = None, on_migrate: Callable[[str, str], None] | None = None
    ) -> Store:
        return cls(
            Path(data_dir), database.open_database(Path(data_dir), on_migrate=on_migrate), clock or SystemClock()
        )

    @classmethod
    def create(
        cls,
        data_dir: Path,
        org_name: str,
        admin_username: str,
        admin_password: str,
        admin_display_name: str = "",
        clock: Clock | None = None,
        kdf_params: KdfParams | None = None,
    ) -> tuple[Store, str]:
        """Create a new store with its first admin. Returns the store and the recovery key text,
        which exists nowhere else: the caller must show it once and have it kept."""
        clock = clock or SystemClock()
        org = unicodedata.normalize("NFC", org_name.strip())
        if not org:
            raise InvalidInput("Enter the organisation's name.")
        username = check_username(admin_username)
        check_new_password(admin_password, username)
        dek = vault.DataKey.generate(key_id=1)
        recovery_secret = vault.new_recovery_secret()
        admin_id = str(uuid.uuid4())
        params = kdf_params or default_params()

        admin_key = AdminKey.generate()  # signs every account change (core/access/grants.py)

        def fill(conn: Connection, now: datetime) -> None:
            insert_user(conn, admin_id, username, admin_display_name or username, "admin", now)
            set_password(conn, dek, admin_id, admin_password, now, params, admin_key=admin_key)
            insert_wrap(conn, dek.wrap_with_recovery(recovery_secret), "recovery", None, now)
            grants.adopt(conn, admin_key, now)
            teams.ensure_everyone_team(conn, admin_key, org, now)  # admins add teams; until then one for all
            grants.wrap_for_recovery(conn, admin_key, recovery_secret, now)
            audit.append(conn, dek, now, "store_created", user_id=admin_id,
                         detail=f"organisation {org}{arrivals.FROM_CREATION}")  # fmt: skip

        _build(Path(data_dir), org, str(uuid.uuid4()), clock, fill, "it has not been changed.")
        return cls.open(data_dir, clock), vault.format_recovery_key(recovery_secret)

    @classmethod
    def create_joined(
        cls, data_dir: Path, org_name: str, store_id: str, dek: vault.DataKey, recovery: vault.WrappedKey,
        clock: Clock | None = None, admin_public_key: str | None = None,
    ) -> Store:  # fmt: skip
        """A new, empty copy of an existing store on another PC (sync enrolment): the same store id,
        data key and recovery key, and the admin key's public half pinned (from the enrolment file);
        its accounts and records arrive from the hub, and only accounts that key signed are taken."""
        clock = clock or SystemClock()

        def fill(conn: Connection, now: datetime) -> None:
            insert_wrap(conn, recovery, "recovery", None, now)
            if admin_public_key:
                conn.execute(insert(Meta).values(key=grants.PUBLIC_KEY_META, value=admin_public_key))
            audit.append(conn, dek, now, "store_created",
                         detail=f"organisation {org_name}, joined to the hub{arrivals.FROM_CREATION}")  # fmt: skip

        _build(Path(data_dir), org_name, store_id, clock, fill, "enrolment makes a new one: choose an empty folder.")
        return cls.open(data_dir, clock)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions --------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        """One durable write transaction, holding SQLite's write lock from the start."""
        with self.engine.connect() as conn:
            conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    # --- facts ---------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        with self.reading() as conn:
            return conn.execute(select(Meta.value).where(Meta.key == key)).scalar()

    @property
    def organisation(self) -> str:
        return self.meta("organisation") or ""

    @property
    def store_id(self) -> str:
        return self.meta("store_id") or ""


def _build(data_dir: Path, org: str, store_id: str, clock: Clock, fill: Callable[[Connection, datetime], None],
           if_exists: str) -> None:  # fmt: skip
    """Make a store file: the schema, the store's facts, then `fill` (accounts, key wraps, the first
    audit entry), in a side file renamed into place, so a failure half-way leaves no half store."""
    path = database.db_path(data_dir)
    if path.exists():
        raise StoreAlreadyExists(f"There is already a store in {data_dir}; {if_exists}")
    try:
        ensure_writable_folder(data_dir)
    except OSError as exc:
        raise StoreNotWritable(f"Cannot create a store in {data_dir}: {exc.strerror or exc}.") from exc
    partial = data_dir / f".creating-{uuid.uuid4().hex}.sqlite3"
    try:
        engine = database.create_schema(partial)
        now = clock.now()
        with engine.begin() as conn:
            conn.execute(
                insert(Meta),
                [
                    {"key": "store_id", "value": store_id},
                    {"key": "organisation", "value": org},
                    {"key": "created_at", "value": now.isoformat()},
                    {"key": "created_by_version", "value": __version__},
                    {"key": "device_id", "value": str(uuid.uuid4())},
                ],
            )
            fill(conn, now)
        engine.dispose()
        os.replace(partial, path)
    finally:
        for leftover in data_dir.glob(partial.name + "*"):
            leftover.unlink(missing_ok=True)


def remove_store_files(data_dir: Path) -> None:
    """Used only when replacing a store by a restore: the db file and its WAL/SHM companions."""
    path = database.db_path(data_dir)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
