"""Whole-store integrity check: database structure, every ciphertext, the audit chain, the blind index."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..crypto.aead import DecryptionError
from ..store.models import Record, Version, VersionParent
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


def verify_store(session: Session, progress: Progress | None = None) -> VerifyReport:
    """Check everything; the report names each problem found. Records a 'verify' audit entry."""
    dek = session.dek
    report = VerifyReport()
    with session.store.reading() as conn:
        integrity = conn.exec_driver_sql("PRAGMA integrity_check").scalars().all()
        if integrity != ["ok"]:
            report.problems.append("database structure: " + "; ".join(integrity[:5]))
        total = conn.execute(select(func.count()).select_from(Version)).scalar_one()
        q = select(Version.seq, Version.version_id, Version.record_id, Version.kind, Version.payload)
        for done, row in enumerate(conn.execute(q.order_by(Version.seq)), start=1):
            try:
                data = dek.open(row.payload, versions.PAYLOAD_TABLE, row.record_id, row.version_id)
                versions.payloads.decode(data)
            except DecryptionError:
                report.problems.append(
                    f"version {row.version_id} of record {row.record_id} ({row.kind}) does not authenticate: "
                    "its ciphertext was altered or moved from another row"
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
        report.problems.extend(audit.verify(conn, dek))
        report.audit_entries_checked = audit.count(conn)
    detail = "intact" if report.ok else f"{len(report.problems)} problem(s)"
    session.record_event("verify", detail=detail)
    return report
