"""Whole-store integrity check: database structure, every ciphertext, the audit chain, the blind index."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from ..crypto.aead import DecryptionError
from ..crypto.vault import DataKey
from ..store.models import BlindIndex, Record, Version, VersionParent
from . import audit, versions
from .session import Session

Progress = Callable[[int, int], None]


@dataclass
class VerifyReport:
    versions_checked: int = 0
    audit_entries_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


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
    dek = session.dek
    report = VerifyReport()
    with session.store.reading() as conn:
        integrity = conn.exec_driver_sql("PRAGMA integrity_check").scalars().all()
        if integrity != ["ok"]:
            report.problems.append("database structure: " + "; ".join(integrity[:5]))
        total = conn.execute(select(func.count()).select_from(Version)).scalar_one()
        parents: dict[str, list[str]] = {}
        for vp in conn.execute(select(VersionParent.version_id, VersionParent.parent_id)):
            parents.setdefault(vp.version_id, []).append(vp.parent_id)
        q = select(Version.__table__)
        for done, row in enumerate(conn.execute(q.order_by(Version.seq)), start=1):
            try:
                data = versions.open_payload(dek, row, parents.get(row.version_id, []))
                versions.payloads.decode(data)
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
        report.audit_entries_checked = audit.count(conn)
    detail = "intact" if report.ok else f"{len(report.problems)} problem(s)"
    session.record_event("verify", detail=detail)
    return report
