"""Decrypted export of patients' records with every version (subject access requests, migration)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .. import __version__
from ..errors import NotFound
from .session import Session


def _clear(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def export_patients(session: Session, nhs_number: str | None = None) -> dict[str, Any]:
    """Every version of every record of one patient (by NHS number) or all patients, as plain data.

    Includes versions marked entered in error: a subject access request gets the whole record.
    """
    if nhs_number:
        found = session.find_by_nhs_number(nhs_number)
        if found is None:
            raise NotFound(f"No patient with NHS number {nhs_number} in this store.")
        patient_ids = [found.record_id]
    else:
        patient_ids = [pid for pid, _ in _all_patient_records(session)]
    users = {u.user_id: u.username for u in session.list_users()} if session.is_admin else {}
    patients = []
    for pid in patient_ids:
        records = []
        for record_id, kind in session.records_of_patient(pid):
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
                            "content": v.payload,
                        }
                        for v in session.history(record_id)
                    ],
                }
            )
        patients.append({"patient_id": pid, "records": records})
        session.record_event("export", patient_id=pid, detail="json export")
    return {
        "format": "perfectcare-export/1",
        "exported_at": _clear(session.store.clock.now()),
        "exported_by": session.user.username,
        "program_version": __version__,
        "organisation": session.store.organisation,
        "store_id": session.store.store_id,
        "patients": patients,
    }


def _all_patient_records(session: Session) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from ..store.models import Record

    session.dek  # noqa: B018 - refuses when locked
    with session.store.reading() as conn:
        rows = conn.execute(
            select(Record.record_id, Record.kind)
            .where(Record.kind == "patient")
            .order_by(Record.created_at, Record.record_id)
        )
        return [tuple(r) for r in rows]
