"""A store on disk: create it, open it, and let a user in (or refuse, with lockout).

`Store` holds no key. `Store.login()` returns a `Session` holding the unwrapped data key; all
clinical work goes through the session. The UI and the admin CLI both use exactly this API.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from json import JSONDecodeError
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import Connection, Engine, delete, insert, select, update

from .. import __version__
from ..crypto import vault
from ..crypto.kdf import KdfParams, KdfParamsRejected, default_params, derive_key, new_salt
from ..errors import (
    AccountLocked,
    InvalidInput,
    LoginFailed,
    NotFound,
    StoreAlreadyExists,
    StoreDamaged,
    StoreNotWritable,
)
from ..store import database
from ..store.models import KeyWrap, LoginThrottle, Meta, User
from . import arrivals, audit, outbox
from .clock import Clock, SystemClock
from .files import ensure_writable_folder

if TYPE_CHECKING:
    from .session import Session

ROLES = ("clinician", "admin")
MIN_PASSWORD_LENGTH = 10
FREE_ATTEMPTS = 3  # typos happen; the delay starts after the third wrong password in a row
FIRST_DELAY_SECONDS = 15
MAX_DELAY_SECONDS = 15 * 60


def lockout_delay(failed_attempts: int) -> int:
    """Seconds to wait after this many consecutive failures: 0, 0, 15, 30, 60, ... up to 15 minutes."""
    if failed_attempts < FREE_ATTEMPTS:
        return 0
    return min(FIRST_DELAY_SECONDS * 2 ** (failed_attempts - FREE_ATTEMPTS), MAX_DELAY_SECONDS)


def check_new_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if password.strip().casefold() == username.casefold():
        raise InvalidInput("The password must not be the user name.")


def check_username(username: str) -> str:
    name = unicodedata.normalize("NFC", username.strip())
    if not name:
        raise InvalidInput("Enter a user name.")
    if len(name) > 64 or not all(ch.isalnum() or ch in "._-@" for ch in name):
        raise InvalidInput("A user name is up to 64 letters, digits, dots, hyphens, underscores or @ signs.")
    return name


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

        def fill(conn: Connection, now: datetime) -> None:
            _insert_user(conn, admin_id, username, admin_display_name or username, "admin", now)
            _insert_wrap(conn, dek.wrap_with_password(admin_password, admin_id, params), "user", admin_id, now)
            _insert_wrap(conn, dek.wrap_with_recovery(recovery_secret), "recovery", None, now)
            audit.append(conn, dek, now, "store_created", user_id=admin_id,
                         detail=f"organisation {org}{arrivals.FROM_CREATION}")  # fmt: skip

        _build(Path(data_dir), org, str(uuid.uuid4()), clock, fill, "it has not been changed.")
        return cls.open(data_dir, clock), vault.format_recovery_key(recovery_secret)

    @classmethod
    def create_joined(
        cls, data_dir: Path, org_name: str, store_id: str, dek: vault.DataKey, recovery: vault.WrappedKey,
        clock: Clock | None = None,
    ) -> Store:  # fmt: skip
        """A new, empty copy of an existing store on another PC (sync enrolment): the same store id,
        data key and recovery key; its accounts and records arrive from the hub."""
        clock = clock or SystemClock()

        def fill(conn: Connection, now: datetime) -> None:
            _insert_wrap(conn, recovery, "recovery", None, now)
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

    def user_by_name(self, conn: Connection, username: str) -> User | None:
        name = unicodedata.normalize("NFC", username.strip())
        return conn.execute(select(User.__table__).where(User.username == name)).one_or_none()

    # --- logging in ----------------------------------------------------------------------------
    def login(self, username: str, password: str) -> Session:
        from .session import Session

        user_id, dek = self._authenticate(username, password, action="login")
        return Session(self, user_id, dek)

    def _authenticate(self, username: str, password: str, action: str) -> tuple[str, vault.DataKey]:
        """Check a password with lockout; on success fold pending events and audit `action`."""
        now = self.clock.now()
        with self.writing() as conn:
            user = self.user_by_name(conn, username) if username.strip() else None
            if user is None:
                failure = None  # handled below, exactly as a wrong password would be
            elif not user.active:
                audit.record_pending(conn, now, "login_failed", user.user_id, "account disabled")
                failure = LoginFailed("This account has been disabled. Ask an administrator.")
            elif user.locked_until and user.locked_until > now:
                wait = int((user.locked_until - now).total_seconds() + 0.999)
                failure = AccountLocked(_locked_message(wait), wait)
            else:
                failure = None
        if failure is not None:  # raised only after the pending event has committed
            raise failure
        if user is None:
            self._fail_unknown_name(username, now)
        wrap = self._user_wrap(user.user_id)
        try:
            dek = vault.unwrap_with_password(wrap, password, user.user_id)
        except vault.WrongSecret:
            self._record_failure(user.user_id, now)
        except (KdfParamsRejected, JSONDecodeError, RecursionError) as exc:
            # Only an edit of the store file puts these here: no password was tried, so no attempt counts.
            why = f" ({exc})" if isinstance(exc, KdfParamsRejected) else ""
            raise StoreDamaged(
                f"This store's key settings are not ones PerfectCare writes{why}: the store may have been tampered "
                "with. Restore a backup made before the change, and tell your information governance or IT security "
                "team. Nothing was changed."
            ) from None
        with self.writing() as conn:
            conn.execute(
                update(User)
                .where(User.user_id == user.user_id)
                .values(failed_attempts=0, locked_until=None, last_login_at=now)
            )
            audit.fold_pending(conn, dek)
            audit.append(conn, dek, now, action, user_id=user.user_id)
        arrivals.ensure_baseline(self, dek, now)  # once per store: see core/arrivals.py
        return user.user_id, dek

    def _fail_unknown_name(self, username: str, now: datetime) -> NoReturn:
        """A name that is no account gets the same answers, delays and time cost as a wrong password,
        so guessing cannot tell which user names exist."""
        salt = (self.store_id or "perfectcare").encode()
        name_hash = hashlib.sha256(salt + b"|" + unicodedata.normalize("NFC", username.strip()).casefold().encode())
        key = name_hash.hexdigest()
        with self.writing() as conn:
            row = conn.execute(select(LoginThrottle.__table__).where(LoginThrottle.name_hash == key)).one_or_none()
            if row is not None and row.locked_until and row.locked_until > now:
                wait = int((row.locked_until - now).total_seconds() + 0.999)
                raise AccountLocked(_locked_message(wait), wait)
        derive_key(username, new_salt(), default_params())  # the time a real password check takes
        with self.writing() as conn:
            attempts = (row.failed_attempts if row is not None else 0) + 1
            delay = lockout_delay(attempts)
            locked_until = now + timedelta(seconds=delay) if delay else None
            conn.execute(
                insert(LoginThrottle.__table__).prefix_with("OR REPLACE"),
                {"name_hash": key, "failed_attempts": attempts, "locked_until": locked_until},
            )
            audit.record_pending(conn, now, "login_failed", None, "not an account")
        if delay:
            raise AccountLocked("The user name or password is not right. " + _locked_message(delay), delay)
        raise LoginFailed("The user name or password is not right.")

    def _user_wrap(self, user_id: str) -> vault.WrappedKey:
        with self.reading() as conn:
            row = latest_user_wrap(conn, user_id)
        if row is None:
            raise LoginFailed("This account has no password set. Ask an administrator to reset it.")
        return vault.WrappedKey(row.key_id, row.kdf, row.salt, row.wrapped)

    def _record_failure(self, user_id: str, now: datetime) -> NoReturn:
        with self.writing() as conn:
            attempts = conn.execute(select(User.failed_attempts).where(User.user_id == user_id)).scalar_one() + 1
            delay = lockout_delay(attempts)
            locked_until = now + timedelta(seconds=delay) if delay else None
            conn.execute(
                update(User).where(User.user_id == user_id).values(failed_attempts=attempts, locked_until=locked_until)
            )
            audit.record_pending(conn, now, "login_failed", user_id, f"attempt {attempts}")
            if delay:
                audit.record_pending(conn, now, "account_locked", user_id, f"for {delay} s")
        if delay:
            raise AccountLocked("The user name or password is not right. " + _locked_message(delay), delay)
        raise LoginFailed("The user name or password is not right.")

    # --- recovery --------------------------------------------------------------------------------
    def reset_password_with_recovery(self, recovery_key: str, username: str, new_password: str) -> None:
        """Set a new password for any user with the organisation's recovery key."""
        with self.reading() as conn:
            user = self.user_by_name(conn, username)
        if user is None:
            raise NotFound(f"There is no user called {username!r}.")
        check_new_password(new_password, user.username)
        dek = self.unlock_with_recovery(recovery_key)
        now = self.clock.now()
        with self.writing() as conn:
            set_password(conn, dek, user.user_id, new_password, now)
            conn.execute(update(User).where(User.user_id == user.user_id).values(failed_attempts=0, locked_until=None))
            audit.fold_pending(conn, dek)
            audit.append(conn, dek, now, "password_reset", target_id=user.user_id, detail="with the recovery key")

    def unlock_with_recovery(self, recovery_key: str) -> vault.DataKey:
        """The data key from the recovery key; a typo or another store's key is refused clearly."""
        try:
            secret = vault.parse_recovery_key(recovery_key)
        except vault.MalformedRecoveryKey as exc:
            raise InvalidInput(str(exc)) from exc
        with self.reading() as conn:
            row = conn.execute(select(KeyWrap.__table__).where(KeyWrap.purpose == "recovery")).one()
        try:
            return vault.unwrap_with_recovery(vault.WrappedKey(row.key_id, row.kdf, row.salt, row.wrapped), secret)
        except vault.WrongSecret as exc:
            raise LoginFailed("That recovery key does not belong to this store.") from exc


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


