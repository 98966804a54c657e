"""The sync outbox: every change the hub must learn of, queued in the transaction that makes it.

Queued whether or not this PC is enrolled (a row is a few bytes), so a store enrolled later pushes
its whole history, and a change can never be written without its queue row or the other way round.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, func, insert, select

from ...store.models import Outbox

VERSION, AUDIT, USER = "version", "audit", "user"
EPOCH = "epoch"  # a key epoch and every seal of it this PC holds (ref: its key id), core/access/epochs.py


def queue(conn: Connection, item: str, ref: str, at: datetime) -> None:
    """Queue one change inside the caller's transaction."""
    # An account change is pushed as the account's state at push time; its own id makes a re-send
    # after a crash land once on the hub.
    change_id = uuid.uuid4().hex if item == USER else None
    conn.execute(insert(Outbox.__table__), dict(item=item, ref=ref, change_id=change_id, queued_at=at))


def waiting(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(Outbox).where(Outbox.parked_at.is_(None))).scalar_one()


def parked(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(Outbox).where(Outbox.parked_at.is_not(None))).scalar_one()
