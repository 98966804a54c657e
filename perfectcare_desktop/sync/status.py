"""What the status bar and `perfectcare-admin sync` say: last synced, waiting, needing attention.
Read from clear metadata only, so it needs no key and works while the session is locked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from ..core import outbox, versions
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


def problems(store: Any) -> list[str]:
    """Sentences for what sync could not do: changes the hub refused, items from it that failed checks.
    Ids and reasons only, never patient detail."""
    from ..store.models import Outbox

    with store.reading() as conn:
        parked_rows = conn.execute(
            select(Outbox.item, Outbox.ref, Outbox.problem).where(Outbox.parked_at.is_not(None)).order_by(Outbox.oid)
        ).all()
        rejects = conn.execute(
            select(SyncReject.stream, SyncReject.ref, SyncReject.reason).order_by(SyncReject.seen_at)
        ).all()
    out = [f"This PC's {item} {ref} was {problem}; it is kept here." for item, ref, problem in parked_rows]
    out += [f"From the hub, {stream[:-1]} {ref} was not applied: {reason}." for stream, ref, reason in rejects]
    return out