def latest_user_wrap(conn: Connection, user_id: str) -> KeyWrap | None:
    """A user's current password wrap of the data key (sign-in reads it; sync sends and compares it)."""
    return conn.execute(
        select(KeyWrap.__table__)
        .where(KeyWrap.user_id == user_id, KeyWrap.purpose == "user")
        .order_by(KeyWrap.wrap_id.desc())
        .limit(1)
    ).one_or_none()


def _locked_message(seconds: int) -> str:
    if seconds >= 120:
        return f"Too many failed attempts: try again in {seconds // 60} minutes."
    return f"Too many failed attempts: try again in {seconds} seconds."


def _insert_user(conn: Connection, user_id: str, username: str, display_name: str, role: str, now: datetime) -> None:
    conn.execute(
        insert(User).values(
            user_id=user_id,
            username=username,
            display_name=display_name,
            role=role,
            active=True,
            created_at=now,
            failed_attempts=0,
        )
    )
    outbox.queue(conn, outbox.USER, user_id, now)


def _insert_wrap(conn: Connection, wrap: vault.WrappedKey, purpose: str, user_id: str | None, now: datetime) -> None:
    conn.execute(
        insert(KeyWrap).values(
            key_id=wrap.key_id,
            purpose=purpose,
            user_id=user_id,
            kdf=wrap.kdf,
            salt=wrap.salt,
            wrapped=wrap.wrapped,
            created_at=now,
        )
    )


