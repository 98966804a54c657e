"""The organisation's admin signing key (Ed25519): account changes are signed with it, and every PC
checks the signature before it trusts a role, an account's state or a row from the hub.

Only admins can unwrap the private half (wrapped under each admin's password-derived key, and under
the recovery key); every PC holds the public half, pinned when the store was made or joined. So a
clinician who edits `users.role` with sqlite3, or a row forged on the hub, changes nothing: the data
key they hold cannot make the signature."""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import aead

KEY_BYTES = 32


def _message(fields: tuple[object, ...]) -> bytes:
    return aead.context("admin-signed", "", "", *fields)


class AdminPublicKey:
    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise ValueError("an Ed25519 public key is 32 bytes")
        self._raw = raw
        self._key = Ed25519PublicKey.from_public_bytes(raw)

    @classmethod
    def from_hex(cls, text: str) -> AdminPublicKey:
        return cls(bytes.fromhex(text))

    def hex(self) -> str:
        return self._raw.hex()

    def fingerprint(self) -> str:
        """Short and readable, for an admin to compare by eye (`info`, the policy pin)."""
        digest = hashlib.sha256(b"perfectcare-admin-key|" + self._raw).hexdigest()[:20].upper()
        return " ".join(digest[i : i + 4] for i in range(0, 20, 4))

    def verify(self, signature: bytes | None, *fields: object) -> bool:
        if not signature:
            return False
        try:
            self._key.verify(bytes(signature), _message(fields))
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AdminPublicKey) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)


class AdminKey:
    """The private half, in memory only while an admin's session is unlocked."""

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise ValueError("an Ed25519 private key is 32 bytes")
        self._raw = raw
        self._key = Ed25519PrivateKey.from_private_bytes(raw)
        public = self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public = AdminPublicKey(public)

    @classmethod
    def generate(cls) -> AdminKey:
        key = Ed25519PrivateKey.generate()
        return cls(key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                     serialization.NoEncryption()))  # fmt: skip

    def material(self) -> bytes:
        """The raw key, only to be wrapped for another admin; never stored or shown as it is."""
        return self._raw

    def sign(self, *fields: object) -> bytes:
        return self._key.sign(_message(fields))
