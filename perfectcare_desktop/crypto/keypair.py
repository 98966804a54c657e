"""A person's X25519 key pair, and sealing a secret to a public key (ECIES: an ephemeral X25519
exchange, HKDF-SHA256, AES-256-GCM), all from `cryptography`.

Revocation needs it: when someone loses access, an admin makes a new epoch key and seals it to each
person still allowed without knowing their passwords; only the holder of the private half opens it.
The admins' escrow key pair is derived from the admin signing key, so every admin and the recovery key
(which holds a copy of the admin key) reach every epoch."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import aead

PUBLIC_BYTES = 32
_NONCE = 12


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class KeyPair:
    """An X25519 private key in memory (unwrapped at sign-in, forgotten at lock)."""

    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        self._key = X25519PrivateKey.from_private_bytes(raw)
        self.public = _raw_public(self._key.public_key())

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(os.urandom(32))

    @classmethod
    def escrow(cls, admin_key_material: bytes) -> KeyPair:
        """The admins' escrow pair: derived, so whoever holds the admin key holds it."""
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"perfectcare|escrow-x25519")
        return cls(seed.derive(admin_key_material))

    def material(self) -> bytes:
        """The raw private key, only to be wrapped under a password; never stored or shown as it is."""
        return self._raw

    def open(self, sealed: bytes, label: str) -> bytes:
        """The secret `seal_to(self.public, ...)` sealed; aead.DecryptionError if it is not for us."""
        if len(sealed) < PUBLIC_BYTES + _NONCE + aead.TAG_BYTES:
            raise aead.DecryptionError("sealed value is too short")
        ephemeral = sealed[:PUBLIC_BYTES]
        shared = self._key.exchange(X25519PublicKey.from_public_bytes(ephemeral))
        key = _seal_key(shared, ephemeral, self.public)
        nonce, body = sealed[PUBLIC_BYTES : PUBLIC_BYTES + _NONCE], sealed[PUBLIC_BYTES + _NONCE :]
        try:
            return AESGCM(key).decrypt(nonce, body, _aad(label, ephemeral, self.public))
        except Exception as exc:  # InvalidTag
            raise aead.DecryptionError("sealed value did not authenticate") from exc


def _seal_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    info = b"perfectcare|seal-to|" + ephemeral + recipient
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


def _aad(label: str, ephemeral: bytes, recipient: bytes) -> bytes:
    return aead.context("seal-to", label, "", ephemeral.hex(), recipient.hex())


def seal_to(public: bytes, secret: bytes, label: str) -> bytes:
    """Seal `secret` so only the holder of `public`'s private half opens it; `label` binds what it is."""
    if len(public) != PUBLIC_BYTES:
        raise ValueError("an X25519 public key is 32 bytes")
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = _raw_public(ephemeral.public_key())
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public))
    nonce = os.urandom(_NONCE)
    body = AESGCM(_seal_key(shared, ephemeral_public, public)).encrypt(
        nonce, secret, _aad(label, ephemeral_public, public)
    )
    return ephemeral_public + nonce + body
