"""Whole-store integrity check: database structure, every ciphertext, the audit chain, the blind index."""

from __future__ import annotations

import re
import sqlite3
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import DatabaseError

from ...crypto.aead import DecryptionError
from ...crypto.vault import DataKey
from ...store import database
from ...store.models import AuditEntry, BlindIndex, Record, Version, VersionParent
from ..access import grants
from ..access.session import Session
from ..patients import snapshot as patient_snapshot
from . import arrivals, audit, consistency, versions
from .store import Store

Progress = Callable[[int, int], None]


@dataclass
class VerifyReport:
    versions_checked: int = 0
    audit_entries_checked: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was not or could not be checked; not damage

    @property
    def ok(self) -> bool:
        return not self.problems


def _first_check_row(conn: sqlite3.Connection, table: str | None) -> str:
    """The first row of SQLite's integrity check: the one naming damaged pages. Only that row, because
    SQLite may stop with an error just after it, and Python's sqlite3 reads a row ahead: the row that
    named the damage would be lost behind a bare 'database disk image is malformed'."""
    query = "SELECT * FROM pragma_integrity_check" + ("(?)" if table else "") + " LIMIT 1"
    try:
        row = conn.execute(query, (table,) if table else ()).fetchone()
    except sqlite3.DatabaseError as exc:
        return f"it cannot be checked ({exc})"
    return row[0] if row else "ok"


def _in_words(table: str, found: str) -> str:
    lines = [line for line in found.splitlines() if not line.startswith("*** in database")]
    detail = "; ".join(lines[:3])[:200] or found
    pages = sorted({int(n) for n in re.findall(r"\b[Pp]age (\d+)", found)})
    where = f"table {table}" if table else "the database"
    if pages:
        listed = ", ".join(str(n) for n in pages[:10]) + (" and more" if len(pages) > 10 else "")
        return f"{where}: damaged page{'s' if len(pages) > 1 else ''} {listed} (SQLite: {detail})"
    return f"{where}: {detail}"


def database_damage(path: Path) -> list[str]:
    """SQLite's integrity check of the store file, in words: which tables, which pages. [] when sound.
    Read-only; a table is checked with its indexes."""
    uri = "file:" + urllib.parse.quote(str(path)) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        return [f"the database file cannot be opened ({exc})"]
    try:
        whole = _first_check_row(conn, None)
        if whole == "ok":
            return []
        try:
            tables = [n for (n,) in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")]
        except sqlite3.DatabaseError as exc:
            return [f"the database's list of tables cannot be read ({exc}); {_in_words('', whole)}"]
        problems = [_in_words(t, found) for t in tables if (found := _first_check_row(conn, t)) != "ok"]
        return problems or [_in_words("", whole)]
    finally:
        conn.close()


def _lone_surrogate(value: object) -> bool:
    """Half a UTF-16 pair (JSON's \\ud800 escape) decodes but can be neither printed nor written as UTF-8."""
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_lone_surrogate(k) or _lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_lone_surrogate(v) for v in value)
    return False


def _blind_index_problems(conn: Connection, dek: DataKey) -> list[str]:
    """Each patient's current NHS number must be findable: a lost index row would hide the patient
    from exact lookup and let the same number be registered twice."""
    indexed = {(r.digest, r.record_id) for r in conn.execute(select(BlindIndex.digest, BlindIndex.record_id))}
    problems = []
    for row in versions.heads_of_kind(conn, "patient"):
        if row.status == versions.ENTERED_IN_ERROR:
            continue
        try:
            nhs = versions.decrypt_row(dek, row).get("nhs_number", "")
        except DecryptionError:
            continue  # already reported with the versions
        if (dek.blind_index("nhs", nhs), row.record_id) not in indexed:
            problems.append(f"patient record {row.record_id} is missing from the NHS-number index")
    return problems


