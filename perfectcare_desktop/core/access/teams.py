"""Teams (issue 16 part 1): who cares for whom. Admins make teams and put people in them; a patient
has a responsible team and may be shared with others; a clinician sees the patients of their teams.

A team is a principal beside the people in `users` (role `team`, never signing in), and a person's
teams are part of their grant: both are signed by the admin key (grants.py), so a team edited into the
store file or forged on the hub is refused like an account. A patient's teams are inside their sealed
details (a transfer or a share is a new version of them, audited).

Today the app enforces who sees whom; every PC still holds every patient under the one data key.
Keys per team, and revocation that takes data away, are issue 16 parts 2 and 3 (docs/store.md)."""

from __future__ import annotations

import json
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from ...crypto.signing import AdminKey
from ...errors import InvalidInput, NotFound
from ...store.models import User
from ..storage import audit
from . import grants
from .accounts import existing_user, insert_user

if TYPE_CHECKING:  # the session makes its teams manager: a type, not a dependency of behaviour
    from .session import Session

TEAM_ROLE = "team"
_EVERYONE = uuid.UUID("0d1e6f0c-7a53-4c1e-9f0b-5f6a2f1f2b61")


@dataclass(frozen=True)
class TeamInfo:
    team_id: str
    name: str
    active: bool
    members: tuple[str, ...]  # user names


def everyone_team_id(store_id: str) -> str:
    """The team an older store's patients and staff all join: the same id on every PC of the store, so two
    PCs upgrading apart make one team, not two."""
    return str(uuid.uuid5(_EVERYONE, store_id))


def team_ids(row: Any) -> frozenset[str]:
    return frozenset(json.loads(row.teams)) if getattr(row, "teams", None) else frozenset()


def _encode(ids: frozenset[str]) -> str | None:
    return json.dumps(sorted(ids)) if ids else None


def any_team(conn: Connection) -> bool:
    return conn.execute(select(User.user_id).where(User.role == TEAM_ROLE).limit(1)).first() is not None


def names(conn: Connection) -> dict[str, str]:
    """team id -> name, every team (for showing a patient's teams)."""
    q = select(User.user_id, User.display_name).where(User.role == TEAM_ROLE)
    return {r.user_id: r.display_name for r in conn.execute(q)}


def _insert_team(conn: Connection, admin_key: AdminKey, team_id: str, name: str, now: datetime) -> None:
    insert_user(conn, team_id, f"team:{team_id}", name, TEAM_ROLE, now)
    grants.sign(conn, admin_key, team_id, now)


def _set_teams(conn: Connection, admin_key: AdminKey, user_id: str, ids: frozenset[str], now: datetime) -> None:
    conn.execute(update(User).where(User.user_id == user_id).values(teams=_encode(ids)))
    grants.sign(conn, admin_key, user_id, now)


def ensure_everyone_team(conn: Connection, admin_key: AdminKey, organisation: str, now: datetime) -> str | None:
    """In a store without teams: one team holding every person (and, by default, every patient), so
    upgrading takes nothing from anyone's caseload. Returns its id if made."""
    if any_team(conn):
        return None
    team_id = everyone_team_id(grants.store_id(conn))
    _insert_team(conn, admin_key, team_id, f"{organisation or 'Everyone'} (all patients)", now)
    people = conn.execute(select(User.__table__).where(User.role != TEAM_ROLE)).all()
    for person in people:
        _set_teams(conn, admin_key, person.user_id, team_ids(person) | {team_id}, now)
    return team_id


def check_name(name: str) -> str:
    clean = unicodedata.normalize("NFC", name.strip())
    if not clean:
        raise InvalidInput("Enter the team's name.")
    if len(clean) > 100 or any(unicodedata.category(ch).startswith("C") for ch in clean):
        raise InvalidInput("A team's name is up to 100 letters, digits, spaces and punctuation.")
    return clean


class Teams:
    def __init__(self, session: Session) -> None:
        self._session = session

    def all(self) -> list[TeamInfo]:
        """Every team with its members, by name (any signed-in user: a patient's teams are shown by name)."""
        self._session.require_unlocked()
        with self._session.store.reading() as conn:
            rows = conn.execute(select(User.__table__).where(User.role.in_((TEAM_ROLE, "clinician", "admin")))).all()
        members: dict[str, list[str]] = {}
        for r in rows:
            if r.role != TEAM_ROLE and r.active:
                for t in team_ids(r):
                    members.setdefault(t, []).append(r.username)
        return sorted(
            (TeamInfo(r.user_id, r.display_name, bool(r.active), tuple(sorted(members.get(r.user_id, ()))))
             for r in rows if r.role == TEAM_ROLE),
            key=lambda t: t.name.casefold(),
        )  # fmt: skip

    def find(self, name_or_id: str) -> TeamInfo:
        wanted = unicodedata.normalize("NFC", name_or_id.strip()).casefold()
        for team in self.all():
            if wanted in (team.team_id, team.name.casefold()):
                return team
        raise NotFound(f"There is no team called {name_or_id!r}.")

    def create(self, name: str) -> str:
        """A new team (admins)."""
        s = self._session
        key = s.admin_key()
        if key is None:
            raise InvalidInput("Teams need the admin key: sign in again as an administrator first.")
        clean = check_name(name)
        dek, now = s.require_unlocked(), s.now()
        with s.store.writing() as conn:
            if clean.casefold() in {n.casefold() for n in names(conn).values()}:
                raise InvalidInput(f"There is already a team called {clean!r}.")
            team_id = str(uuid.uuid4())
            _insert_team(conn, key, team_id, clean, now)
            audit.append(conn, dek, now, "team_add", user_id=s.user.user_id, target_id=team_id, detail=clean)
        return team_id

    def add_member(self, team: str, username: str) -> None:
        self._change_member(team, username, add=True)

    def remove_member(self, team: str, username: str) -> None:
        """Take someone out of a team: from now on they do not see its patients (what they saw before,
        they saw; keys that take data away are issue 16 part 3)."""
        self._change_member(team, username, add=False)

    def _change_member(self, team: str, username: str, *, add: bool) -> None:
        s = self._session
        key = s.admin_key()
        if key is None:
            raise InvalidInput("Teams need the admin key: sign in again as an administrator first.")
        found = self.find(team)
        dek, now = s.require_unlocked(), s.now()
        with s.store.writing() as conn:
            person = existing_user(conn, username)
            if person.role == TEAM_ROLE:
                raise NotFound(f"There is no user called {username!r}.")
            have = team_ids(person)
            if add == (found.team_id in have):
                where = "already in" if add else "not in"
                raise InvalidInput(f"{person.username!r} is {where} {found.name!r}; nothing was changed.")
            _set_teams(conn, key, person.user_id, have | {found.team_id} if add else have - {found.team_id}, now)
            action, word = ("team_member_add", "to") if add else ("team_member_remove", "from")
            audit.append(conn, dek, now, action, user_id=s.user.user_id, target_id=person.user_id,
                         detail=f"{person.username} {word} {found.name}")  # fmt: skip
