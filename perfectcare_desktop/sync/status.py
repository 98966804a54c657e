"""What the status bar and `perfectcare-admin sync` say: last synced, waiting, needing attention.
Read from clear metadata only, so it needs no key and works while the session is locked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from ..core.storage import outbox, versions
from ..store.models import SyncReject
from . import device


@dataclass(frozen=True)
class SyncStatus:
    enrolled: bool
    last_synced: datetime | None
    waiting: int
    parked: int  # refused by the hub for good
    conflicts: int  # records with two or more heads: they need a clinician
    rejected: int  # items from the hub that failed checks and were not applied
    clock_skew: float | None = None  # seconds this PC's clock is ahead of the hub's (behind: negative)

    @property
    def needs_attention(self) -> int:
        return self.conflicts


def conflicted(conn: Connection) -> list[Any]:
    """(record_id, patient_id, kind) of every record with more than one head."""
    return versions.conflicted_records(conn)


def read(store: Any) -> SyncStatus:
    with store.reading() as conn:
        if not device.is_enrolled(conn):  # nothing to say, and no scan for a PC that keeps its own store
            return SyncStatus(False, None, 0, 0, 0, 0)
        last = device.get(conn, device.LAST_SYNCED)
        skew = device.get(conn, device.CLOCK_SKEW)
        return SyncStatus(
            enrolled=True,
            last_synced=datetime.fromisoformat(last) if last else None,
            waiting=outbox.waiting(conn),
            parked=outbox.parked(conn),
            conflicts=len(conflicted(conn)),
            rejected=conn.execute(select(func.count()).select_from(SyncReject)).scalar_one(),
            clock_skew=float(skew) if skew is not None else None,
        )


CLOCK_SKEW_WARN_SECONDS = 300  # versions carry the time of the PC that saved them: beyond this, say so
CLOCK_CONSEQUENCE = "times on records saved here will be wrong"


def clock_warning(skew: float | None) -> str | None:
    """("This PC's clock is 2 days ahead of the hub's: ask IT to correct it"), or None when it is close.
    `skew`: seconds this PC's clock is ahead of the hub's (behind: negative)."""
    if skew is None or abs(skew) <= CLOCK_SKEW_WARN_SECONDS:
        return None
    way = "ahead of" if skew > 0 else "behind"
    return f"This PC's clock is {_duration(abs(skew))} {way} the hub's: ask IT to correct it"


def _duration(seconds: float) -> str:
    """In the largest unit of which there are at least two (36 hours, 2 days, 7 minutes)."""
    for unit, size in (("day", 86_400), ("hour", 3_600)):
        if seconds >= 2 * size:
            return f"{round(seconds / size):,} {unit}s"
    return f"{round(seconds / 60):,} minutes"


Names = Callable[[str], str | None]  # patient id -> how the signed-in user may see them, or None

_KINDS = {"patient": "details", "safety_plan": "safety plan", "safety_formulation": "safety formulation",
          "formulation_note": "formulation addendum", "discharge": "discharge record"}  # fmt: skip


def patient_names(session: Any) -> Names:
    """Name and NHS number of each patient the session may see, for sync's messages."""
    from ..core.patients.nhs_number import format_nhs_number

    shown = {s.record_id: s for s in session.patients.all()}

    def name_of(patient_id: str) -> str | None:
        s = shown.get(patient_id)
        if s is None:
            return None
        nhs = f" (NHS {format_nhs_number(s.details.nhs_number)})" if s.details.nhs_number else ""
        return f"{s.display_name}{nhs}"

    return name_of


def problems(store: Any, name_of: Names | None = None) -> list[str]:
    """Sentences for what sync could not do: this PC's changes the hub refused, items from the hub
    that failed checks. They name the person when `name_of` (a signed-in session's) knows them, and
    otherwise say whose record only as 'a patient', never giving detail to a locked screen."""
    from ..store.models import Outbox, Record, User, Version

    def who(patient_id: str | None) -> str:
        name = name_of(patient_id) if (name_of and patient_id) else None
        if name:
            return name
        return "A patient not yet on this PC" if name_of and patient_id else "A patient"

    out: list[str] = []
    with store.reading() as conn:
        parked_rows = conn.execute(
            select(Outbox.item, Outbox.ref, Outbox.problem, Outbox.queued_at)
            .where(Outbox.parked_at.is_not(None))
            .order_by(Outbox.oid)
        ).all()
        for item, ref, problem, queued in parked_rows:
            when = f"{queued:%d %b %Y %H:%M}"
            if item == outbox.VERSION:
                rec = conn.execute(
                    select(Record.patient_id, Record.kind).join(Version, Version.record_id == Record.record_id)
                    .where(Version.version_id == ref)
                ).first()  # fmt: skip
                what = _KINDS.get(rec.kind, "record") if rec else "record"
                out.append(f"{who(rec.patient_id if rec else None)}: this PC's change to their {what} ({when}, "
                           f"version {ref[:8]}) was {problem}. It is kept here; once the hub is put right, "
                           "'perfectcare-admin sync --retry' sends it again.")  # fmt: skip
            elif item == outbox.USER:
                name = conn.execute(select(User.username).where(User.user_id == ref)).scalar() or ref[:8]
                out.append(f"The account change for {name} ({when}) was {problem}; it is kept here.")
            else:
                out.append(f"An audit entry of this PC ({when}) was {problem}; it is kept here.")
        rejects = conn.execute(
            select(SyncReject.stream, SyncReject.ref, SyncReject.reason, SyncReject.patient_id, SyncReject.retry)
            .order_by(SyncReject.seen_at)
        ).all()  # fmt: skip
    for stream, ref, reason, patient_id, retry in rejects:
        when_again = (
            "It is applied as soon as what it needs arrives."
            if retry == "dependency"
            else "It is tried again when the hub's copy is repaired."
        )
        if stream == "versions":
            out.append(f"{who(patient_id)}: a change to their record from the hub (version {ref[:8]}) was not applied: "
                       f"{reason}. {when_again}")  # fmt: skip
        elif stream == "audit":
            out.append(f"An audit entry from the hub was not kept: {reason}. The other entries of that PC are kept.")
        else:
            out.append(f"An account change from the hub (user id {ref[:8]}) was not applied: {reason}. {when_again}")
    return out


def retry(store: Any) -> tuple[int, int]:
    """Try everything sync gave up on again at the next round: this PC's parked changes are queued
    again, and items refused from the hub are fetched again (anti-entropy finds them missing).
    Returns (changes queued again, items to fetch again)."""
    from sqlalchemy import delete, update

    from ..store.models import Outbox

    with store.writing() as conn:
        parked = conn.execute(
            update(Outbox).where(Outbox.parked_at.is_not(None)).values(parked_at=None, problem=None)
        ).rowcount
        refused = conn.execute(delete(SyncReject)).rowcount
        # The account stream is read whole again at the next round (its figures no longer match).
        device.set_value(conn, device.USERS_SEEN, "-1 0")
    return parked, refused
