"""Discharge and the 72-hour follow-up (NHS England standard, Schedule 4A of the NHS Standard Contract).

One discharge record per patient, a chain of immutable versions. Recording a discharge starts an
*episode* (its time, type and who owns the follow-up); each follow-up contact (made, attempted — not
reached, declined by the person) is a new version that repeats the episode with every contact so
far, so no attempt is ever overwritten and the newest version alone tells an older PC what it needs.

Times are kept in UTC and typed and shown in UK local time. The 72 hours are real hours from the
discharge time, so across a clock change the due time moves by an hour on the wall clock. A follow-up
not made within 72 hours is *missed* and stays missed (and on the caseload) until someone records
what was done. Old records (schema discharge/1: a date only) read as a discharge at 00:00 that day.

Clear metadata: the follow-up due date (UK local date) while the follow-up is open, nothing once it
is closed; the exact due time and the contacts are in the sealed payload.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ...errors import InvalidInput
from ...store.models import Record
from ..access.session import Session
from ..storage import versions
from ..storage.versions import VersionInfo
from .plan_content import MAX_FIELD_CHARS, clean_text
from .statuses import ENTERED_IN_ERROR

DISCHARGE_KIND = "discharge"
SCHEMA = "discharge/2"
FOLLOWUP_WITHIN = timedelta(hours=72)

PLANNED, SELF_DISCHARGE, TRANSFER = "planned", "self_discharge", "transfer"
DISCHARGE_TYPES = {
    PLANNED: "Planned discharge",
    SELF_DISCHARGE: "Self-discharge / left against advice",
    TRANSFER: "Transfer to another mental health inpatient setting",
}
MADE, ATTEMPTED, DECLINED = "made", "attempted", "declined"
OUTCOMES = {MADE: "Made", ATTEMPTED: "Attempted — not reached", DECLINED: "Declined by the person"}


# --- UK local time ----------------------------------------------------------------------------------------
# UK wall-clock time from the tz database (the `tzdata` dependency brings it to Windows, which lacks
# one), so a change to the rules arrives with an update rather than an edit here.
_UK = ZoneInfo("Europe/London")


def uk_local(utc: datetime) -> datetime:
    """A naive UTC time as the clock on a UK wall shows it."""
    return utc.replace(tzinfo=UTC).astimezone(_UK).replace(tzinfo=None)


def from_uk_local(local: datetime) -> datetime:
    """A UK wall-clock time as naive UTC. The hour that happens twice in October is read as the first
    (the earlier deadline: fold 0); the hour skipped in March as GMT, the offset before the change."""
    return local.replace(tzinfo=_UK, fold=0).astimezone(UTC).replace(tzinfo=None)


def uk_text(utc: datetime) -> str:
    return f"{uk_local(utc):%H:%M on %a %d %b %Y}"


# --- what is read ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Contact:
    """One follow-up contact or attempt, as recorded (never changed afterwards)."""

    contact_id: str
    outcome: str  # MADE, ATTEMPTED or DECLINED
    at: datetime  # naive UTC
    next_attempt_due: datetime | None  # for an attempt: when to try again (naive UTC)
    note: str
    recorded_at: datetime
    recorded_by: str  # user id

    @property
    def label(self) -> str:
        return OUTCOMES.get(self.outcome, self.outcome)


@dataclass(frozen=True)
class Discharge:
    """One discharge (an episode) and its follow-up, as the newest versions say."""

    record_id: str
    version_id: str  # the newest version of this episode
    discharged_at: datetime  # naive UTC
    time_recorded: bool  # False: a discharge/1 record, a date only (read as 00:00 UK time)
    discharge_type: str | None  # None: not recorded (discharge/1)
    owner_user_id: str | None
    owner_text: str
    note: str
    recorded_at: datetime  # when the discharge was written down (it may be later than the discharge)
    recorded_by: str
    contacts: tuple[Contact, ...] = field(default=())

    @property
    def discharged_on(self) -> date:
        return uk_local(self.discharged_at).date()

    @property
    def applies(self) -> bool:
        """The 72-hour standard covers discharges home, to a care home or to non-psychiatric care, not
        a transfer to another mental health inpatient bed."""
        return self.discharge_type != TRANSFER

    @property
    def followup_due_at(self) -> datetime:
        return self.discharged_at + FOLLOWUP_WITHIN

    @property
    def followup_due(self) -> date:
        """The UK date by which the follow-up is due."""
        return uk_local(self.followup_due_at).date()

    @property
    def made(self) -> Contact | None:
        return next((c for c in self.contacts if c.outcome == MADE), None)

    @property
    def followup_done_on(self) -> date | None:
        made = self.made
        return uk_local(made.at).date() if made else None

    @property
    def declined(self) -> Contact | None:
        last = self.contacts[-1] if self.contacts else None
        return last if last is not None and last.outcome == DECLINED and self.made is None else None

    @property
    def open(self) -> bool:
        """A follow-up is owed and nothing yet says what was done: made, or declined by the person."""
        return self.applies and self.made is None and self.declined is None

    @property
    def made_within_72_hours(self) -> bool:
        made = self.made
        return made is not None and made.at <= self.followup_due_at

    @property
    def attempts(self) -> tuple[Contact, ...]:
        return tuple(c for c in self.contacts if c.outcome == ATTEMPTED)

    @property
    def next_attempt_due(self) -> datetime | None:
        last = self.contacts[-1] if self.contacts else None
        return last.next_attempt_due if self.open and last is not None and last.outcome == ATTEMPTED else None

    def missed(self, now: datetime) -> bool:
        """Still open after the 72 hours: stays so until someone records what was done."""
        return self.open and now > self.followup_due_at

    def state_text(self, now: datetime) -> str:
        """The follow-up in words (never a rating): what is due, missed or done, and when."""
        if not self.applies:
            return "Transfer: the 72-hour follow-up standard does not apply."
        made, declined = self.made, self.declined
        if made is not None:
            late = "" if self.made_within_72_hours else " (after the 72 hours)"
            return f"Followed up {uk_text(made.at)}{late}."
        if declined is not None:
            return f"Follow-up declined by the person {uk_text(declined.at)}."
        tries = len(self.attempts)
        tried = f" {tries} attempt{'s' if tries != 1 else ''} — not reached." if tries else ""
        nxt = self.next_attempt_due
        nxt_text = f" Next attempt due {uk_text(nxt)}." if nxt else ""
        if self.missed(now):
            due = uk_text(self.followup_due_at)
            return f"72-hour follow-up missed: it was due by {due}.{tried}{nxt_text} Record what was done."
        return f"72-hour follow-up due by {uk_text(self.followup_due_at)}.{tried}{nxt_text}"

    @property
    def owner(self) -> str:
        return self.owner_text or ""


def _utc(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _episode_of(p: dict[str, Any]) -> str:
    """The discharge a version belongs to ("" for none): its episode id, or a discharge/1 record's date."""
    if p.get("schema") == SCHEMA:
        return str(p.get("episode") or p.get("discharged_at") or "")
    return "d1:" + str(p["discharged_on"]) if p.get("discharged_on") else ""


