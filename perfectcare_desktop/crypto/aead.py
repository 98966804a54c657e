"""AES-256-GCM sealing of payloads with a small header and row-binding associated data.

Layout of a sealed value: MAGIC (2) | format (1) | key id (4, big endian) | nonce (12) | ciphertext+tag.
The header is part of the associated data, so changing it (say, the key id) breaks authentication;
so is the caller's context (table, record id, version id and the row's clear metadata), so a
ciphertext copied to another row fails, and so does a row whose metadata (signed, status...) was edited.
"""

from __future__ import annotations

import json
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"PC"
FORMAT_VERSION = 1
_HEADER = struct.Struct(">2sBI")
NONCE_BYTES = 12
HEADER_BYTES = _HEADER.size + NONCE_BYTES
TAG_BYTES = 16


class DecryptionError(Exception):
    """A sealed value did not authenticate: wrong key, wrong row, or altered bytes."""


class KeyNotHeld(DecryptionError):
    """A sealed value is under a key this session does not hold (yet): an epoch not yet synced here, or
    one made after this person lost access (core/access/epochs.py). Not damage."""


def context(table: str, record_id: str, version_id: str, *extra: object) -> bytes:
    """Associated data binding a ciphertext to one row (and to that row's clear metadata, if given).

    JSON, not a joined string, so no two different rows can ever produce the same bytes."""
    return json.dumps([table, record_id, version_id, *extra], separators=(",", ":"), ensure_ascii=True).encode()


def seal(key: bytes | AESGCM, key_id: int, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt; `key` may be a prepared AESGCM (its set-up costs as much as sealing a small record)."""
    cipher = key if isinstance(key, AESGCM) else AESGCM(key)
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, key_id) + os.urandom(NONCE_BYTES)
    return header + cipher.encrypt(header[-NONCE_BYTES:], plaintext, header + aad)


def header_prefix(key_id: int) -> bytes:
    """The fixed first bytes of every value sealed under `key_id` (magic, format, key id)."""
    return _HEADER.pack(MAGIC, FORMAT_VERSION, key_id)


def key_id_of(sealed: bytes) -> int:
    """Which data key sealed this value, read without decrypting (for key rotation)."""
    if len(sealed) < HEADER_BYTES + TAG_BYTES:
        raise DecryptionError("sealed value is too short")
    key_id: int  # the header's last field is an unsigned integer (struct's unpack is untyped)
    magic, version, key_id = _HEADER.unpack_from(sealed)
    if magic != MAGIC or version != FORMAT_VERSION:
        raise DecryptionError("sealed value has an unknown header")
    return key_id


def open_sealed(key: bytes | AESGCM, sealed: bytes, aad: bytes) -> bytes:
    key_id_of(sealed)  # validates length and header first, for a precise error
    header = sealed[:HEADER_BYTES]
    cipher = key if isinstance(key, AESGCM) else AESGCM(key)
    try:
        return cipher.decrypt(header[-NONCE_BYTES:], sealed[HEADER_BYTES:], header + aad)
    except InvalidTag as exc:
        raise DecryptionError("sealed value did not authenticate") from exc
