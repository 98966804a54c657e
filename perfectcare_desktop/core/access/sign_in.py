"""Letting a user in, or refusing with lockout; resetting a password with the organisation's
recovery key. What comes out is a user id and the unwrapped data key, for `Session.sign_in`."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from json import JSONDecodeError
from typing import NoReturn

from sqlalchemy import Connection, insert, select, update

from ...crypto import vault
from ...crypto.kdf import KdfParams, KdfParamsRejected, default_params, derive_key, new_salt
from ...crypto.signing import AdminKey
from ...errors import AccountLocked, InvalidInput, LoginFailed, NotAllowed, NotFound, StoreDamaged
from ...store.models import KeyWrap, LoginThrottle, Meta, User
from ..storage import arrivals, audit
from ..storage.store import Store
from . import grants, teams
from .accounts import latest_user_wrap, set_password, user_by_name
from .passwords import check_new_password
from .teams import TEAM_ROLE

DEVICE_CONFIG_META = "sync_config"  # sync/device.CONFIG_KEY (core cannot import sync; a test ties the two)
FREE_ATTEMPTS = 3  # typos happen; the delay starts after the third wrong password in a row
FIRST_DELAY_SECONDS = 15
MAX_DELAY_SECONDS = 15 * 60


def lockout_delay(failed_attempts: int) -> int:
    """Seconds to wait after this many consecutive failures: 0, 0, 15, 30, 60, ... up to 15 minutes."""
    if failed_attempts < FREE_ATTEMPTS:
        return 0
    doubled: int = FIRST_DELAY_SECONDS * 2 ** (failed_attempts - FREE_ATTEMPTS)  # int ** int is Any to mypy
    return min(doubled, MAX_DELAY_SECONDS)


@dataclass(frozen=True)
class Unlocked:
    """What a right password opens: the data key, and for an admin the admin signing key."""

    user_id: str
    dek: vault.DataKey
    admin_key: AdminKey | None
    # For an admin of a store that does not sign accounts yet: makes the admin key, signs every account
    # and gives this admin their copy (under the key their password gave at sign-in).
    adopt: Callable[[], AdminKey] | None = None


def authenticate(store: Store, username: str, password: str, action: str) -> Unlocked:
    """Check a password with lockout; on success fold pending events and audit `action`.

    The account must be as an admin signed it (grants.py): a role or an enabled flag edited in the
    file is refused, and no attempt is counted (no password was wrong)."""
    now = store.clock.now()
    with store.writing() as conn:
        user = user_by_name(conn, username) if username.strip() else None
        if user is not None and user.role == TEAM_ROLE:
            user = None  # a team never signs in: answered as any name that is no account
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
        _fail_unknown_name(store, username, now)
    wrap = _user_wrap(store, user.user_id)
    try:
        kek = vault.password_kek(wrap, password)
        dek = vault.DataKey(wrap.key_id, vault.unwrap_secret(wrap, kek, user.user_id))
    except vault.WrongSecret:
        _record_failure(store, user.user_id, now)
    except (KdfParamsRejected, JSONDecodeError, RecursionError) as exc:
        # Only an edit of the store file puts these here: no password was tried, so no attempt counts.
        why = f" ({exc})" if isinstance(exc, KdfParamsRejected) else ""
        raise StoreDamaged(
            f"This store's key settings are not ones PerfectCare writes{why}: the store may have been tampered "
            "with. Restore a backup made before the change, and tell your information governance or IT security "
            "team. Nothing was changed."
        ) from None
    with store.reading() as conn:
        genuine = grants.is_genuine(
            conn, conn.execute(select(User.__table__).where(User.user_id == user.user_id)).one()
        )
    if not genuine:
        raise NotAllowed(grants.ALTERED)
    with store.writing() as conn:
        conn.execute(
            update(User)
            .where(User.user_id == user.user_id)
            .values(failed_attempts=0, locked_until=None, last_login_at=now)
        )
        admin_key = grants.unwrap_for(conn, user.user_id, kek) if user.role == "admin" else None
        if admin_key is not None and not teams.any_team(conn):  # a store from before teams: one for everyone
            teams.ensure_everyone_team(conn, admin_key, store.organisation, now)
        unsigned = user.role == "admin" and grants.public_key(conn) is None
        enrolled = is_enrolled(conn)
        audit.fold_pending(conn, dek)
        audit.append(conn, dek, now, action, user_id=user.user_id)

    def adopt() -> AdminKey:
        made = AdminKey.generate()
        with store.writing() as conn:
            if grants.public_key(conn) is not None:
                raise NotAllowed("This store already has an admin key; nothing was changed.")
            grants.adopt(conn, made, store.clock.now())
            teams.ensure_everyone_team(conn, made, store.organisation, store.clock.now())
            grants.wrap_for(conn, made, user.user_id, kek, wrap.salt, _params(wrap), store.clock.now())
            audit.append(conn, dek, store.clock.now(), "admin_key_created", user_id=user.user_id)
        return made

    arrivals.ensure_baseline(store, dek, now)  # once per store: see core/storage/arrivals.py
    if unsigned and not enrolled:
        # A store made before accounts were signed, used on its own: its first admin to sign in makes the
        # admin key. An enrolled store takes the hub's, or makes it at `hub init` (docs/sync.md), so two
        # PCs never make two.
        admin_key = adopt()
    return Unlocked(user.user_id, dek, admin_key, adopt if unsigned else None)


def _params(wrap: vault.WrappedKey) -> KdfParams:
    return KdfParams.from_json(wrap.kdf.removeprefix("argon2id:"))


def is_enrolled(conn: Connection) -> bool:
    """Whether this store syncs with a hub (sync/device.py keeps its sealed settings under this key)."""
    return conn.execute(select(Meta.value).where(Meta.key == DEVICE_CONFIG_META)).scalar() is not None


def _fail_unknown_name(store: Store, username: str, now: datetime) -> NoReturn:
    """A name that is no account gets the same answers, delays and time cost as a wrong password,
    so guessing cannot tell which user names exist."""
    salt = (store.store_id or "perfectcare").encode()
    name_hash = hashlib.sha256(salt + b"|" + unicodedata.normalize("NFC", username.strip()).casefold().encode())
    key = name_hash.hexdigest()
    with store.writing() as conn:
        row = conn.execute(select(LoginThrottle.__table__).where(LoginThrottle.name_hash == key)).one_or_none()
        if row is not None and row.locked_until and row.locked_until > now:
            wait = int((row.locked_until - now).total_seconds() + 0.999)
            raise AccountLocked(_locked_message(wait), wait)
    derive_key(username, new_salt(), default_params())  # the time a real password check takes
    with store.writing() as conn:
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


def _user_wrap(store: Store, user_id: str) -> vault.WrappedKey:
    with store.reading() as conn:
        row = latest_user_wrap(conn, user_id)
    if row is None:
        raise LoginFailed("This account has no password set. Ask an administrator to reset it.")
    return vault.WrappedKey(row.key_id, row.kdf, row.salt, row.wrapped)


def _record_failure(store: Store, user_id: str, now: datetime) -> NoReturn:
    with store.writing() as conn:
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


def _locked_message(seconds: int) -> str:
    if seconds >= 120:
        return f"Too many failed attempts: try again in {seconds // 60} minutes."
    return f"Too many failed attempts: try again in {seconds} seconds."


# --- recovery ------------------------------------------------------------------------------------
def reset_password_with_recovery(store: Store, recovery_key: str, username: str, new_password: str) -> None:
    """Set a new password for any user with the organisation's recovery key."""
    with store.reading() as conn:
        user = user_by_name(conn, username)
    if user is None:
        raise NotFound(f"There is no user called {username!r}.")
    check_new_password(new_password, user.username)
    dek = unlock_with_recovery(store, recovery_key)
    now = store.clock.now()
    with store.writing() as conn:
        admin_key = None
        if user.role == "admin":  # the recovery key holds a copy of the admin key: give it back to them
            admin_key = grants.unwrap_with_recovery(conn, vault.parse_recovery_key(recovery_key))
        set_password(conn, dek, user.user_id, new_password, now, admin_key=admin_key)
        conn.execute(update(User).where(User.user_id == user.user_id).values(failed_attempts=0, locked_until=None))
        audit.fold_pending(conn, dek)
        audit.append(conn, dek, now, "password_reset", target_id=user.user_id, detail="with the recovery key")


def unlock_with_recovery(store: Store, recovery_key: str) -> vault.DataKey:
    """The data key from the recovery key; a typo or another store's key is refused clearly."""
    try:
        secret = vault.parse_recovery_key(recovery_key)
    except vault.MalformedRecoveryKey as exc:
        raise InvalidInput(str(exc)) from exc
    with store.reading() as conn:
        row = conn.execute(select(KeyWrap.__table__).where(KeyWrap.purpose == "recovery")).one()
    try:
        return vault.unwrap_with_recovery(vault.WrappedKey(row.key_id, row.kdf, row.salt, row.wrapped), secret)
    except vault.WrongSecret as exc:
        raise LoginFailed("That recovery key does not belong to this store.") from exc