def _patient_cache_problems(conn: Connection, dek: DataKey) -> list[str]:
    """The cached patient list holds each patient's head when it was written, complete up to a local
    arrival number. A head numbered at or below that number which the cache does not hold means the
    numbers were edited (say, to slip a correction under a cache put back from an older copy). The app
    no longer trusts the numbers for this (versions.changed_records); the edit is still named."""
    snap = patient_snapshot.read(conn, dek)
    if snap is None:
        return []
    upto, summaries = snap
    cached = {s.record_id: s.version_id for s in summaries}
    heads: dict[str, list[Any]] = {}
    q = select(Version.record_id, Version.version_id, Version.seq, Version.status).where(
        Version.kind == consistency.PATIENT, versions.is_head()
    )
    for row in conn.execute(q):
        heads.setdefault(row.record_id, []).append(row)
    problems = []
    for record_id, found in heads.items():
        if any(h.seq > upto or h.status == versions.ENTERED_IN_ERROR for h in found):
            continue  # saved since the cache, or its current content is not its head: nothing to compare
        if cached.get(record_id) not in {h.version_id for h in found}:
            problems.append(
                f"patient record {record_id}: its newest version {found[-1].version_id} is numbered as arriving "
                f"before the cached patient list was written (up to {upto}), yet the list does not hold it: the local "
                "arrival numbers (versions.seq) were edited, or the list was put back from an older copy of the file"
            )
    return problems


class Anchored(Protocol):
    problems: list[str]
    notes: list[str]


def verify_store(
    session: Session, progress: Progress | None = None, *, anchor: Callable[[Store, DataKey], Anchored] | None = None
) -> VerifyReport:
    """Check everything; the report names each problem found. Records a 'verify' audit entry.
    `anchor`: compares the audit trail with a copy held outside the file (the hub's, through
    sync.audit_anchor.verify_with_hub, which the CLI and the admin page use; core does not reach the hub)."""
    dek = session.require_unlocked()
    report = VerifyReport()
    damage = database_damage(database.db_path(session.store.data_dir))
    report.problems.extend(f"database structure: {d}" for d in damage)
    try:
        _check_contents(session, dek, report, progress)
    except DatabaseError as exc:
        if not damage:
            raise
        report.problems.append(
            f"the check stopped after {report.versions_checked:,} versions: the damaged pages above cannot be read "
            f"({exc.orig}). Restore the latest good backup with 'perfectcare-admin restore'."
        )
    if anchor is not None and not damage:
        # Before this check's own audit entry, so the hub's head is compared with the trail as found.
        anchored = anchor(session.store, dek)
        report.problems.extend(anchored.problems)
        report.notes.extend(anchored.notes)
    detail = "intact" if report.ok else f"{len(report.problems)} problem(s)"
    try:
        session.record_event("verify", detail=detail)
    except DatabaseError:
        if not damage:
            raise
        report.problems.append("this check could not be written to the audit trail (the store is damaged)")
    return report


