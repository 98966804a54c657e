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
from ...crypto.kdf import KdfParams, default_params
from ...errors import InvalidInput
from ...store.models import KeyWrap, User
from ..storage import outbox
from .passwords import check_new_password, check_username

ROLES = ("clinician", "admin")


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


def set_password(
    conn: Connection, dek: vault.DataKey, user_id: str, password: str, now: datetime, params: KdfParams | None = None
) -> None:
    """Re-wrap the data key under a new password; no record is touched."""
    wrap = dek.wrap_with_password(password, user_id, params or default_params())
    conn.execute(delete(KeyWrap).where(KeyWrap.user_id == user_id, KeyWrap.purpose == "user"))
    insert_wrap(conn, wrap, "user", user_id, now)
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
    insert_user(conn, user_id, name, display_name.strip() or name, role, now)
    set_password(conn, dek, user_id, password, now)
    return user_id
