"""SQLAlchemy models of the local store.

Only query metadata is in clear: random ids, kinds, timestamps, status and due dates, staff user
names. Every patient detail lives in `payload`, sealed with the data key and bound to its row.
Clinical tables are append-only; triggers in the first migration refuse UPDATE and DELETE.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    # Every model here is declared with __tablename__, so its __table__ is a Table (SQLAlchemy types
    # it as the wider FromClause, which has no insert()/delete()); the SQLAlchemy maintainers'
    # suggested declaration (sqlalchemy/sqlalchemy#9130). An annotation only: nothing is mapped.
    __table__: ClassVar[Table]


class Meta(Base):
    """Store-wide facts: store id, organisation name, creation time."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # "clinician" | "admin"
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # The grant (name, role, active) as last signed by the admin key, and that signature (core/access/grants.py).
    grant_rev: Mapped[int] = mapped_column(default=0)
    grant_sig: Mapped[bytes | None] = mapped_column(LargeBinary)
    teams: Mapped[str | None] = mapped_column(Text)  # a person's team ids, sorted, as JSON (signed with the grant)
    # The person's X25519 public key (hex) that key epochs are sealed to, signed with the grant; and one
    # they made themselves at sign-in, waiting for an admin's signature (core/access/epochs.py).
    public_key: Mapped[str | None] = mapped_column(Text)
    pending_key: Mapped[str | None] = mapped_column(Text)


class KeyWrap(Base):
    """The data key wrapped under one user's password, or under the recovery key (user_id NULL)."""

    __tablename__ = "key_wraps"
    wrap_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key_id: Mapped[int]
    # "user" | "recovery" | "admin" | "admin-recovery" | "keypair" (a person's X25519 private key)
    purpose: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.user_id"))
    kdf: Mapped[str] = mapped_column(Text)
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class EpochKey(Base):
    """A key epoch (core/access/epochs.py): a data key made at a revocation, sealed to the people still
    allowed. Its secret is never here in clear: `commitment` lets a holder check the one they opened,
    `sig` is the admin key's signature over it. Append-only (migration 0009)."""

    __tablename__ = "epoch_keys"
    key_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(36))
    commitment: Mapped[bytes] = mapped_column(LargeBinary)
    sig: Mapped[bytes] = mapped_column(LargeBinary)


class EpochSeal(Base):
    """An epoch's secret sealed to one recipient: `user:<user id>:<public key hex>`, `escrow:<public key
    hex>` (the admins' and the recovery key's), or `epoch:<key id>` (under a newer epoch, so whoever holds
    the newer one reads what was written under the older). Append-only (migration 0009)."""

    __tablename__ = "epoch_seals"
    key_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    recipient: Mapped[str] = mapped_column(String(160), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class Record(Base):
    """Identity of one clinical record: a patient's details, a safety plan, a formulation, ..."""

    __tablename__ = "records"
    record_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    patient_id: Mapped[str] = mapped_column(String(36), index=True)  # a patient record's own id
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))


class Version(Base):
    """One immutable version of a record. A save appends one; nothing is updated in place."""

    __tablename__ = "versions"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)  # local arrival order
    version_id: Mapped[str] = mapped_column(String(36), unique=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.record_id"))
    kind: Mapped[str] = mapped_column(String(32))
    author_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    created_at: Mapped[datetime]
    signed: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(32))  # e.g. "current", "draft", "agreed", "entered_in_error"
    review_due: Mapped[date | None]
    followup_due: Mapped[date | None]
    payload: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("ix_versions_record", "record_id", "seq"),
        Index(
            "ix_versions_heads",
            "kind", "seq", "version_id", "record_id", "status", "created_at", "signed", "review_due", "followup_due",
        ),
    )  # fmt: skip


class VersionParent(Base):
    """Parent links; a version no other version names as parent is a head of its record."""

    __tablename__ = "version_parents"
    version_id: Mapped[str] = mapped_column(ForeignKey("versions.version_id"), primary_key=True)
    parent_id: Mapped[str] = mapped_column(ForeignKey("versions.version_id"), primary_key=True, index=True)