def set_password(
    conn: Connection, dek: vault.DataKey, user_id: str, password: str, now: datetime, params: KdfParams | None = None
) -> None:
    """Re-wrap the data key under a new password; no record is touched."""
    wrap = dek.wrap_with_password(password, user_id, params or default_params())
    conn.execute(delete(KeyWrap).where(KeyWrap.user_id == user_id, KeyWrap.purpose == "user"))
    _insert_wrap(conn, wrap, "user", user_id, now)
    outbox.queue(conn, outbox.USER, user_id, now)  # the new wrap lets them sign in on every PC


def add_user_row(
    conn: Connection, dek: vault.DataKey, username: str, display_name: str, role: str, password: str, now: datetime
) -> str:
    name = check_username(username)
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of: {', '.join(ROLES)}.")
    check_new_password(password, name)
    if conn.execute(select(User.user_id).where(User.username == name)).first():
        raise InvalidInput(f"There is already a user called {name!r}.")
    user_id = str(uuid.uuid4())
    _insert_user(conn, user_id, name, display_name.strip() or name, role, now)
    set_password(conn, dek, user_id, password, now)
    return user_id


def remove_store_files(data_dir: Path) -> None:
    """Used only when replacing a store by a restore: the db file and its WAL/SHM companions."""
    path = database.db_path(data_dir)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