def _episodes(history: list[VersionInfo]) -> list[Discharge]:
    """Every discharge in the record, oldest first, each with the contacts any version recorded for it
    (a union by contact id: attempts saved on two PCs are both kept)."""
    usable = [v for v in history if v.status != ENTERED_IN_ERROR and _episode_of(v.payload)]
    withdrawn = versions.withdrawn_ids(history)
    # Versions repeat the contacts before them, so a discharge or a contact marked entered in error is
    # known by the version that first recorded it: that one withdrawn, it is left out wherever repeated.
    first_seen: dict[str, str] = {}
    for v in usable:
        first_seen.setdefault("episode:" + _episode_of(v.payload), v.version_id)
        for c in v.payload.get("contacts", ()) if v.payload.get("schema") == SCHEMA else ():
            first_seen.setdefault(str(c.get("id")), v.version_id)
        if v.payload.get("schema") != SCHEMA and v.payload.get("followup_done_on"):
            first_seen.setdefault("d1", v.version_id)  # a discharge/1 follow-up
    gone = {key for key, vid in first_seen.items() if vid in withdrawn}
    order: list[str] = []
    facts: dict[str, tuple[VersionInfo, dict[str, Any], VersionInfo]] = {}  # key -> (newest, payload, first)
    contacts: dict[str, dict[str, Contact]] = {}
    for v in usable:
        p = v.payload
        key = _episode_of(p)
        if v.version_id in withdrawn or "episode:" + key in gone:
            continue
        if key not in facts:
            order.append(key)
            facts[key] = (v, p, v)
        else:
            facts[key] = (v, p, facts[key][2])
        found = contacts.setdefault(key, {})
        if p.get("schema") == SCHEMA:
            for c in p.get("contacts", ()):
                if c.get("id") in found or str(c.get("id")) in gone:
                    continue
                at = _utc(c.get("at"))
                if at is None:
                    continue
                found[c["id"]] = Contact(c["id"], str(c.get("outcome", MADE)), at, _utc(c.get("next_due")),
                                         str(c.get("note", "")), v.created_at, v.author_id)  # fmt: skip
        elif p.get("followup_done_on") and "d1" not in found and "d1" not in gone:
            done = datetime.combine(date.fromisoformat(p["followup_done_on"]), time())
            found["d1"] = Contact("d1", MADE, from_uk_local(done), None, str(p.get("note", "")), v.created_at,
                                  v.author_id)  # fmt: skip
    out = []
    for key in order:
        newest, p, first = facts[key]
        if p.get("schema") == SCHEMA:
            at = datetime.fromisoformat(p["discharged_at"])
            owner = p.get("owner") or {}
            kind: str | None = p.get("type")
            timed = bool(p.get("time_recorded", True))
            owner_id, owner_text = owner.get("user_id"), str(owner.get("text", ""))
        else:
            at = from_uk_local(datetime.combine(date.fromisoformat(p["discharged_on"]), time()))
            kind, timed, owner_id, owner_text = None, False, None, ""
        listed = sorted(contacts.get(key, {}).values(), key=lambda c: (c.at, c.recorded_at, c.contact_id))
        out.append(Discharge(newest.record_id, newest.version_id, at, timed, kind, owner_id, owner_text,
                             str(p.get("note", "")), first.created_at, first.author_id, tuple(listed)))  # fmt: skip
    return out


