"""The organisation data key, its wraps under user passwords and the recovery key, and its subkeys.

One random 256-bit data key (DEK) encrypts every payload. Each user's password, through Argon2id,
gives a key that wraps the DEK; the recovery key wraps another copy. Changing a password re-wraps
the DEK and touches no record.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import aead
from .kdf import KdfParams, derive_key, new_salt

DEK_BYTES = 32
RECOVERY_SECRET_BYTES = 32
_RECOVERY_CHECK_BYTES = 3  # 32 + 3 bytes encode to exactly 56 base32 characters: 14 groups of 4


class WrongSecret(Exception):
    """The password or recovery key does not unwrap the data key."""


class MalformedRecoveryKey(ValueError):
    """The recovery key text is not one this program made (typo, missing group)."""


@dataclass(frozen=True)
class WrappedKey:
    """A data key wrapped under a password- or recovery-derived key, as stored."""

    key_id: int
    kdf: str  # "argon2id:<json params>" or "recovery-hkdf"
    salt: bytes
    wrapped: bytes


def _wrap_context(label: str, key_id: int) -> bytes:
    return f"key-wrap|{label}|{key_id}".encode()


class DataKey:
    """An unwrapped data key in memory, with the purpose-specific subkeys derived from it."""

    def __init__(self, key_id: int, key: bytes) -> None:
        if len(key) != DEK_BYTES:
            raise ValueError("data key must be 32 bytes")
        self.key_id = key_id
        self._key = key
        self._payload_key = AESGCM(self._subkey(b"record-payload"))
        self._header_prefix = aead.header_prefix(key_id)
        self.blind_index_key = self._subkey(b"blind-index")
        self.audit_key = self._subkey(b"audit-chain")
        self.backup_key = self._subkey(b"backup-file")
        # MACs over what the hub keeps in clear and the version seal does not cover (a record's
        # patient, an account's role), so a tampered hub row is refused, not applied.
        self.sync_key = self._subkey(b"sync-metadata")

    def material(self) -> bytes:
        """The raw key, only to be wrapped again (an enrolment file); never stored or shown as it is."""
        return self._key

    def mac(self, *fields: object) -> bytes:
        """HMAC-SHA256 under the sync subkey of a canonical JSON list of fields."""
        return hmac.new(self.sync_key, aead.context("sync", "", "", *fields), hashlib.sha256).digest()

    @classmethod
    def generate(cls, key_id: int = 1) -> DataKey:
        return cls(key_id, os.urandom(DEK_BYTES))

    def _subkey(self, label: bytes) -> bytes:
        # Separate keys per purpose, so an HMAC tag can never be replayed as a ciphertext key and so on.
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"perfectcare|" + label).derive(self._key)

    # --- payloads -----------------------------------------------------------------------------
    def seal(self, plaintext: bytes, table: str, record_id: str, version_id: str, *extra: object) -> bytes:
        aad = aead.context(table, record_id, version_id, *extra)
        return aead.seal(self._payload_key, self.key_id, plaintext, aad)

    def open(self, sealed: bytes, table: str, record_id: str, version_id: str, *extra: object) -> bytes:
        aad = aead.context(table, record_id, version_id, *extra)
        if sealed[:7] == self._header_prefix and len(sealed) >= aead.HEADER_BYTES + aead.TAG_BYTES:
            # Fast path (10,000 of these at unlock): header already known good, decrypt directly.
            header = sealed[: aead.HEADER_BYTES]
            try:
                return self._payload_key.decrypt(header[7:], sealed[aead.HEADER_BYTES :], header + aad)
            except InvalidTag as exc:
                raise aead.DecryptionError("sealed value did not authenticate") from exc
        if aead.key_id_of(sealed) != self.key_id:
            raise aead.DecryptionError("sealed under another data key")
        return aead.open_sealed(self._payload_key, sealed, aad)

    def blind_index(self, kind: str, value: str) -> bytes:
        """Keyed hash for exact-match lookup (an NHS number) without storing the value."""
        return hmac.new(self.blind_index_key, f"{kind}|{value}".encode(), hashlib.sha256).digest()

    # --- wrapping -----------------------------------------------------------------------------
    def wrap_with_password(self, password: str, label: str, params: KdfParams) -> WrappedKey:
        salt = new_salt()
        return wrap_secret(self._key, derive_key(password, salt, params), salt, params, label, self.key_id)

    def wrap_with_recovery(self, recovery_secret: bytes) -> WrappedKey:
        return wrap_with_recovery(self._key, recovery_secret, "recovery", self.key_id)


def _recovery_kek(secret: bytes, salt: bytes) -> bytes:
    # The recovery secret is 256 random bits, so a slow password hash adds nothing; HKDF suffices.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"perfectcare|recovery-kek").derive(secret)


def password_kek(wrap: WrappedKey, password: str) -> bytes:
    """The key a password gives under a wrap's salt and parameters (the one slow step of signing in).
    An admin's wraps of the data key and of the admin signing key share the salt, so one derivation
    opens both."""
    if not wrap.kdf.startswith("argon2id:"):
        raise WrongSecret("not a password wrap")
    return derive_key(password, wrap.salt, KdfParams.from_json(wrap.kdf.removeprefix("argon2id:")))


def wrap_secret(secret: bytes, kek: bytes, salt: bytes, params: KdfParams, label: str, key_id: int = 1) -> WrappedKey:
    """Seal `secret` under a password-derived key already derived with `salt` and `params`."""
    wrapped = aead.seal(kek, key_id, secret, _wrap_context(label, key_id))
    return WrappedKey(key_id, "argon2id:" + params.to_json(), salt, wrapped)


def unwrap_secret(wrap: WrappedKey, kek: bytes, label: str) -> bytes:
    try:
        return aead.open_sealed(kek, wrap.wrapped, _wrap_context(label, wrap.key_id))
    except aead.DecryptionError as exc:
        raise WrongSecret("the password does not unwrap this key") from exc


def unwrap_with_password(wrap: WrappedKey, password: str, label: str) -> DataKey:
    return DataKey(wrap.key_id, unwrap_secret(wrap, password_kek(wrap, password), label))


def wrap_with_recovery(secret: bytes, recovery_secret: bytes, label: str, key_id: int = 1) -> WrappedKey:
    """Seal another secret (the admin signing key) under the recovery key."""
    salt = new_salt()
    wrapped = aead.seal(_recovery_kek(recovery_secret, salt), key_id, secret, _wrap_context(label, key_id))
    return WrappedKey(key_id, "recovery-hkdf", salt, wrapped)


def unwrap_secret_with_recovery(wrap: WrappedKey, recovery_secret: bytes, label: str) -> bytes:
    try:
        return aead.open_sealed(
            _recovery_kek(recovery_secret, wrap.salt), wrap.wrapped, _wrap_context(label, wrap.key_id)
        )
    except aead.DecryptionError as exc:
        raise WrongSecret("the recovery key does not unwrap this key") from exc


def unwrap_with_recovery(wrap: WrappedKey, recovery_secret: bytes) -> DataKey:
    return DataKey(wrap.key_id, unwrap_secret_with_recovery(wrap, recovery_secret, "recovery"))


# --- recovery key text ----------------------------------------------------------------------------
def new_recovery_secret() -> bytes:
    return os.urandom(RECOVERY_SECRET_BYTES)


def format_recovery_key(secret: bytes) -> str:
    """Printable form: 14 groups of 4 base32 characters, the last 3 bytes a checksum for typos."""
    check = hashlib.sha256(secret).digest()[:_RECOVERY_CHECK_BYTES]
    text = base64.b32encode(secret + check).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def parse_recovery_key(text: str) -> bytes:
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    # People copy 0/O and 1/I/L from paper; base32 has no 0, 1 or 8, so map the look-alikes.
    cleaned = cleaned.translate(str.maketrans("018", "OIB"))
    expected = (RECOVERY_SECRET_BYTES + _RECOVERY_CHECK_BYTES) * 8 // 5
    if len(cleaned) != expected:
        raise MalformedRecoveryKey(
            f"A recovery key has {expected} letters and digits in 14 groups of 4; this one has {len(cleaned)}."
        )
    try:
        raw = base64.b32decode(cleaned)
    except (ValueError, binascii.Error) as exc:
        raise MalformedRecoveryKey("That recovery key contains characters a recovery key never has.") from exc
    secret, check = raw[:RECOVERY_SECRET_BYTES], raw[RECOVERY_SECRET_BYTES:]
    if not hmac.compare_digest(hashlib.sha256(secret).digest()[:_RECOVERY_CHECK_BYTES], check):
        raise MalformedRecoveryKey("That recovery key has a typo: check each group against the printed copy.")
    return secret
