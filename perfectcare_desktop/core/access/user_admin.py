"""Accounts, as an admin manages them: list, add, disable, re-enable. Everything a user wrote stays,
attributed to them, whatever happens to their account."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from ...errors import InvalidInput, NotAllowed
from ...store.models import KeyWrap, User
from ..storage import audit, outbox
from . import grants
from .accounts import UserInfo, active_admins, add_user_row, existing_user, set_password, user_info
from .passwords import check_new_password
from .teams import TEAM_ROLE, everyone_team_id
from .teams import names as team_names

if TYPE_CHECKING:  # the session makes its user admin: a type, not a dependency of behaviour
    from .session import Session


class UserAdmin:
    def __init__(self, session: Session) -> None:
        self._session = session

    def staff_names(self) -> dict[str, str]:
        """user id -> display name, for attributing versions in history (any signed-in user)."""
        self._session.require_unlocked()
        with self._session.store.reading() as conn:
            q = select(User.user_id, User.display_name).where(User.role != TEAM_ROLE)
            return {r.user_id: r.display_name for r in conn.execute(q)}

    def all(self) -> list[UserInfo]:
        self._session.require_admin()
        with self._session.store.reading() as conn:
            q = select(User.__table__).where(User.role != TEAM_ROLE).order_by(User.username)
            return [user_info(u) for u in conn.execute(q).all()]

    def add(self, username: str, role: str, password: str, display_name: str = "", teams: tuple[str, ...] = ()) -> str:
        """A new account, in the given teams (names or ids); with none given, in the team that holds
        everyone when the store has one (a store from before teams), else in no team until one is chosen."""
        s = self._session
        key = s.admin_key()
        chosen = frozenset(s.teams.find(t).team_id for t in teams)
        dek, now = s.require_unlocked(), s.now()
        with s.store.writing() as conn:
            user_id = add_user_row(conn, dek, username, display_name, role, password, now, admin_key=key)
            if not chosen:
                everyone = everyone_team_id(grants.store_id(conn))
                chosen = frozenset({everyone}) if everyone in team_names(conn) else frozenset()
            if chosen:
                conn.execute(update(User).where(User.user_id == user_id).values(teams=json.dumps(sorted(chosen))))
            if key is not None:
                grants.sign(conn, key, user_id, now)
            audit.append(conn, dek, now, "user_add", user_id=s.user.user_id, target_id=user_id,
                         detail=f"{username.strip()} as {role}")  # fmt: skip
        return user_id

    def disable(self, username: str) -> None:
        """Stop a user signing in. Everything they wrote stays, attributed to them."""
        s = self._session
        key = s.admin_key()
        dek, now = s.require_unlocked(), s.now()
        with s.store.writing() as conn:
            user = existing_user(conn, username)
            if user.user_id == s.user.user_id:
                raise NotAllowed("You cannot disable your own account.")
            if not user.active:
                raise InvalidInput(f"{user.username!r} is already disabled.")
            if user.role == "admin" and active_admins(conn) <= 1:
                raise NotAllowed("This is the last active administrator; add another before disabling it.")
            conn.execute(update(User).where(User.user_id == user.user_id).values(active=False, disabled_at=now))
            if key is not None:
                grants.sign(conn, key, user.user_id, now)
            # Their copy of the data key goes too, so the account is closed by cryptography, not a flag.
            conn.execute(KeyWrap.__table__.delete().where(KeyWrap.user_id == user.user_id))
            outbox.queue(conn, outbox.USER, user.user_id, now)  # disabled on every PC at its next sync
            audit.append(conn, dek, now, "user_disable", user_id=s.user.user_id, target_id=user.user_id,
                         detail=user.username)  # fmt: skip

    def enable(self, username: str, new_password: str) -> None:
        """Re-enable a disabled user with a new password (their old key wrap was destroyed)."""
        s = self._session
        key = s.admin_key()
        dek, now = s.require_unlocked(), s.now()
        with s.store.writing() as conn:
            user = existing_user(conn, username)
            if user.active:
                raise InvalidInput(f"{user.username!r} is already enabled.")
            check_new_password(new_password, user.username)
            conn.execute(
                update(User)
                .where(User.user_id == user.user_id)
                .values(active=True, disabled_at=None, failed_attempts=0, locked_until=None)
            )
            set_password(conn, dek, user.user_id, new_password, now, admin_key=key if user.role == "admin" else None)
            if key is not None:
                grants.sign(conn, key, user.user_id, now)
            audit.append(conn, dek, now, "user_enable", user_id=s.user.user_id, target_id=user.user_id,
                         detail=user.username)  # fmt: skip