def discharge_from_history(history: list[VersionInfo]) -> Discharge | None:
    """The episode the current version belongs to (the newest discharge), or None."""
    episodes = _episodes(history)
    current = versions.current(history)
    if not episodes or current is None:
        return episodes[-1] if episodes else None
    return next((e for e in reversed(episodes) if e.version_id == current.version_id), episodes[-1])


def _record_id(session: Session, patient_id: str) -> str | None:
    found = session.records.of_patient(patient_id, DISCHARGE_KIND)
    return found[0][0] if found else None


def load_discharges(session: Session, patient_id: str) -> list[Discharge]:
    """Every discharge of the patient, oldest first (for the clinician record)."""
    record_id = _record_id(session, patient_id)
    return _episodes(session.records.history(record_id)) if record_id else []


def load_discharge(session: Session, patient_id: str) -> Discharge | None:
    record_id = _record_id(session, patient_id)
    return discharge_from_history(session.records.history(record_id)) if record_id else None


# --- what is recorded -----------------------------------------------------------------------------------
def _as_utc(value: datetime | date) -> tuple[datetime, bool]:
    """A UK wall-clock time (or a date, read as 00:00 that day) as naive UTC; whether a time was given."""
    if isinstance(value, datetime):
        return from_uk_local(value.replace(tzinfo=None, second=0, microsecond=0)), True
    return from_uk_local(datetime.combine(value, time())), False


