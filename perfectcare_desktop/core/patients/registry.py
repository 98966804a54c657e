"""The patients of a session: registering and correcting them, the list held in memory once per
unlock (with its search index), NHS-number checks through the keyed blind index, and bulk import.

The list is decrypted once and kept up to date by this session's own saves; `reload()` re-reads it
after another process or sync changed the store. `Session.lock()` empties it (`forget`) under the
session's guard, and a load begun before the lock publishes nothing."""

from __future__ import annotations

import dataclasses
import gc
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, insert, select

from ...crypto import vault
from ...errors import InvalidInput, NotAllowed, NotFound, SessionLocked
from ...store.models import BlindIndex, Version
from ..access import grants, teams
from ..storage import arrivals, audit, versions
from ..storage.records import PATIENT, record_row
from . import snapshot as patient_snapshot
from .details import PatientDetails, PatientSummary, validated
from .nhs_number import InvalidNhsNumber, normalise_nhs_number
from .search_index import PatientIndex

if TYPE_CHECKING:  # the session makes its registry: a type, not a dependency of behaviour
    from ..access.session import Session

# Reading a record's chain costs far more than one row of the bulk read: past this many changes since
# the snapshot (an import, a first sync), the list is read again from the heads.
_SNAPSHOT_CATCH_UP = 200
BREAK_GLASS_HOURS = 12  # a night shift: opened with a reason, a patient stays visible this long
OUTSIDE_TEAMS = (
    "This person's care is with a team you are not in, so their record is not on your caseload. In an "
    "emergency you can open it by giving your reason: it is recorded and reported to your administrators."
)


