"""The 64-bit id hash the hub computes itself (`id_hash`, hub revision h002), computed the same way
here: anti-entropy compares per-bucket counts and XORs of it without sending any id."""

from __future__ import annotations

import hashlib

BUCKETS = 256


def id_hash(text: str) -> int:
    """The first 8 bytes of the id's MD5 as a signed 64-bit number, as the hub's
    ('x' || substr(md5(id), 1, 16))::bit(64)::bigint. Not for secrecy: a checksum of random ids."""
    return int.from_bytes(hashlib.md5(text.encode("ascii")).digest()[:8], "big", signed=True)  # noqa: S324


def bucket_of(h: int) -> int:
    """The hash's top byte, as the hub's `bucket` column."""
    return (h >> 56) & 0xFF