def _payload(d: Discharge, contacts: Iterable[Contact]) -> dict[str, Any]:
    contacts = list(contacts)
    made = next((c for c in contacts if c.outcome == MADE), None)
    payload: dict[str, Any] = {
        "schema": SCHEMA,
        "discharged_at": d.discharged_at.isoformat(),
        "time_recorded": d.time_recorded,
        # Older versions of the app read these two: the date discharged, and when follow-up was made.
        "discharged_on": d.discharged_on.isoformat(),
        "type": d.discharge_type,
        "owner": {"user_id": d.owner_user_id, "text": d.owner_text},
        "note": d.note,
        "contacts": [
            {
                "id": c.contact_id,
                "outcome": c.outcome,
                "at": c.at.isoformat(),
                "next_due": c.next_attempt_due.isoformat() if c.next_attempt_due else None,
                "note": c.note,
            }
            for c in contacts
        ],  # fmt: skip
    }
    if made is not None:
        payload["followup_done_on"] = uk_local(made.at).date().isoformat()
    return payload


def _check_owner(session: Session, owner_user_id: str | None, owner_text: str) -> tuple[str | None, str]:
    owner_text = clean_text(owner_text)
    if owner_user_id:
        names = session.users.staff_names()
        if owner_user_id not in names:
            raise InvalidInput("The follow-up owner is not a user of this store; choose one, or name the team.")
        return owner_user_id, owner_text or names[owner_user_id]
    if not owner_text:
        raise InvalidInput("Say who owns the follow-up: a user, or a named team or person.")
    if len(owner_text) > 200:
        raise InvalidInput("The follow-up owner is longer than 200 characters; shorten it.")
    return None, owner_text


def record_discharge(session: Session, patient_id: str, discharged_at: datetime | date, *, discharge_type: str,
                     owner_user_id: str | None = None, owner_text: str = "", note: str = "") -> str:  # fmt: skip
    """A discharge at a UK wall-clock time (may be recorded late: the 72 hours run from the discharge,
    not from when it was written down). Starts a new episode; earlier ones stay in the history."""
    if discharge_type not in DISCHARGE_TYPES:
        raise InvalidInput("Choose the kind of discharge: planned, self-discharge / left against advice, or transfer.")
    at, timed = _as_utc(discharged_at)
    now = session.store.clock.now()
    if at > now:
        raise InvalidInput(f"The discharge time {uk_text(at)} is in the future; record it once it has happened.")
    owner_id, owner = _check_owner(session, owner_user_id, owner_text)
    note = clean_text(note)
    if len(note) > MAX_FIELD_CHARS:
        raise InvalidInput(f"The note is longer than {MAX_FIELD_CHARS:,} characters; shorten it.")
    d = Discharge("", "", at, timed, discharge_type, owner_id, owner, note, now, session.user.user_id)
    payload = _payload(d, ()) | {"episode": str(uuid.uuid4())}
    due = d.followup_due if d.applies else None
    record_id = _record_id(session, patient_id)
    if record_id is None:
        return session.records.create(DISCHARGE_KIND, patient_id, payload, followup_due=due, one_per_patient=True)[1]
    return session.records.append(record_id, payload, followup_due=due)


