"""A signed-in session: one user and the data key, and the managers that do the work with them.

The session itself only holds the key and says whether it may be used (`require_unlocked`,
`require_admin`); the work is in its managers, each in a module named for it:
- `session.patients` (core/patients/registry.py): the patient list in memory, search, NHS checks, import;
- `session.records` (core/storage/records.py): clinical records' versions, history, entered-in-error;
- `session.users` (core/access/user_admin.py): accounts, for admins.
Every write is one transaction that appends versions and the audit entry recording it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import select

from ...crypto import vault
from ...crypto.signing import AdminKey
from ...errors import LoginFailed, NotAllowed, SessionLocked
from ...store.models import User
from ..patients.registry import PatientRegistry
from ..storage import audit
from ..storage.records import Records
from ..storage.store import Store
from . import grants
from .accounts import UserInfo, existing_user, set_password, user_info
from .passwords import check_new_password
from .sign_in import authenticate
from .teams import Teams
from .user_admin import UserAdmin


class Session:
    def __init__(self, store: Store, user_id: str, dek: vault.DataKey, admin_key: AdminKey | None = None) -> None:
        self.store = store
        self._dek: vault.DataKey | None = dek
        self._admin_key = admin_key
        self._adopt: Callable[[], AdminKey] | None = None
        with store.reading() as conn:
            user = conn.execute(select(User.__table__).where(User.user_id == user_id)).one()
        self.user: UserInfo = user_info(user)
        # lock() adds one; work on another thread that began under an older generation (a caseload load,
        # a save) never writes the patient cache after the lock that emptied it. The guard makes the
        # check and the write one step.
        self._generation = 0
        self.cache_guard = threading.Lock()
        self.patients = PatientRegistry(self)
        self.records = Records(self)
        self.users = UserAdmin(self)
        self.teams = Teams(self)

    @classmethod
    def sign_in(cls, store: Store, username: str, password: str) -> Session:
        """Let a user in (lockout rules apply) and hold the data key their password unwraps."""
        unlocked = authenticate(store, username, password, action="login")
        session = cls(store, unlocked.user_id, unlocked.dek, unlocked.admin_key)
        session._adopt = unlocked.adopt
        return session

    # --- lock state ----------------------------------------------------------------------------
    @property
    def locked(self) -> bool:
        return self._dek is None

    def require_unlocked(self) -> vault.DataKey:
        """The data key, or SessionLocked with a sentence saying to sign in again."""
        if self._dek is None:
            raise SessionLocked("The session is locked: sign in again to continue.")
        return self._dek

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"

    def require_admin(self) -> None:
        """Refuse unless this user is an active admin now, as an admin signed it. Checked against the
        store, not the role cached at sign-in: an admin disabled or demoted meanwhile (on another PC,
        say) loses admin powers at once; a role edited into the file is refused (grants.py)."""
        with self.store.reading() as conn:
            row = grants.require_genuine(conn, self.user.user_id)
        if row.role != "admin" or not row.active:
            raise NotAllowed("Only an administrator can do that.")

    def make_admin_key(self) -> AdminKey:
        """In a store that does not sign accounts yet (one from an older release, enrolled with a hub):
        make the admin key, sign every account, and hold it (`hub init` does this, then gives the hub
        its public half, so every PC takes the same one)."""
        self.require_admin()
        if self._adopt is None:
            raise NotAllowed("This store already signs accounts, or you signed in before it could; sign in again.")
        self._admin_key, self._adopt = self._adopt(), None
        return self._admin_key

    def admin_key(self) -> AdminKey | None:
        """The admin signing key, for an admin's change to accounts; None in a store that does not sign
        accounts yet. Refused to an admin whose account holds no copy of it."""
        self.require_admin()
        self.require_unlocked()
        with self.store.reading() as conn:
            pinned = grants.public_key(conn)
        if pinned is None:
            return None
        if self._admin_key is None or self._admin_key.public != pinned:
            raise NotAllowed(
                "Your account does not hold this organisation's admin key, so it cannot change accounts here. "
                "An administrator who holds it can disable and re-enable your account with a new password, which gives "
                "you the key; in a store made by this release the recovery key does too (user reset-password)."
            )
        return self._admin_key

    @property
    def generation(self) -> int:
        """How many times this session has locked: a result from work begun under another is stale."""
        return self._generation

    def lock(self) -> None:
        """Forget the key and every decrypted detail held in memory, then write the lock's audit entry
        (on this thread: the CLI and tests; the app runs the write on its store worker, see `forget`)."""
        audit_lock = self.forget()
        if audit_lock is not None:
            audit_lock()

    def forget(self) -> Callable[[], None] | None:
        """Lock at once without touching the store: forget the key and every decrypted detail (a load in
        flight publishes nothing). Returns the write of the lock's audit entry, for the caller to run
        where the store is used (the app's store worker), or None if the session was already locked. The
        key that write needs is held by the returned callable alone, never again by the session."""
        dek = self._dek
        if dek is None:
            return None
        with self.cache_guard:
            self._generation += 1
            self._dek = None
            self._admin_key = self._adopt = None
            self.patients.forget()
        return self._audit_write(dek, self.now(), "lock")

    def unlock(self, password: str) -> None:
        """Unlock as the same user (lockout rules apply as at sign-in)."""
        unlocked = authenticate(self.store, self.user.username, password, action="unlock")
        if unlocked.user_id != self.user.user_id:  # pragma: no cover - same username, same id
            raise LoginFailed("The user name or password is not right.")
        self._dek, self._admin_key, self._adopt = unlocked.dek, unlocked.admin_key, unlocked.adopt

    def now(self) -> datetime:
        return self.store.clock.now()

    def today(self) -> date:
        return self.now().date()

    def change_password(self, old_password: str, new_password: str) -> None:
        """Re-wrap the data key under a new password; nothing else changes."""
        check_new_password(new_password, self.user.username)
        try:
            authenticate(self.store, self.user.username, old_password, action="unlock")
        except LoginFailed as exc:
            raise LoginFailed("The current password is not right; the password was not changed.") from exc
        dek, now = self.require_unlocked(), self.now()
        with self.store.writing() as conn:
            set_password(conn, dek, self.user.user_id, new_password, now, admin_key=self._admin_key)
            audit.append(conn, dek, now, "password_change", user_id=self.user.user_id, target_id=self.user.user_id)

    # --- audit ---------------------------------------------------------------------------------
    def record_event(
        self, action: str, *, patient_id: str | None = None, target_id: str | None = None, detail: str = ""
    ) -> None:
        """Audit an event that changes no record (view, print, export)."""
        self.event_recorder(action, patient_id=patient_id, target_id=target_id, detail=detail)()

    def event_recorder(
        self, action: str, *, patient_id: str | None = None, target_id: str | None = None, detail: str = ""
    ) -> Callable[[], None]:
        """`record_event` in two steps: the key and the time are taken now (SessionLocked if locked) and
        the returned callable writes the entry, on the store worker. So a print is audited even when the
        session locks, or its dialog closes, before the worker gets to it."""
        return self._audit_write(self.require_unlocked(), self.now(), action, patient_id=patient_id,
                                 target_id=target_id, detail=detail)  # fmt: skip

    def _audit_write(self, dek: vault.DataKey, at: datetime, action: str, *, patient_id: str | None = None,
                     target_id: str | None = None, detail: str = "") -> Callable[[], None]:  # fmt: skip
        store, user_id = self.store, self.user.user_id

        def write() -> None:
            with store.writing() as conn:
                audit.append(conn, dek, at, action, user_id=user_id, patient_id=patient_id, target_id=target_id,
                             detail=detail)  # fmt: skip

        return write

    def audit_trail(
        self,
        *,
        username: str | None = None,
        patient_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 1000,
    ) -> list[audit.AuditRecord]:
        """The audit trail, newest last (admins only)."""
        self.require_admin()
        dek = self.require_unlocked()
        with self.store.reading() as conn:
            user_id = None
            if username:
                user = existing_user(conn, username)
                user_id = user.user_id
            return audit.read(
                conn, dek, user_id=user_id, patient_id=patient_id, action=action, since=since, until=until, limit=limit
            )
