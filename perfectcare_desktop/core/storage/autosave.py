"""Autosaved drafts: the editor's working copy, sealed in the store every few seconds and on lock,
so a crash, a killed process or a power cut loses seconds at most. Reopening offers it back.

One slot per user, patient and kind, replaced on each autosave (it is a working copy, not history)
and cleared when the draft is saved or signed as a version. The payload is sealed with the slot's
identity and time as associated data, so a slot copied to another patient or user does not open.
A merge draft keeps the versions it merges (bound into the seal too), so it comes back as a merge.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select

from ...crypto.aead import DecryptionError
from ...store.models import Autosave
from ..access.session import Session

TABLE = "autosaves"


@dataclass(frozen=True)
class Autosaved:
    payload: dict[str, Any]
    record_id: str | None
    base_version_id: str | None
    saved_at: datetime
    merge_of: tuple[str, ...] | None = None  # the versions a merge draft joins


def _aad(user_id: str, patient_id: str, kind: str, base: str | None, at: datetime,
         merge_of: tuple[str, ...] | None) -> tuple[str, ...]:  # fmt: skip
    # A plain draft's associated data is as it was before merges were kept, so older slots still open.
    merge = ("merge", *merge_of) if merge_of else ()
    return (TABLE, user_id, patient_id, kind, base or "", at.isoformat(), *merge)


def write(session: Session, patient_id: str, kind: str, record_id: str | None, base_version_id: str | None,
          payload: dict[str, Any], merge_of: tuple[str, ...] | None = None) -> datetime:  # fmt: skip
    return writer(session, patient_id, kind, record_id, base_version_id, payload, merge_of)()


def writer(session: Session, patient_id: str, kind: str, record_id: str | None, base_version_id: str | None,
           payload: dict[str, Any], merge_of: tuple[str, ...] | None = None) -> Callable[[], datetime]:  # fmt: skip
    """`write` in two steps: the working copy is sealed now, with the key (SessionLocked if locked), and
    the returned callable puts it in the slot and returns its time, on the store worker. So the draft
    sealed as the app locks is written after the session has forgotten the key; the sealed copy and
    the store are all the callable holds."""
    dek, at, uid, store = session.require_unlocked(), session.store.clock.now(), session.user.user_id, session.store
    merge_of = tuple(merge_of) if merge_of else None
    data = json.dumps(payload, separators=(",", ":")).encode()  # ASCII escapes: a lone surrogate cannot stop it
    sealed = dek.seal(data, *_aad(uid, patient_id, kind, base_version_id, at, merge_of))
    key = (Autosave.user_id == uid, Autosave.patient_id == patient_id, Autosave.kind == kind)
    row = dict(user_id=uid, patient_id=patient_id, kind=kind, record_id=record_id, base_version_id=base_version_id,
               saved_at=at, payload=sealed, merge_of=" ".join(merge_of) if merge_of else None)  # fmt: skip

    def put() -> datetime:
        with store.writing() as conn:
            conn.execute(delete(Autosave).where(*key))
            conn.execute(insert(Autosave.__table__), row)
        return at

    return put


def read(session: Session, patient_id: str, kind: str) -> Autosaved | None:
    dek, uid = session.require_unlocked(), session.user.user_id
    with session.store.reading() as conn:
        row = conn.execute(
            select(Autosave.__table__).where(
                Autosave.user_id == uid, Autosave.patient_id == patient_id, Autosave.kind == kind
            )
        ).first()
    if row is None:
        return None
    merge_of = tuple(row.merge_of.split()) if row.merge_of else None
    try:
        data = dek.open(row.payload, *_aad(uid, patient_id, kind, row.base_version_id, row.saved_at, merge_of))
        payload = json.loads(data.decode("utf-8"))
    except (DecryptionError, ValueError):
        return None  # a damaged working copy is ignored; the saved versions are untouched
    return Autosaved(payload, row.record_id, row.base_version_id, row.saved_at, merge_of)


def discard(session: Session, patient_id: str, kind: str) -> None:
    uid = session.user.user_id
    session.require_unlocked()
    with session.store.writing() as conn:
        conn.execute(
            delete(Autosave).where(Autosave.user_id == uid, Autosave.patient_id == patient_id, Autosave.kind == kind)
        )
