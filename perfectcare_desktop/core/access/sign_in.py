"""Letting a user in, or refusing with lockout; resetting a password with the organisation's
recovery key. What comes out is a user id and the unwrapped data key, for `Session.sign_in`."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import datetime, timedelta
from json import JSONDecodeError
from typing import NoReturn

from sqlalchemy import insert, select, update

from ...crypto import vault
from ...crypto.kdf import KdfParamsRejected, default_params, derive_key, new_salt
from ...errors import AccountLocked, InvalidInput, LoginFailed, NotFound, StoreDamaged
from ...store.models import KeyWrap, LoginThrottle, User
from ..storage import audit
from ..storage.store import Store
from .accounts import latest_user_wrap, set_password, user_by_name
from .passwords import check_new_password

FREE_ATTEMPTS = 3  # typos happen; the delay starts after the third wrong password in a row
FIRST_DELAY_SECONDS = 15
MAX_DELAY_SECONDS = 15 * 60


def lockout_delay(failed_attempts: int) -> int:
    """Seconds to wait after this many consecutive failures: 0, 0, 15, 30, 60, ... up to 15 minutes."""
    if failed_attempts < FREE_ATTEMPTS:
        return 0
    doubled: int = FIRST_DELAY_SECONDS * 2 ** (failed_attempts - FREE_ATTEMPTS)  # int ** int is Any to mypy
    return min(doubled, MAX_DELAY_SECONDS)


def authenticate(store: Store, username: str, password: str, action: str) -> tuple[str, vault.DataKey]:
    """Check a password with lockout; on success fold pending events and audit `action`."""
    now = store.clock.now()
    with store.writing() as conn:
        user = user_by_name(conn, username) if username.strip() else None
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
        dek = vault.unwrap_with_password(wrap, password, user.user_id)
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
    with store.writing() as conn:
        conn.execute(
            update(User)
            .where(User.user_id == user.user_id)
            .values(failed_attempts=0, locked_until=None, last_login_at=now)
        )
        audit.fold_pending(conn, dek)
        audit.append(conn, dek, now, action, user_id=user.user_id)
    return user.user_id, dek


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
        set_password(conn, dek, user.user_id, new_password, now)
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
