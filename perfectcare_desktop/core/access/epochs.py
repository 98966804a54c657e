"""Key epochs (issue 16 part 3): revocation that takes data away from what is written afterwards.

The store key (the data key every account's password unwraps, key id 1) still opens everything
written before the first revocation, and keeps its other jobs: MACs, the audit chain, the NHS-number
index, record ids, backup files. When someone loses access (disabled, or their password reset by an
admin), an admin's session makes a new **epoch**: a fresh 256-bit key, signed by the admin key (a
commitment to its secret and the signature, so a key planted in the file or on the hub is never
used), sealed to:
- each person still allowed, under their X25519 public key (signed with their grant);
- the admins' escrow key (derived from the admin key, which the recovery key holds a copy of);
- and the epochs it follows are sealed under it, so whoever holds it reads the history too.
What is written afterwards is sealed under the newest epoch. The person who lost access holds the
store key and the epochs up to then, in any backup or copy they kept: they read what they could
read before, and nothing written after (docs/store.md says exactly what is left to them).

A person's key pair is made by an admin with their password (new account, reset) and signed with
their grant. An account from before this release makes its own at its first sign-in; an admin's
session signs it (`reconcile`), and only then do epochs get sealed to it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ...crypto import aead, vault
from ...crypto.keypair import KeyPair, seal_to
from ...crypto.signing import AdminKey, AdminPublicKey
from ...store.models import EpochKey, EpochSeal, User
from ..storage import outbox
from . import grants

STORE_KEY_ID = 1  # the data key every store was made with
_TABLE = "epoch_seals"


def commitment(secret: bytes) -> bytes:
    """Lets a holder check the secret a seal gave them is the one the admin key signed."""
    return hmac.new(secret, b"perfectcare|epoch-commitment", hashlib.sha256).digest()


def signed_fields(store: str, key_id: int, created_at: datetime, created_by: str, commit: bytes) -> tuple[object, ...]:
    return ("epoch", store, int(key_id), created_at.isoformat(), created_by, bytes(commit).hex())


def is_genuine(row: Any, store: str, pinned: AdminPublicKey | None) -> bool:
    """Whether an epoch row is as an admin made it (an epoch is never used in a store without an admin key)."""
    return pinned is not None and pinned.verify(
        row.sig, *signed_fields(store, row.key_id, row.created_at, row.created_by, row.commitment)
    )


def user_recipient(user_id: str, public: bytes) -> str:
    return f"user:{user_id}:{public.hex()}"


def escrow_recipient(public: bytes) -> str:
    return f"escrow:{public.hex()}"


def epoch_recipient(key_id: int) -> str:
    return f"epoch:{key_id}"


def _label(key_id: int, recipient: str) -> str:
    return f"epoch|{key_id}|{recipient}"


class Keyring(vault.DataKey):
    """The store key (its MACs, index and backup subkeys are the store key's) and the epochs this
    session holds. Sealing uses the newest epoch held; opening goes by the key id in the sealed value's
    header, and a key not held is `aead.KeyNotHeld`, never taken for damage."""

    def __init__(self, store_key: vault.DataKey, holders: Iterable[tuple[str, KeyPair]] = ()) -> None:
        super().__init__(store_key.key_id, store_key.material())
        self._holders = dict(holders)  # recipient -> the private key that opens its seals
        self._epochs: dict[int, vault.DataKey] = {}
        self._current: vault.DataKey | None = None
        self._guard = threading.Lock()  # the sync worker refreshes while the GUI's worker seals

    @property
    def keypair(self) -> KeyPair | None:
        """This person's own key pair (to re-wrap under a new password)."""
        return next((kp for r, kp in self._holders.items() if r.startswith("user:")), None)

    @property
    def current_key_id(self) -> int:
        current = self._current
        return current.key_id if current is not None else self.key_id

    def holds(self, key_id: int) -> bool:
        return key_id == self.key_id or key_id in self._epochs

    def epoch(self, key_id: int) -> vault.DataKey:
        return self._epochs[key_id]

    def held_epochs(self) -> list[int]:
        return sorted(self._epochs)

    def refresh(self, conn: Connection) -> int:
        """Open every genuine epoch sealed to this session's keys, directly or under an epoch it holds.
        Returns how many were new. Cheap when nothing changed: epochs are few (one per revocation)."""
        pinned, store = grants.public_key(conn), grants.store_id(conn)
        rows = {r.key_id: r for r in conn.execute(select(EpochKey.__table__)) if is_genuine(r, store, pinned)}
        if not rows:
            return 0
        with self._guard:
            held = dict(self._epochs)
        found = 0
        direct = select(EpochSeal.__table__).where(EpochSeal.recipient.in_(list(self._holders)))
        for seal in conn.execute(direct):
            if seal.key_id in rows and seal.key_id not in held:
                try:
                    secret = self._holders[seal.recipient].open(bytes(seal.sealed), _label(seal.key_id, seal.recipient))
                except aead.DecryptionError:
                    continue  # not a seal this key made: ignored, never trusted
                if hmac.compare_digest(commitment(secret), bytes(rows[seal.key_id].commitment)):
                    held[seal.key_id], found = vault.DataKey(seal.key_id, secret), found + 1
        chained = [s for s in conn.execute(select(EpochSeal.__table__).where(EpochSeal.recipient.like("epoch:%")))]
        progress = True
        while progress:  # older epochs under newer ones, as deep as the chain goes
            progress = False
            for seal in chained:
                under = int(seal.recipient.removeprefix("epoch:"))
                if seal.key_id in held or seal.key_id not in rows or under not in held:
                    continue
                try:
                    secret = held[under].open(bytes(seal.sealed), _TABLE, str(seal.key_id), seal.recipient)
                except aead.DecryptionError:
                    continue
                if hmac.compare_digest(commitment(secret), bytes(rows[seal.key_id].commitment)):
                    held[seal.key_id], found, progress = vault.DataKey(seal.key_id, secret), found + 1, True
        newest = max(held, key=lambda k: (rows[k].created_at, k), default=None)
        with self._guard:
            self._epochs = held
            self._current = held[newest] if newest is not None else None
        return found

    # --- sealing and opening -----------------------------------------------------------------------
    def seal(self, plaintext: bytes, table: str, record_id: str, version_id: str, *extra: object) -> bytes:
        current = self._current
        if current is None:
            return super().seal(plaintext, table, record_id, version_id, *extra)
        return current.seal(plaintext, table, record_id, version_id, *extra)

    def open(self, sealed: bytes, table: str, record_id: str, version_id: str, *extra: object) -> bytes:
        key_id = aead.key_id_of(sealed)
        if key_id == self.key_id:
            return super().open(sealed, table, record_id, version_id, *extra)
        epoch = self._epochs.get(key_id)
        if epoch is None:
            raise aead.KeyNotHeld(f"sealed under key {key_id}, which this session does not hold")
        return epoch.open(sealed, table, record_id, version_id, *extra)


# --- making epochs (admins) --------------------------------------------------------------------------
def _fresh_key_id(conn: Connection) -> int:
    taken = set(conn.execute(select(EpochKey.key_id)).scalars()) | {STORE_KEY_ID}
    while True:
        # Random, not the next number: two admins' PCs making epochs offline never pick the same id
        # (a clash is about one in a million at a thousand epochs, and refused by the hub's key).
        key_id = int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF
        if key_id > STORE_KEY_ID and key_id not in taken:
            return key_id


def _allowed_people(conn: Connection, pinned: AdminPublicKey | None, store: str) -> dict[str, bytes]:
    """user id -> signed public key of every active person whose grant verifies."""
    people = conn.execute(select(User.__table__).where(User.role != "team", User.active, User.public_key.is_not(None)))
    return {
        p.user_id: bytes.fromhex(p.public_key)
        for p in people
        if pinned is not None and pinned.verify(p.grant_sig, *grants.fields(store, p))
    }


def _seal(conn: Connection, key_id: int, recipient: str, sealed: bytes, now: datetime) -> None:
    conn.execute(insert(EpochSeal.__table__), dict(key_id=key_id, recipient=recipient, sealed=sealed, created_at=now))


def rotate(conn: Connection, keyring: Keyring, admin_key: AdminKey, by: str, now: datetime) -> int:
    """Make a new epoch for the people allowed now; returns its key id. What is written afterwards (on
    this PC at once, on others once they sync) is sealed under it."""
    store = grants.store_id(conn)
    pinned = grants.public_key(conn)
    if pinned is None or pinned != admin_key.public:
        raise ValueError("epochs are made only with the admin key this store trusts")
    secret, key_id = os.urandom(vault.DEK_BYTES), _fresh_key_id(conn)
    commit = commitment(secret)
    sig = admin_key.sign(*signed_fields(store, key_id, now, by, commit))
    conn.execute(insert(EpochKey.__table__), dict(key_id=key_id, created_at=now, created_by=by, commitment=commit,
                                                  sig=sig))  # fmt: skip
    escrow = KeyPair.escrow(admin_key.material())
    recipients = {escrow_recipient(escrow.public): escrow.public}
    recipients |= {user_recipient(uid, pub): pub for uid, pub in _allowed_people(conn, pinned, store).items()}
    for recipient, public in recipients.items():
        _seal(conn, key_id, recipient, seal_to(public, secret, _label(key_id, recipient)), now)
    new = vault.DataKey(key_id, secret)
    # Chain the newest epoch of each line (one not yet sealed under another): the older ones already are.
    under = set(conn.execute(select(EpochSeal.key_id).where(EpochSeal.recipient.like("epoch:%"))).scalars())
    for old in keyring.held_epochs():
        if old not in under:
            recipient = epoch_recipient(key_id)
            _seal(conn, old, recipient, new.seal(keyring.epoch(old).material(), _TABLE, str(old), recipient), now)
    outbox.queue(conn, outbox.EPOCH, str(key_id), now)
    for old in keyring.held_epochs():
        outbox.queue(conn, outbox.EPOCH, str(old), now)
    keyring.refresh(conn)
    return key_id


def reconcile(conn: Connection, keyring: Keyring, admin_key: AdminKey, by: str, now: datetime) -> str:
    """An admin's session keeps epochs right (at sign-in, after account changes and after each pull):
    signs the key pairs people made at their first sign-in; makes a new epoch when the newest one is
    sealed to someone no longer allowed (disabled, or their password reset, here or on another PC);
    else seals it to anyone allowed who lacks it (a new account). Returns what it did, in words."""
    pinned, store = grants.public_key(conn), grants.store_id(conn)
    if pinned is None or pinned != admin_key.public:
        return ""
    signed = 0
    waiting = conn.execute(select(User.__table__).where(User.pending_key.is_not(None), User.active)).all()
    for person in waiting:
        if person.public_key is None and grants.is_genuine(conn, person, pinned):
            conn.execute(update(User).where(User.user_id == person.user_id)
                         .values(public_key=person.pending_key, pending_key=None))  # fmt: skip
            grants.sign(conn, admin_key, person.user_id, now)
            signed += 1
    keyring.refresh(conn)
    current = keyring.current_key_id
    if current == keyring.key_id:
        return f"{signed} key pairs signed" if signed else ""
    allowed = {user_recipient(uid, pub) for uid, pub in _allowed_people(conn, pinned, store).items()}
    sealed = set(
        conn.execute(
            select(EpochSeal.recipient).where(EpochSeal.key_id == current, EpochSeal.recipient.like("user:%"))
        ).scalars()
    )
    if sealed - allowed:
        rotate(conn, keyring, admin_key, by, now)
        return "a new key epoch: someone it was sealed to is no longer allowed"
    missing = allowed - sealed
    if missing:
        secret = keyring.epoch(current).material()
        for recipient in sorted(missing):
            public = bytes.fromhex(recipient.rsplit(":", 1)[1])
            _seal(conn, current, recipient, seal_to(public, secret, _label(current, recipient)), now)
        outbox.queue(conn, outbox.EPOCH, str(current), now)
    return ", ".join(filter(None, (f"{signed} key pairs signed" if signed else "",
                                   f"{len(missing)} people given the current key" if missing else "")))  # fmt: skip