class PatientRegistry:
    def __init__(self, session: Session) -> None:
        self._session = session
        self._summaries: dict[str, PatientSummary] | None = None
        self._index = PatientIndex()
        self._allowed: Callable[[PatientSummary], bool] | None = None  # see _access

    def forget(self) -> None:
        """Drop every decrypted detail (called by Session.lock under its guard)."""
        self._summaries = None
        self._allowed = None
        self._index.clear()

    @property
    def loaded(self) -> bool:
        """Whether the patient list is in memory (all() would not decrypt anything)."""
        return self._summaries is not None

    # --- registering and correcting --------------------------------------------------------------
    def add(self, details: PatientDetails) -> str:
        s = self._session
        generation = s.generation
        clean = validated(details, s.today())
        dek, now = s.require_unlocked(), s.now()
        digest = dek.blind_index("nhs", clean.nhs_number)
        with s.store.writing() as conn:
            for other in _indexed_nhs(conn, digest):
                if self._current_nhs(conn, other) == clean.nhs_number:
                    raise InvalidInput(
                        f"A patient with NHS number {clean.nhs_number_formatted} is already registered; "
                        "open that record instead."
                    )
            clean = self._placed(conn, clean)
            record_id = versions.create_record(conn, PATIENT, None, s.user.user_id, now,
                                               record_id=self._new_patient_id(conn, dek, clean))  # fmt: skip
            version_id = versions.append(
                conn, dek, versions.NewVersion(record_id, PATIENT, clean.to_payload()), s.user.user_id, now, []
            )
            conn.execute(insert(BlindIndex.__table__), dict(kind="nhs", digest=digest, record_id=record_id))
            audit.append(conn, dek, now, "create", user_id=s.user.user_id, patient_id=record_id,
                         target_id=version_id, detail=PATIENT)  # fmt: skip
        self._put_summary(PatientSummary(record_id, clean, version_id, now, False), generation)
        return record_id

    def _new_patient_id(self, conn: Connection, dek: vault.DataKey, clean: PatientDetails) -> str:
        """The derived id for a new patient, unless a record here has it already: that one's NHS number
        was corrected away from this one (a current match is refused before), so this person is new."""
        derived = versions.patient_record_id(dek, clean.nhs_number, clean.date_of_birth)
        return versions.new_id() if versions.record_exists(conn, derived) else derived

    def update(self, record_id: str, details: PatientDetails) -> str:
        """Save changed details as a new version; the earlier ones stay in history."""
        s = self._session
        clean = validated(details, s.today())
        dek, now = s.require_unlocked(), s.now()
        digest = dek.blind_index("nhs", clean.nhs_number)
        with s.store.writing() as conn:
            record = record_row(conn, record_id)
            if record.kind != PATIENT:
                raise NotFound("That record is not a patient.")
            for other in _indexed_nhs(conn, digest):
                if other != record_id and self._current_nhs(conn, other) == clean.nhs_number:
                    raise InvalidInput(f"Another patient already has NHS number {clean.nhs_number_formatted}.")
            # Who cares for them changes only by transfer() or share(), audited as such: a form that does
            # not show the teams must not move anyone.
            now_placed = self._current_details(conn, record_id)
            if now_placed is not None:
                clean = dataclasses.replace(clean, team_id=now_placed.team_id, shared_with=now_placed.shared_with)
            version_id = versions.append(
                conn, dek, versions.NewVersion(record_id, PATIENT, clean.to_payload()), s.user.user_id, now
            )
            indexed = conn.execute(
                select(BlindIndex.record_id).where(
                    BlindIndex.kind == "nhs", BlindIndex.digest == digest, BlindIndex.record_id == record_id
                )
            ).first()
            if indexed is None:  # a changed NHS number: index the new one too (rows are never removed)
                conn.execute(insert(BlindIndex.__table__), dict(kind="nhs", digest=digest, record_id=record_id))
            audit.append(conn, dek, now, "update", user_id=s.user.user_id, patient_id=record_id,
                         target_id=version_id, detail=PATIENT)  # fmt: skip
        self.refresh(record_id)
        return version_id

    def _current_details(self, conn: Connection, record_id: str) -> PatientDetails | None:
        current = versions.current(versions.history(conn, self._session.require_unlocked(), record_id))
        return PatientDetails.from_payload(current.payload) if current else None

    # --- who cares for them, and who may see them (issue 16 parts 1 and 4) ------------------------------
    def _placed(self, conn: Connection, clean: PatientDetails) -> PatientDetails:
        """A new patient's teams: as chosen, else the registering person's one team, else the team that
        holds everyone. Refused in words when a team does not exist, or the person registering is in
        none of them (they would not see the record they made)."""
        s = self._session
        known = teams.names(conn)
        if not known:
            return clean  # a store from before teams, not yet upgraded by an admin's sign-in
        mine = teams.team_ids(grants.require_genuine(conn, s.user.user_id))
        everyone = teams.everyone_team_id(grants.store_id(conn))
        team_id = clean.team_id or (next(iter(mine)) if len(mine) == 1 else everyone if everyone in known else "")
        if not team_id:
            raise InvalidInput("Choose the team responsible for this person's care.")
        for t in (team_id, *clean.shared_with):
            if t not in known:
                raise InvalidInput(f"There is no team with the id {t!r}; choose one of the trust's teams.")
        if not s.is_admin and not ({team_id, *clean.shared_with} & mine):
            raise InvalidInput(
                f"You are not in {known[team_id]!r}, so you would not see this person's record: choose one of "
                "your teams."
            )
        # The team that holds everyone is kept as "" (what a patient from before teams has): one meaning.
        return dataclasses.replace(clean, team_id="" if team_id == everyone else team_id)

    def _access(self) -> Callable[[PatientSummary], bool]:
        """Who this session may see: an admin everyone; a clinician the patients of their teams (the
        responsible team or one sharing the care), and any opened with a reason in the last hours.
        Read from the store once per load (on the worker) and kept: a keystroke's search reads nothing."""
        if self._allowed is None:
            self._allowed = self._read_access()
        return self._allowed

    def _read_access(self) -> Callable[[PatientSummary], bool]:
        s = self._session
        with s.store.reading() as conn:
            if s.is_admin or not teams.any_team(conn):
                return lambda _p: True
            mine = teams.team_ids(grants.require_genuine(conn, s.user.user_id))
            everyone = teams.everyone_team_id(grants.store_id(conn))
            since = s.now() - timedelta(hours=BREAK_GLASS_HOURS)
            entries = audit.read(conn, s.require_unlocked(), user_id=s.user.user_id, action="break_glass",
                                 since=since, limit=None)  # fmt: skip
        opened = {e.patient_id: e.at + timedelta(hours=BREAK_GLASS_HOURS) for e in entries if e.patient_id}

        def allowed(p: PatientSummary) -> bool:
            d = p.details
            if {d.team_id or everyone, *d.shared_with} & mine:
                return True
            until = opened.get(p.record_id)
            return until is not None and s.now() < until

        return allowed

    def outside_my_teams(self, nhs_number: str) -> tuple[str, str] | None:
        """(record id, the responsible team's name) of a patient with this exact NHS number whom the
        session may not see: what a clinician needs to decide on opening the record with a reason, and
        nothing more (no name or other detail)."""
        found = self._find_any(nhs_number)
        if found is None or self._access()(found):
            return None
        with self._session.store.reading() as conn:
            team = teams.names(conn).get(found.details.team_id or teams.everyone_team_id(grants.store_id(conn)), "")
        return found.record_id, team or "another team"

    def break_glass(self, record_id: str, reason: str) -> PatientSummary:
        """Open a patient outside one's teams in an emergency: the reason is recorded in the audit trail
        and the access report, and the patient is visible to this person for BREAK_GLASS_HOURS."""
        reason = unicodedata.normalize("NFC", reason.strip())
        if len(reason) < 10:
            raise InvalidInput("Say why you need this record now (at least a few words); it is recorded and reported.")
        s = self._session
        summary = self._load_one(record_id)
        if summary is None:
            raise NotFound("That patient record was entered in error and withdrawn; see its history.")
        s.record_event("break_glass", patient_id=record_id, target_id=summary.version_id,
                       detail=f"{reason} (open for {BREAK_GLASS_HOURS} hours)")  # fmt: skip
        self._allowed = self._read_access()  # with this opening (here, on the worker: a search reads nothing)
        return summary

    def transfer(self, record_id: str, team: str) -> str:
        """Move the patient's care to another team (a new version, audited as a transfer)."""
        return self._move(record_id, team=team)

    def share(self, record_id: str, shared_with: tuple[str, ...]) -> str:
        """Set the teams sharing the patient's care (a new version, audited as a share)."""
        return self._move(record_id, shared=shared_with)

    def _move(self, record_id: str, *, team: str | None = None, shared: tuple[str, ...] | None = None) -> str:
        s = self._session
        dek, now = s.require_unlocked(), s.now()
        with s.store.writing() as conn:
            record = record_row(conn, record_id)
            was = self._current_details(conn, record_id) if record.kind == PATIENT else None
            if was is None:
                raise NotFound("That record is not a current patient.")
            known = teams.names(conn)
            everyone = teams.everyone_team_id(grants.store_id(conn))
            by_name = {n.casefold(): i for i, n in known.items()}

            def resolve(t: str) -> str:  # an id, or a name in any case; "" when neither
                return t if t in known else by_name.get(t.strip().casefold(), "")

            responsible = was.team_id or everyone
            mine = teams.team_ids(grants.require_genuine(conn, s.user.user_id))
            if not s.is_admin and responsible not in mine:
                raise InvalidInput(
                    f"Only {known.get(responsible, 'the responsible team')!r} or an administrator can move or "
                    "share this person's care; nothing was changed."
                )
            new = was
            if team is not None:
                target = resolve(team)
                if not target:
                    raise InvalidInput(f"There is no team called {team!r}; nothing was changed.")
                new = dataclasses.replace(
                    was, team_id=target, shared_with=tuple(t for t in was.shared_with if t != target)
                )
                action, detail = "transfer", f"from {known.get(responsible, '?')} to {known[target]}"
            else:
                ids = tuple(dict.fromkeys(resolve(t) for t in shared or ()))
                if "" in ids:
                    raise InvalidInput("One of those teams does not exist; nothing was changed.")
                new = dataclasses.replace(was, shared_with=tuple(i for i in ids if i != responsible))
                detail = ", ".join(known[i] for i in new.shared_with) or "no other team"
                action, detail = "share", f"shared with {detail}"
            if new == was:
                raise InvalidInput("That is how this person's care is already held; nothing was changed.")
            version_id = versions.append(conn, dek, versions.NewVersion(record_id, PATIENT, new.to_payload()),
                                         s.user.user_id, now)  # fmt: skip
            audit.append(conn, dek, now, action, user_id=s.user.user_id, patient_id=record_id,
                         target_id=version_id, detail=detail)  # fmt: skip
        self.refresh(record_id)
        return version_id

    def _current_nhs(self, conn: Connection, record_id: str) -> str | None:
        current = versions.current(versions.history(conn, self._session.require_unlocked(), record_id))
        return current.payload.get("nhs_number") if current else None

    # --- one patient ---------------------------------------------------------------------------
    def get(self, record_id: str, *, audit_view: bool = True) -> PatientSummary:
        """A patient's current details; opening a record is a 'view' in the audit trail."""
        summary = self._load_one(record_id)
        if summary is None:
            raise NotFound("That patient record was entered in error and withdrawn; see its history.")
        if not self._access()(summary):
            raise NotAllowed(OUTSIDE_TEAMS)
        if audit_view:
            self._session.record_event("view", patient_id=record_id, target_id=summary.version_id)
        return summary

    def _load_one(self, record_id: str) -> PatientSummary | None:
        dek = self._session.require_unlocked()
        with self._session.store.reading() as conn:
            record = record_row(conn, record_id)
            if record.kind != PATIENT:
                raise NotFound("That record is not a patient.")
            history = versions.history(conn, dek, record_id)
            heads = versions.head_ids(conn, record_id)
        current = versions.current(history)
        if current is None:
            return None
        details = PatientDetails.from_payload(current.payload)
        return PatientSummary(record_id, details, current.version_id, current.created_at, len(heads) > 1)

    def refresh(self, record_id: str) -> None:
        """Re-read one patient into the list after a change to their record (a save, entered in error)."""
        s = self._session
        generation = s.generation
        if self._summaries is None or s.locked:
            return  # not loaded, or locked since the save: the next load reads it
        summary = self._load_one(record_id)
        with s.cache_guard:
            if self._summaries is None or generation != s.generation:
                return
            if summary is None:
                self._summaries.pop(record_id, None)
                self._index.remove(record_id)
            else:
                _put(self._summaries, self._index, summary)

    def _put_summary(self, summary: PatientSummary, generation: int) -> None:
        with self._session.cache_guard:
            if self._summaries is None or generation != self._session.generation:
                return  # not loaded yet (the load will include it), or locked since the save began
            _put(self._summaries, self._index, summary)

    # --- the whole list ------------------------------------------------------------------------
    def all(self) -> list[PatientSummary]:
        """Every current patient this session may see (its teams' patients, issue 16), decrypted into memory
        once per unlock (then kept up to date)."""
        allowed = self._access()
        return [p for p in self._loaded().values() if allowed(p)]

    def _loaded(self) -> dict[str, PatientSummary]:
        summaries = self._summaries
        return summaries if summaries is not None else self._load_all()

    def sharing_nhs_number(self) -> dict[str, tuple[str, ...]]:
        """Current patients whose NHS number another current patient has too -> those others' ids.

        Registering a taken number is refused here, and the same person registered on two PCs while
        offline is one record (see `versions.patient_record_id`); this catches what that cannot: the
        same number with another date of birth, or records from before sync."""
        patients = self.all()
        counts = Counter(p.details.nhs_number for p in patients)  # one cheap pass; sharing is rare
        shared = {n for n, c in counts.items() if c > 1}
        by_number: dict[str, list[str]] = {}
        for p in patients:
            if p.details.nhs_number in shared:
                by_number.setdefault(p.details.nhs_number, []).append(p.record_id)
        return {rid: tuple(o for o in ids if o != rid) for ids in by_number.values() for rid in ids}

    def others_with_nhs_number(self, record_id: str) -> tuple[str, ...]:
        """Other current patients with this patient's NHS number (one patient's share of the above,
        through the blind index rather than a pass over everyone)."""
        summaries = self._loaded()
        mine = summaries.get(record_id)
        if mine is None:
            return ()
        nhs = mine.details.nhs_number
        with self._session.store.reading() as conn:
            candidates = _indexed_nhs(conn, self._session.require_unlocked().blind_index("nhs", nhs))
        return tuple(
            c for c in candidates if c != record_id and c in summaries and summaries[c].details.nhs_number == nhs
        )

    def reload(self) -> None:
        """Re-read the store (after another process or the sync worker changed it)."""
        with self._session.cache_guard:
            self.forget()
        self._load_all()

    def _load_all(self) -> dict[str, PatientSummary]:
        # Building 10,000 small objects triggers many pointless cyclic-GC passes (a fifth of the time).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._load_all_now()
        finally:
            if gc_was_enabled:
                gc.enable()

    def _load_all_now(self) -> dict[str, PatientSummary]:
        s = self._session
        generation, dek = s.generation, s.require_unlocked()
        changed: list[str] = []
        with s.store.reading() as conn:
            upto = conn.execute(select(func.max(Version.seq))).scalar() or 0
            snap = patient_snapshot.read(conn, dek)
            if snap is not None:
                changed = versions.changed_records(conn, [PATIENT], {s.record_id: [s.version_id] for s in snap[1]})
                if len(changed) > _SNAPSHOT_CATCH_UP:
                    snap = None
            if snap is None:
                rows = versions.heads_of_kind(conn, PATIENT)
        # Built aside and published only if no lock came meanwhile: a load begun before lock() must not
        # refill the list the lock emptied (issue 17).
        summaries: dict[str, PatientSummary] = {}
        index = PatientIndex()
        if snap is not None:
            for summary in snap[1]:
                _put(summaries, index, summary)
            for record_id in changed:  # saved since the snapshot, here or by sync: read from the record
                fresh = self._load_one(record_id)
                if fresh is None:
                    summaries.pop(record_id, None)
                    index.remove(record_id)
                else:
                    _put(summaries, index, fresh)
        else:
            self._load_from_heads(dek, rows, summaries, index)
        with s.cache_guard:
            if generation != s.generation:
                raise SessionLocked("The session was locked while the patient list was read.")
            self._summaries, self._index = summaries, index
        self._allowed = self._read_access()  # who may be shown, read with the list (searches read nothing)
        if snap is None or changed:
            with s.store.writing() as conn:
                patient_snapshot.write(conn, dek, upto, list(summaries.values()))
        return summaries

    def _load_from_heads(self, dek: vault.DataKey, rows: list[Any], summaries: dict[str, PatientSummary],
                         index: PatientIndex) -> None:  # fmt: skip
        by_record: dict[str, list[Any]] = {}
        for row in rows:
            by_record.setdefault(row.record_id, []).append(row)
        for record_id, heads in by_record.items():
            head = heads[-1]
            if head.status == versions.ENTERED_IN_ERROR:
                summary = self._load_one(record_id)  # rare: walk the chain to find current content
                if summary is None:
                    continue
            else:
                details = PatientDetails.from_payload(versions.decrypt_row(dek, head))
                summary = PatientSummary(record_id, details, head.version_id, head.created_at, len(heads) > 1)
            _put(summaries, index, summary)

    # --- finding -------------------------------------------------------------------------------
    def search(self, query: str, limit: int | None = 200) -> list[PatientSummary]:
        """Name fragment(s) or NHS digits, with or without spaces; accents and case ignored."""
        summaries, allowed = self._loaded(), self._access()
        found = [summaries[r] for r in self._index.search(query, None) if r in summaries and allowed(summaries[r])]
        return found[:limit] if limit is not None else found

    def search_ids(self, query: str) -> list[str]:
        """Like search, as record ids only (the caseload filters its own rows with them)."""
        return [p.record_id for p in self.search(query, None)]  # emptied if a lock came since: nothing found

    def find_by_nhs_number(self, nhs_number: str) -> PatientSummary | None:
        """Exact lookup through the keyed blind index (no plaintext NHS number in the store), among the
        patients this session may see."""
        found = self._find_any(nhs_number)
        return found if found is not None and self._access()(found) else None

    def _find_any(self, nhs_number: str) -> PatientSummary | None:
        try:
            digits = normalise_nhs_number(nhs_number)
        except InvalidNhsNumber as exc:
            raise InvalidInput(str(exc)) from exc
        dek = self._session.require_unlocked()
        with self._session.store.reading() as conn:
            candidates = _indexed_nhs(conn, dek.blind_index("nhs", digits))
        for record_id in candidates:
            summary = self._load_one(record_id)
            if summary and summary.details.nhs_number == digits:
                return summary
        return None

    # --- bulk import (demo data, migration) --------------------------------------------------------
    def import_batch(self, items: Iterable[tuple[PatientDetails, list[tuple[str, list[versions.NewVersion]]]]]) -> int:
        """Add patients with their other records' version chains in ONE transaction (demo data, migration).

        Each item: (details, [(kind, [NewVersion, ...]), ...]), one chain per kind (the patient's one
        record of that kind); each NewVersion's record_id is filled in here. Returns patients added.
        """
        s = self._session
        dek, now, uid = s.require_unlocked(), s.now(), s.user.user_id
        added = 0
        imported: list[str] = []
        with s.store.writing() as conn:
            for details, records in items:
                clean = validated(details, s.today())
                pid = versions.create_record(
                    conn, PATIENT, None, uid, now, record_id=self._new_patient_id(conn, dek, clean)
                )
                imported.append(
                    versions.append(conn, dek, versions.NewVersion(pid, PATIENT, clean.to_payload()), uid, now, [])
                )
                conn.execute(
                    insert(BlindIndex.__table__),
                    dict(kind="nhs", digest=dek.blind_index("nhs", clean.nhs_number), record_id=pid),
                )
                if len({kind for kind, _ in records}) < len(records):
                    raise ValueError("one chain per kind: each is the patient's one record of that kind")
                for kind, chain in records:
                    rid = versions.create_record(
                        conn, kind, pid, uid, now, record_id=versions.one_per_patient_id(kind, pid)
                    )
                    parent: list[str] = []
                    for item in chain:
                        new = dataclasses.replace(item, record_id=rid, kind=kind)
                        parent = [versions.append(conn, dek, new, uid, now, parent)]
                        imported.append(parent[0])
                added += 1
            arrivals.note(conn, dek, imported)  # one audit entry (the caller's) covers the import
        with s.cache_guard:
            self.forget()
        return added


def _put(summaries: dict[str, PatientSummary], index: PatientIndex, s: PatientSummary) -> None:
    summaries[s.record_id] = s
    d = s.details
    index.put(s.record_id, [d.given_name, d.preferred_name, d.family_name, d.local_id], d.nhs_number)


def _indexed_nhs(conn: Connection, digest: bytes) -> list[str]:
    """Records ever indexed under this NHS-number digest. Rows are never removed (a changed number is
    indexed anew), so callers check each one's current number."""
    return list(
        conn.execute(
            select(BlindIndex.record_id).where(BlindIndex.kind == "nhs", BlindIndex.digest == digest)
        ).scalars()
    )