def _check_contents(session: Session, dek: DataKey, report: VerifyReport, progress: Progress | None) -> None:
    with session.store.reading() as conn:
        total = conn.execute(select(func.count()).select_from(Version)).scalar_one()
        records = {
            r.record_id: consistency.RecordRow(r.record_id, r.kind, r.patient_id)
            for r in conn.execute(select(Record.record_id, Record.kind, Record.patient_id))
        }
        owner = consistency.owners(records.values())
        parents: dict[str, list[str]] = {}
        for vp in conn.execute(select(VersionParent.version_id, VersionParent.parent_id)):
            parents.setdefault(vp.version_id, []).append(vp.parent_id)
        seen: list[consistency.SeenVersion] = []
        unbound = 0
        for done, row in enumerate(conn.execute(select(Version.__table__)), start=1):
            mine = tuple(sorted(parents.get(row.version_id, ())))
            opened, marks = _open_one(dek, row, mine, records, owner, report)
            unbound += opened is False
            seen.append(consistency.SeenVersion(row.version_id, row.seq, row.record_id, row.kind, row.status,
                                                row.created_at, mine, opened is not None, marks))  # fmt: skip
            report.versions_checked = done
            if progress and (done % 500 == 0 or done == total):
                progress(done, total)
        for v in seen:
            if v.record_id not in records:
                report.problems.append(f"version {v.version_id} belongs to no record")
        report.problems.extend(consistency.record_problems(records, seen, owner))
        report.problems.extend(consistency.graph_problems(seen))
        report.problems.extend(_blind_index_problems(conn, dek))
        report.problems.extend(_patient_cache_problems(conn, dek))
        report.problems.extend(audit.verify(conn, dek))
        report.problems.extend(grants.altered_accounts(conn))
        entries = [
            consistency.AuditRef(e.seq, e.action, e.target_id)
            for e in conn.execute(
                select(AuditEntry.seq, AuditEntry.action, AuditEntry.target_id).where(
                    AuditEntry.action.in_((*consistency.SAVES, consistency.WITHDRAWAL))
                )
            )
        ]
        arrived, damaged_lists = arrivals.read(conn, dek)
        if damaged_lists:
            report.problems.append(
                f"{damaged_lists} list(s) of the versions received from the hub or imported do not authenticate: "
                "they were altered, so those versions are named below as having no audit entry"
            )
        report.problems.extend(consistency.audit_problems(seen, entries, arrived))
        _baseline_findings(conn, dek, report)
        report.audit_entries_checked = audit.count(conn)
    if unbound:
        report.notes.append(
            f"{unbound:,} version(s) were written before each version sealed its patient; whether their records "
            "are filed under the right patient is checked from their record ids only (see docs/store.md)"
        )


def _baseline_findings(conn: Connection, dek: DataKey, report: VerifyReport) -> None:
    """The one-off listing of versions an older program received without listing them (arrivals.py)."""
    listed = arrivals.baselines(conn, dek)
    for e in listed[:1]:
        report.notes.append(
            f"{e.detail.split(': ')[-1]} version(s) already in this store on {e.at:%Y-%m-%d %H:%M} without an audit "
            "entry (received by an older program) were accepted then; the audit cross-check covers what came after"
        )
    if len(listed) > 1:
        report.problems.append(
            f"the one-off acceptance of versions without an audit entry ran again at {listed[1].at:%Y-%m-%d %H:%M} "
            f"(audit entry {listed[1].seq}): its marker in meta was deleted, and the versions it accepted then may be "
            "ones whose audit entries were cut"
        )


def _open_one(dek: DataKey, row: Any, parents: tuple[str, ...], records: dict[str, consistency.RecordRow],
              owner: dict[str, str], report: VerifyReport) -> tuple[bool | None, str | None]:  # fmt: skip
    """(True: it opened with its patient sealed in, False: under the older binding, None: it did not
    open; the version it withdraws, if it is an "entered in error" version). Problems go in the report."""
    record = records.get(row.record_id)
    patient = record.patient_id if record else ""
    what = f"version {row.version_id} of record {row.record_id} ({row.kind})"
    try:
        try:
            data, bound = versions.open_bound(dek, row, parents, patient)
        except DecryptionError:
            made_for = owner.get(row.record_id)
            if made_for in (None, patient):
                raise
            # Filed under another patient: the record's problem names it; the version itself is sound.
            data, bound = versions.open_bound(dek, row, parents, made_for)
        content = versions.payloads.decode(data)
    except DecryptionError:
        report.problems.append(
            f"{what} does not authenticate: its ciphertext or its metadata (signed, status, dates, parents, "
            "patient) was altered, it was moved from another row, or its record was filed under another patient"
        )
        return None, None
    except ValueError:
        report.problems.append(f"version {row.version_id} decrypts but its content is not readable")
        return None, None
    if _lone_surrogate(content):
        report.problems.append(
            f"{what} holds an invalid character (a lone UTF-16 surrogate, written by another program): 'export' "
            "writes it as U+FFFD"
        )
    marks = content.get("marks") if row.status == versions.ENTERED_IN_ERROR and isinstance(content, dict) else None
    return bound, marks if isinstance(marks, str) else None