def record_followup(session: Session, patient_id: str, at: datetime | date, note: str = "", *,
                    outcome: str = MADE, next_attempt_due: datetime | None = None) -> str:  # fmt: skip
    """A follow-up contact at a UK wall-clock time: made, attempted — not reached (with when the next
    attempt is due), or declined by the person. A new version every time; nothing before is changed."""
    existing = load_discharge(session, patient_id)
    if existing is None:
        raise InvalidInput("Record the discharge first; there is no discharge to follow up.")
    if outcome not in OUTCOMES:
        raise InvalidInput("Choose what happened: made, attempted — not reached, or declined by the person.")
    when, _timed = _as_utc(at)
    now = session.store.clock.now()
    if when > now:
        raise InvalidInput(f"The follow-up time {uk_text(when)} is in the future; record it once it has happened.")
    # A date alone (an older caller) is compared by day: a time of 00:00 would put most before the discharge.
    if (when < existing.discharged_at) if isinstance(at, datetime) else (at < existing.discharged_on):
        raise InvalidInput(f"The follow-up cannot be before the discharge ({uk_text(existing.discharged_at)}).")
    nxt = None
    if outcome == ATTEMPTED:
        if next_attempt_due is None:
            raise InvalidInput("Say when the next attempt is due; an attempt that did not reach the person needs one.")
        nxt = from_uk_local(next_attempt_due.replace(tzinfo=None, second=0, microsecond=0))
        if nxt <= when:
            raise InvalidInput("The next attempt must be due after this attempt.")
    note = clean_text(note)
    if len(note) > MAX_FIELD_CHARS:
        raise InvalidInput(f"The note is longer than {MAX_FIELD_CHARS:,} characters; shorten it.")
    contact = Contact(str(uuid.uuid4()), outcome, when, nxt, note, now, session.user.user_id)
    contacts = sorted((*existing.contacts, contact), key=lambda c: (c.at, c.recorded_at, c.contact_id))
    history = session.records.history(existing.record_id)
    episode = _episode_key(history, existing)
    payload = _payload(existing, contacts) | {"episode": episode}
    closed = any(c.outcome == MADE for c in contacts) or contacts[-1].outcome == DECLINED
    due = None if closed or not existing.applies else existing.followup_due
    return session.records.append(existing.record_id, payload, followup_due=due)


def _episode_key(history: list[VersionInfo], d: Discharge) -> str:
    """The episode id to repeat (a discharge/1 record's next version starts its own id)."""
    newest = next((v for v in history if v.version_id == d.version_id), None)
    if newest is not None and newest.payload.get("schema") == SCHEMA and newest.payload.get("episode"):
        return str(newest.payload["episode"])
    return "d1:" + d.discharged_on.isoformat()


# --- NHS England's measure ------------------------------------------------------------------------------
EXCLUSIONS = (
    "Transfers to another mental health inpatient setting (outside the standard).",
    "Discharges whose 72 hours had not ended when the figure was made (counted once they have).",
    "Discharges marked entered in error.",
    "Not recorded here, so not applied: deaths, discharges to prison or abroad, readmission within 72 hours.",
)


@dataclass(frozen=True)
class FollowupFigure:
    """Discharges in a period followed up within 72 hours: a count of the service's contacts, never a
    rating of a person. `eligible` is the denominator, `within_72_hours` the numerator."""

    start: date
    end: date
    eligible: int
    within_72_hours: int
    transfers_excluded: int
    not_yet_due: int
    declined: int  # eligible, not followed up: the person declined
    exclusions: tuple[str, ...] = EXCLUSIONS

    @property
    def proportion(self) -> float | None:
        return self.within_72_hours / self.eligible if self.eligible else None


def followup_figure(session: Session, start: date, end: date) -> FollowupFigure:
    """NHS England's "followed up within 72 hours" (MHSDS MHS78/79) from these records: discharges whose
    UK date falls in [start, end]. A contact counts when it was made (not an attempt, not declined)
    within 72 real hours of the discharge time."""
    if end < start:
        raise InvalidInput("The period ends before it starts.")
    with session.store.reading() as conn:
        record_ids = list(conn.execute(select(Record.record_id).where(Record.kind == DISCHARGE_KIND)).scalars())
    now = session.store.clock.now()
    eligible = within = transfers = pending = declined = 0
    for record_id in record_ids:
        for d in _episodes(session.records.history(record_id)):
            if not start <= d.discharged_on <= end:
                continue
            if not d.applies:
                transfers += 1
            elif now <= d.followup_due_at and not d.made_within_72_hours:
                pending += 1
            else:
                eligible += 1
                within += d.made_within_72_hours
                declined += d.declined is not None
    return FollowupFigure(start, end, eligible, within, transfers, pending, declined)
