"""Encrypted snapshots (caches): every patient's current details, so unlock need not decrypt 10,000
rows; and the caseload's plan heads, so it need not walk 40,000 plan versions.

Derived data only (a cache): one sealed blob holding the caseload's patient summaries and the local
version sequence it is complete up to. At unlock it is read, then any patient version saved after
it (here, or pulled by sync) is applied from the records themselves. A damaged or foreign snapshot
is ignored and rebuilt; it never decides what a record says.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import Connection, delete, insert, select

from ...crypto.aead import DecryptionError
from ...crypto.vault import DataKey
from ...store.models import Snapshot
from .details import PatientDetails, PatientSummary

NAME = "patients"
FORMAT = 2  # 2: {format, data}; older snapshots are simply rebuilt


def _row(s: PatientSummary) -> list[object]:
    d = s.details
    return [
        s.record_id, s.version_id, s.updated_at.isoformat(), s.needs_attention, d.given_name, d.family_name,
        d.date_of_birth.isoformat(), d.nhs_number, d.local_id, d.preferred_name, d.preferred_language,
        list(d.access_needs), d.team_id, list(d.shared_with),
    ]  # fmt: skip


def _summary(r: list) -> PatientSummary:
    teams = (r[12], tuple(r[13])) if len(r) > 13 else ("", ())  # a snapshot from before teams
    details = PatientDetails(r[4], r[5], date.fromisoformat(r[6]), r[7], r[8], r[9], r[10], tuple(r[11]), *teams)
    return PatientSummary(r[0], details, r[1], datetime.fromisoformat(r[2]), bool(r[3]))


def read_blob(conn: Connection, dek: DataKey, name: str) -> tuple[int, object] | None:
    """(upto_seq, data) of a sealed JSON snapshot, or None when absent, damaged or of another format."""
    row = conn.execute(select(Snapshot.upto_seq, Snapshot.payload).where(Snapshot.name == name)).first()
    if row is None:
        return None
    try:
        data = json.loads(dek.open(row.payload, "snapshots", name, str(row.upto_seq)))
    except (DecryptionError, ValueError):
        return None  # rebuilt from the records
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return row.upto_seq, data.get("data")


def write_blob(conn: Connection, dek: DataKey, name: str, upto_seq: int, data: object) -> None:
    # ASCII escapes: a lone surrogate (pasted by another program) reads back exactly instead of stopping
    # every caseload with UnicodeEncodeError.
    sealed = dek.seal(json.dumps({"format": FORMAT, "data": data}, ensure_ascii=True).encode(),
                      "snapshots", name, str(upto_seq))  # fmt: skip
    conn.execute(delete(Snapshot).where(Snapshot.name == name))
    conn.execute(insert(Snapshot.__table__), {"name": name, "upto_seq": upto_seq, "payload": sealed})


def read(conn: Connection, dek: DataKey) -> tuple[int, list[PatientSummary]] | None:
    found = read_blob(conn, dek, NAME)
    if found is None:
        return None
    upto_seq, rows = found
    if not isinstance(rows, list):
        return None  # not what write() saves: rebuilt from the records, as a damaged snapshot is
    try:
        return upto_seq, [_summary(r) for r in rows]
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def write(conn: Connection, dek: DataKey, upto_seq: int, summaries: list[PatientSummary]) -> None:
    write_blob(conn, dek, NAME, upto_seq, [_row(s) for s in summaries])