class BlindIndex(Base):
    """Keyed HMAC of an exact-match value (NHS number) -> record, so lookup needs no plaintext."""

    __tablename__ = "blind_index"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.record_id"), primary_key=True)


class AuditEntry(Base):
    """Hash-chained audit trail: mac = HMAC(audit key, previous mac || this entry's fields)."""

    __tablename__ = "audit"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    patient_id: Mapped[str | None] = mapped_column(String(36), index=True)
    target_id: Mapped[str | None] = mapped_column(String(36))
    detail: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed: may name files or reasons
    mac: Mapped[bytes] = mapped_column(LargeBinary)


class LoginThrottle(Base):
    """Failed sign-ins under names that are not accounts, counted like real ones, so the lockout
    answer never tells a guesser which user names exist. Keyed by a salted hash, not the name."""

    __tablename__ = "login_throttle"
    name_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed_attempts: Mapped[int]
    locked_until: Mapped[datetime | None]


class Snapshot(Base):
    """Derived, encrypted caches (the caseload's patient summaries): rebuilt from records at will."""

    __tablename__ = "snapshots"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    upto_seq: Mapped[int]
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class Autosave(Base):
    """A draft being typed (plan, formulation), sealed; replaced on each autosave and removed when
    the draft is saved as a version. A working copy, not clinical history (migration 0002); a merge
    draft keeps the versions it merges (0004)."""

    __tablename__ = "autosaves"
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[str | None] = mapped_column(String(36))
    base_version_id: Mapped[str | None] = mapped_column(String(36))
    merge_of: Mapped[str | None] = mapped_column(Text)  # space-separated version ids; NULL: not a merge
    saved_at: Mapped[datetime]
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class PendingAuditEvent(Base):
    """Events seen while locked (failed logins): no key yet to chain them, so they wait in clear
    (a user name and a time only) and are folded into the chain at the next unlock."""

    __tablename__ = "pending_audit"
    pending_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str | None] = mapped_column(String(36))
    note: Mapped[str] = mapped_column(Text, default="")


class Outbox(Base):
    """Changes waiting for the sync hub, oldest first; a row goes only once the hub has committed it
    (migration 0003). Written in the same transaction as the change it names."""

    __tablename__ = "outbox"
    oid: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    item: Mapped[str] = mapped_column(String(16))  # "version" | "audit" | "user" | "epoch"
    ref: Mapped[str] = mapped_column(String(36))
    change_id: Mapped[str | None] = mapped_column(String(36))
    queued_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    parked_at: Mapped[datetime | None]
    problem: Mapped[str | None] = mapped_column(Text)


class SyncReject(Base):
    """An item from the hub that could not be applied (it failed authentication, say): reported,
    kept out of the store, and skipped so the rest syncs; tried again when the hub row changes or
    what it needs arrives (migration 0005)."""

    __tablename__ = "sync_rejects"
    stream: Mapped[str] = mapped_column(String(16), primary_key=True)
    hub_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ref: Mapped[str] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime]
    patient_id: Mapped[str | None] = mapped_column(String(36))
    retry: Mapped[str] = mapped_column(String(16), default="changed")  # "changed" | "dependency"
    digest: Mapped[str | None] = mapped_column(Text)


class HubAudit(Base):
    """Another PC's audit entry (or this PC's, as the hub holds it), pulled by an admin PC for the
    access report; its chain MAC checked before it was kept. Append-only (migration 0006)."""

    __tablename__ = "hub_audit"
    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stream: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    user_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(32))
    patient_id: Mapped[str | None] = mapped_column(String(36))
    target_id: Mapped[str | None] = mapped_column(String(36))
    detail: Mapped[bytes | None] = mapped_column(LargeBinary)
    mac: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_hub_audit_patient", "patient_id", "at"),)


class HubAuditCursor(Base):
    """Per PC and stream, the last hub audit entry pulled (kept or refused) and its MAC."""

    __tablename__ = "hub_audit_cursors"
    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stream: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int]
    mac: Mapped[bytes] = mapped_column(LargeBinary)


class HubDevice(Base):
    """An enrolled PC's label on the hub, for naming PCs in the access report."""

    __tablename__ = "hub_devices"
    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    label: Mapped[str] = mapped_column(Text)
