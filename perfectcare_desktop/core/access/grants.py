"""Account grants: who a user is, their role and whether they may sign in, signed by the organisation's
admin key (crypto/signing.py). A PC believes a role or an account's state only through the signature,
checked against the public half pinned in this store; a row edited with sqlite3 or forged on the hub
is refused, and `verify` names it.

A grant's revision only goes up: a PC refuses a signed grant older than the one it holds (a replayed
hub row cannot re-enable an account or restore a role)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ...crypto import vault
from ...crypto.kdf import KdfParams
from ...crypto.signing import AdminKey, AdminPublicKey
from ...errors import NotAllowed
from ...store.models import KeyWrap, Meta, User
from ..storage import outbox
from . import accounts
from .accounts import ADMIN_WRAP, admin_wrap_label

PUBLIC_KEY_META = "admin_public_key"
ADMIN_RECOVERY_WRAP = "admin-recovery"


def public_key(conn: Connection) -> AdminPublicKey | None:
    """The pinned admin public key, or None in a store made before accounts were signed."""
    text = conn.execute(select(Meta.value).where(Meta.key == PUBLIC_KEY_META)).scalar()
    return AdminPublicKey.from_hex(text) if text else None


def store_id(conn: Connection) -> str:
    return conn.execute(select(Meta.value).where(Meta.key == "store_id")).scalar() or ""


def fields(store: str, row: Any, rev: int | None = None) -> tuple[object, ...]:
    """What a grant signature covers: the store, the account, its name, role and state, its revision, a
    person's teams and their public key (a grant signed before either existed covers the rest only)."""
    signed: tuple[object, ...] = ("account", store, row.user_id, row.username, row.display_name, row.role,
                                  bool(row.active), int(row.grant_rev if rev is None else rev))  # fmt: skip
    teams = getattr(row, "teams", None)
    if teams:
        signed = (*signed, teams)
    public = getattr(row, "public_key", None)  # a person's X25519 key that epochs are sealed to (epochs.py)
    return (*signed, "public-key", public) if public else signed


def is_genuine(conn: Connection, row: Any, key: AdminPublicKey | None = None) -> bool:
    """Whether the account row is as an admin signed it (True in a store not yet signing accounts)."""
    key = key or public_key(conn)
    return key is None or key.verify(row.grant_sig, *fields(store_id(conn), row))


ALTERED = (
    "This account's record in the store is not as an administrator last set it (it was changed outside "
    "PerfectCare), so it cannot be used. Ask an administrator to check it ('perfectcare-admin verify' names "
    "what changed), and tell your information governance or IT security team."
)


def require_genuine(conn: Connection, user_id: str) -> Any:
    """The account row, or NotAllowed if its grant does not verify."""
    row = conn.execute(select(User.__table__).where(User.user_id == user_id)).one()
    if not is_genuine(conn, row):
        raise NotAllowed(ALTERED)
    return row


def sign(conn: Connection, admin_key: AdminKey, user_id: str, now: datetime) -> None:
    """Sign the account's current name, role and state as a new revision, and queue it for the hub."""
    row = conn.execute(select(User.__table__).where(User.user_id == user_id)).one()
    key = public_key(conn)
    if key is not None and key != admin_key.public:
        raise NotAllowed("This admin key is not the one this store trusts; nothing was changed.")
    rev = int(row.grant_rev) + 1
    signature = admin_key.sign(*fields(store_id(conn), row, rev))
    conn.execute(update(User).where(User.user_id == user_id).values(grant_rev=rev, grant_sig=signature))
    outbox.queue(conn, outbox.USER, user_id, now)


def adopt(conn: Connection, admin_key: AdminKey, now: datetime) -> None:
    """Pin a new admin key in a store that had none and sign every account with it."""
    conn.execute(insert(Meta.__table__).values(key=PUBLIC_KEY_META, value=admin_key.public.hex()))
    for user_id in conn.execute(select(User.user_id)).scalars().all():
        sign(conn, admin_key, user_id, now)


def wrap_for(conn: Connection, admin_key: AdminKey, user_id: str, kek: bytes, salt: bytes, params: KdfParams,
             now: datetime) -> None:  # fmt: skip
    """Give an admin the private half, under the key their password gives (the data key wrap's salt)."""
    conn.execute(KeyWrap.__table__.delete().where(KeyWrap.user_id == user_id, KeyWrap.purpose == ADMIN_WRAP))
    wrap = vault.wrap_secret(admin_key.material(), kek, salt, params, admin_wrap_label(user_id))
    accounts.insert_wrap(conn, wrap, ADMIN_WRAP, user_id, now)
    outbox.queue(conn, outbox.USER, user_id, now)


def wrap_for_recovery(conn: Connection, admin_key: AdminKey, recovery_secret: bytes, now: datetime) -> None:
    conn.execute(KeyWrap.__table__.delete().where(KeyWrap.purpose == ADMIN_RECOVERY_WRAP))
    wrap = vault.wrap_with_recovery(admin_key.material(), recovery_secret, ADMIN_RECOVERY_WRAP)
    accounts.insert_wrap(conn, wrap, ADMIN_RECOVERY_WRAP, None, now)


def _wrap_row(conn: Connection, purpose: str, user_id: str | None) -> vault.WrappedKey | None:
    row = conn.execute(
        select(KeyWrap.__table__).where(KeyWrap.purpose == purpose, KeyWrap.user_id == user_id)
        .order_by(KeyWrap.wrap_id.desc()).limit(1)
    ).one_or_none()  # fmt: skip
    return vault.WrappedKey(row.key_id, row.kdf, bytes(row.salt), bytes(row.wrapped)) if row else None


def unwrap_for(conn: Connection, user_id: str, kek: bytes) -> AdminKey | None:
    """The admin key from this admin's wrap, or None if they have none (or it does not open)."""
    wrap = _wrap_row(conn, ADMIN_WRAP, user_id)
    if wrap is None:
        return None
    try:
        key = AdminKey(vault.unwrap_secret(wrap, kek, admin_wrap_label(user_id)))
    except vault.WrongSecret:
        return None  # made under an earlier password (the data key wrap was re-made without it)
    pinned = public_key(conn)
    return key if pinned is None or key.public == pinned else None


def unwrap_with_recovery(conn: Connection, recovery_secret: bytes) -> AdminKey | None:
    wrap = _wrap_row(conn, ADMIN_RECOVERY_WRAP, None)
    if wrap is None:
        return None
    key = AdminKey(vault.unwrap_secret_with_recovery(wrap, recovery_secret, ADMIN_RECOVERY_WRAP))
    pinned = public_key(conn)
    return key if pinned is None or key.public == pinned else None


def altered_accounts(conn: Connection) -> list[str]:
    """`verify`'s sentences: each account whose row is not as an admin signed it."""
    key = public_key(conn)
    if key is None:
        return []
    store = store_id(conn)
    return [
        f"account {row.username!r} ({row.user_id}) is not as an administrator signed it: its name, role or "
        "enabled state was changed outside PerfectCare, or it was put back from an older copy"
        for row in conn.execute(select(User.__table__).order_by(User.username))
        if not key.verify(row.grant_sig, *fields(store, row))
    ]
