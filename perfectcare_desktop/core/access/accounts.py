"""Account rows: users and the password wraps of the data key. Sign-in reads them, user admin and
store creation write them, sync sends and compares them. No key is unwrapped here."""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from ...crypto import vault
from ...crypto.kdf import KdfParams, default_params, derive_key, new_salt
from ...crypto.signing import AdminKey
from ...errors import InvalidInput, NotFound
from ...store.models import KeyWrap, User
from ..storage import outbox
from .passwords import check_new_password, check_username

ROLES = ("clinician", "admin")
ADMIN_WRAP = "admin"  # the admin signing key's private half, wrapped for one admin (core/access/grants.py)
KEYPAIR_WRAP = "keypair"  # a person's X25519 private key, that key epochs are sealed to (core/access/epochs.py)


@dataclass(frozen=True)
class UserInfo:
    user_id: str
    username: str
    display_name: str
    role: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None


def user_info(u: Any) -> UserInfo:
    return UserInfo(u.user_id, u.username, u.display_name, u.role, u.active, u.created_at, u.last_login_at)


def user_by_name(conn: Connection, username: str) -> Any | None:
    """The user row of this name (NFC, surrounding spaces ignored), or None."""
    name = unicodedata.normalize("NFC", username.strip())
    return conn.execute(select(User.__table__).where(User.username == name)).one_or_none()


def existing_user(conn: Connection, username: str) -> Any:
    """The user row of this name, or NotFound in words."""
    user = user_by_name(conn, username)
    if user is None:
        raise NotFound(f"There is no user called {username!r}.")
    return user


def active_admins(conn: Connection) -> int:
    return len(conn.execute(select(User.user_id).where(User.role == "admin", User.active)).all())


def latest_user_wrap(conn: Connection, user_id: str) -> Any | None:
    """A user's current password wrap of the data key (sign-in reads it; sync sends and compares it)."""
    return conn.execute(
        select(KeyWrap.__table__)
        .where(KeyWrap.user_id == user_id, KeyWrap.purpose == "user")
        .order_by(KeyWrap.wrap_id.desc())
        .limit(1)
    ).one_or_none()


def admin_wrap(conn: Connection, user_id: str, purpose: str = ADMIN_WRAP) -> Any | None:
    """An admin's wrap of the admin signing key, or (`purpose` KEYPAIR_WRAP) a person's wrap of their key
    pair: under the same password-derived key as their data key wrap; sync sends them with it."""
    return conn.execute(
        select(KeyWrap.__table__)
        .where(KeyWrap.user_id == user_id, KeyWrap.purpose == purpose)
        .order_by(KeyWrap.wrap_id.desc())
        .limit(1)
    ).one_or_none()


def insert_user(conn: Connection, user_id: str, username: str, display_name: str, role: str, now: datetime) -> None:
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


def insert_wrap(conn: Connection, wrap: vault.WrappedKey, purpose: str, user_id: str | None, now: datetime) -> None:
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


def admin_wrap_label(user_id: str) -> str:
    return f"admin-key|{user_id}"


def set_password(
    conn: Connection,
    dek: vault.DataKey,
    user_id: str,
    password: str,
    now: datetime,
    params: KdfParams | None = None,
    admin_key: AdminKey | None = None,
) -> None:
    """Re-wrap the data key under a new password (and, for an admin, the admin signing key under the
    same derived key, so signing in derives once); no record is touched. A wrap made under the old
    password goes: the old password opens nothing any more."""
    params = params or default_params()
    salt = new_salt()
    kek = derive_key(password, salt, params)
    conn.execute(delete(KeyWrap).where(KeyWrap.user_id == user_id, KeyWrap.purpose.in_(("user", ADMIN_WRAP))))
    insert_wrap(conn, vault.wrap_secret(dek.material(), kek, salt, params, user_id, dek.key_id), "user", user_id, now)
    if admin_key is not None:
        wrap = vault.wrap_secret(admin_key.material(), kek, salt, params, admin_wrap_label(user_id))
        insert_wrap(conn, wrap, ADMIN_WRAP, user_id, now)
    outbox.queue(conn, outbox.USER, user_id, now)  # the new wrap lets them sign in on every PC


def add_user_row(
    conn: Connection,
    dek: vault.DataKey,
    username: str,
    display_name: str,
    role: str,
    password: str,
    now: datetime,
    admin_key: AdminKey | None = None,
) -> str:
    """A new account with its password wrap; an admin also gets the admin signing key (`admin_key`).
    The caller signs the grant (grants.sign)."""
    name = check_username(username)
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of: {', '.join(ROLES)}.")
    check_new_password(password, name)
    if conn.execute(select(User.user_id).where(User.username == name)).first():
        raise InvalidInput(f"There is already a user called {name!r}.")
    user_id = str(uuid.uuid4())
    insert_user(conn, user_id, name, display_name.strip() or name, role, now)
    set_password(conn, dek, user_id, password, now, admin_key=admin_key if role == "admin" else None)
    return user_id
