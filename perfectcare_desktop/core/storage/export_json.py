"""Decrypted export of patients' records with every version (subject access requests, migration)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DatabaseError

from ... import __version__
from ...crypto.aead import DecryptionError
from ...errors import NotFound
from ...store.models import Version, VersionParent
from ..access.session import Session
from . import payloads, versions


def _clear(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def export_patients(session: Session, nhs_number: str | None = None) -> dict[str, Any]:
    """Every version of every record of one patient (by NHS number) or all patients, as plain data.

    Includes versions marked entered in error: a subject access request gets the whole record.
    """
    if nhs_number:
        found = session.patients.find_by_nhs_number(nhs_number)
        if found is None:
            raise NotFound(f"No patient with NHS number {nhs_number} in this store.")
        patient_ids = [found.record_id]
    else:
        patient_ids = [pid for pid, _ in _all_patient_records(session)]
    users = {u.user_id: u.username for u in session.users.all()} if session.is_admin else {}
    patients = []
    unreadable: list[dict[str, str]] = []
    cleaned: list[str] = []
    for pid in patient_ids:
        records = []
        for record_id, kind in session.records.of_patient(pid):
            history, problems = _history(session, record_id, kind)
            unreadable.extend(problems)
            records.append(
                {
                    "record_id": record_id,
                    "kind": kind,
                    "versions": [
                        {
                            "version_id": v.version_id,
                            "parents": list(v.parents),
                            "author": users.get(v.author_id, v.author_id),
                            "created_at": _clear(v.created_at),
                            "signed": v.signed,
                            "status": v.status,
                            "review_due": _clear(v.review_due),
                            "followup_due": _clear(v.followup_due),
                            "content": _no_lone_surrogates(v.payload, v.version_id, cleaned),
                        }
                        for v in history
                    ],
                }
            )
        patients.append({"patient_id": pid, "records": records})
        session.record_event("export", patient_id=pid, detail="json export")
    extra: dict[str, Any] = {"unreadable": unreadable} if unreadable else {}
    if cleaned:
        extra["cleaned"] = cleaned
    return {
        "format": "perfectcare-export/1",
        "exported_at": _clear(session.store.clock.now()),
        "exported_by": session.user.username,
        "program_version": __version__,
        "organisation": session.store.organisation,
        "store_id": session.store.store_id,
        "patients": patients,
        **extra,
    }


def _history(session: Session, record_id: str, kind: str) -> tuple[list[versions.VersionInfo], list[dict[str, str]]]:
    """A record's versions; one that does not decrypt is exported with its clear metadata, content null,
    and named in the problems, so the rest of the record (and of the export) still goes out."""
    try:
        return session.records.history(record_id), []
    except (DecryptionError, ValueError):
        pass
    except DatabaseError as exc:  # a damaged page: this record is lost to the export, the others are not
        problem = (
            f"record {record_id} ({kind}) cannot be read: the store is damaged where it is kept ({exc.orig}); "
            "none of its versions is in the export"
        )
        return [], [{"record_id": record_id, "version_id": "", "kind": kind, "problem": problem}]
    dek = session.require_unlocked()
    with session.store.reading() as conn:
        rows = conn.execute(select(Version.__table__).where(Version.record_id == record_id)).all()
        patient_id = versions.patient_of(conn, record_id)
        parents: dict[str, list[str]] = {r.version_id: [] for r in rows}
        ids = list(parents)
        for start in range(0, len(ids), 500):
            q = select(VersionParent.__table__).where(VersionParent.version_id.in_(ids[start : start + 500]))
            for vp in conn.execute(q):
                parents[vp.version_id].append(vp.parent_id)
    out, problems = [], []
    for r in rows:
        mine = tuple(sorted(parents[r.version_id]))
        try:
            payload: Any = payloads.decode(versions.open_payload(dek, r, mine, patient_id))
        except (DecryptionError, ValueError):
            payload = None
            problems.append(
                {
                    "record_id": record_id,
                    "version_id": r.version_id,
                    "kind": r.kind,
                    "problem": f"version {r.version_id} of record {record_id} ({r.kind}, saved {_clear(r.created_at)}) "
                    "does not decrypt: its ciphertext or metadata was altered; its content is not in the export",
                }
            )
        info = versions.VersionInfo(
            r.version_id, r.record_id, r.kind, r.author_id, r.created_at, r.signed, r.status, r.review_due,
            r.followup_due, mine, payload,
        )  # fmt: skip
        out.append(info)
    return versions.in_order(out), problems


def _no_lone_surrogates(value: Any, version_id: str, cleaned: list[str]) -> Any:
    """A lone surrogate (half of a UTF-16 pair, e.g. from a pasted or synced field) cannot be written as
    UTF-8: it becomes U+FFFD and the version is named, rather than the whole export failing."""
    value, changed = payloads.without_lone_surrogates(value)
    note = f"version {version_id} held an invalid character (a lone UTF-16 surrogate), written as U+FFFD"
    if changed and note not in cleaned:
        cleaned.append(note)
    return value


def _all_patient_records(session: Session) -> list[tuple[str, str]]:
    from ...store.models import Record

    session.require_unlocked()
    with session.store.reading() as conn:
        rows = conn.execute(
            select(Record.record_id, Record.kind)
            .where(Record.kind == "patient")
            .order_by(Record.created_at, Record.record_id)
        )
        return [(record_id, kind) for record_id, kind in rows]
