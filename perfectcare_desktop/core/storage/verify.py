"""Whole-store integrity check: database structure, every ciphertext, the audit chain, the blind index."""

from __future__ import annotations

import re
import sqlite3
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import DatabaseError

from ...crypto.aead import DecryptionError
from ...crypto.vault import DataKey
from ...store import database
from ...store.models import BlindIndex, Record, Version, VersionParent
from ..access import grants
from ..access.session import Session
from . import audit, versions

Progress = Callable[[int, int], None]


@dataclass
class VerifyReport:
    versions_checked: int = 0
    audit_entries_checked: int = 0
    problems: list[str] = field(default_factory=list)

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


def verify_store(session: Session, progress: Progress | None = None) -> VerifyReport:
    """Check everything; the report names each problem found. Records a 'verify' audit entry."""
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
        parents: dict[str, list[str]] = {}
        for vp in conn.execute(select(VersionParent.version_id, VersionParent.parent_id)):
            parents.setdefault(vp.version_id, []).append(vp.parent_id)
        q = select(Version.__table__)
        for done, row in enumerate(conn.execute(q.order_by(Version.seq)), start=1):
            try:
                data = versions.open_payload(dek, row, parents.get(row.version_id, []))
                if _lone_surrogate(versions.payloads.decode(data)):
                    report.problems.append(
                        f"version {row.version_id} of record {row.record_id} ({row.kind}) holds an invalid character "
                        "(a lone UTF-16 surrogate, written by another program): 'export' writes it as U+FFFD"
                    )
            except DecryptionError:
                report.problems.append(
                    f"version {row.version_id} of record {row.record_id} ({row.kind}) does not authenticate: "
                    "its ciphertext or its metadata (signed, status, dates, parents) was altered, or it was "
                    "moved from another row"
                )
            except ValueError:
                report.problems.append(f"version {row.version_id} decrypts but its content is not readable")
            report.versions_checked = done
            if progress and (done % 500 == 0 or done == total):
                progress(done, total)
        orphans = (
            conn.execute(
                select(Version.version_id)
                .outerjoin(Record, Record.record_id == Version.record_id)
                .where(Record.record_id.is_(None))
            )
            .scalars()
            .all()
        )
        for v in orphans:
            report.problems.append(f"version {v} belongs to no record")
        parent = Version.__table__.alias("parent")
        cross = (
            conn.execute(
                select(VersionParent.version_id)
                .join(Version, Version.version_id == VersionParent.version_id)
                .join(parent, parent.c.version_id == VersionParent.parent_id)
                .where(parent.c.record_id != Version.record_id)
            )
            .scalars()
            .all()
        )
        for v in cross:
            report.problems.append(f"version {v} names a parent from another record")
        report.problems.extend(_blind_index_problems(conn, dek))
        report.problems.extend(audit.verify(conn, dek))
        report.problems.extend(grants.altered_accounts(conn))
        report.audit_entries_checked = audit.count(conn)
