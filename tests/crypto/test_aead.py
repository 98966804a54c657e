"""AES-256-GCM sealing: round trips, tamper detection, row binding, key ids in the header."""

from __future__ import annotations

import json
import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from perfectcare_desktop.crypto import aead
from perfectcare_desktop.crypto.aead import (
    HEADER_BYTES,
    MAGIC,
    NONCE_BYTES,
    TAG_BYTES,
    DecryptionError,
    context,
    key_id_of,
    open_sealed,
    seal,
)
from perfectcare_desktop.crypto.vault import DataKey

keys = st.binary(min_size=32, max_size=32)
key_ids = st.integers(min_value=0, max_value=2**32 - 1)
plaintexts = st.binary(max_size=2048)
# A context part is a table name, a record id or a version id. "|" is the separator inside the
# associated data, so it is left out of the parts (real ids are UUIDs and fixed table names).
parts = st.text(alphabet=st.characters(blacklist_characters="|", blacklist_categories=("Cs",)), max_size=40)
contexts = st.tuples(parts, parts, parts)


def _key() -> bytes:
    return os.urandom(32)


# --- round trip -----------------------------------------------------------------------------------
@given(key=keys, key_id=key_ids, plaintext=plaintexts, ctx=contexts)
def test_seal_then_open_returns_the_plaintext(key: bytes, key_id: int, plaintext: bytes, ctx: tuple) -> None:
    aad = context(*ctx)
    sealed = seal(key, key_id, plaintext, aad)
    assert open_sealed(key, sealed, aad) == plaintext


@given(plaintext=plaintexts, ctx=contexts)
def test_prepared_cipher_and_raw_key_are_interchangeable(plaintext: bytes, ctx: tuple) -> None:
    key = _key()
    aad = context(*ctx)
    assert open_sealed(key, seal(AESGCM(key), 5, plaintext, aad), aad) == plaintext
    assert open_sealed(AESGCM(key), seal(key, 5, plaintext, aad), aad) == plaintext


@given(plaintext=plaintexts)
def test_sealed_layout_and_ciphertext_hides_plaintext(plaintext: bytes) -> None:
    sealed = seal(_key(), 0x01020304, plaintext, b"versions|r|v")
    assert len(sealed) == HEADER_BYTES + len(plaintext) + TAG_BYTES
    assert sealed[:2] == MAGIC
    assert sealed[2] == aead.FORMAT_VERSION
    assert sealed[3:7] == b"\x01\x02\x03\x04"
    if len(plaintext) >= 16:
        assert plaintext not in sealed


def test_same_plaintext_seals_differently_each_time() -> None:
    key = _key()
    a = seal(key, 1, b"same words", b"ctx")
    b = seal(key, 1, b"same words", b"ctx")
    assert a != b
    # The nonces differ (random 96-bit nonce per seal).
    assert a[HEADER_BYTES - NONCE_BYTES : HEADER_BYTES] != b[HEADER_BYTES - NONCE_BYTES : HEADER_BYTES]


# --- tampering --------------------------------------------------------------------------------------
@settings(max_examples=200)
@given(plaintext=st.binary(max_size=256), data=st.data())
def test_flipping_any_single_byte_is_detected(plaintext: bytes, data: st.DataObject) -> None:
    key = _key()
    aad = context("versions", "record-1", "version-1")
    sealed = seal(key, 7, plaintext, aad)
    index = data.draw(st.integers(min_value=0, max_value=len(sealed) - 1), label="index")
    mask = data.draw(st.integers(min_value=1, max_value=255), label="mask")
    tampered = bytearray(sealed)
    tampered[index] ^= mask
    with pytest.raises(DecryptionError):
        open_sealed(key, bytes(tampered), aad)


@given(plaintext=st.binary(max_size=64), cut=st.integers(min_value=1, max_value=40))
def test_truncated_or_extended_values_are_rejected(plaintext: bytes, cut: int) -> None:
    key = _key()
    sealed = seal(key, 1, plaintext, b"ctx")
    with pytest.raises(DecryptionError):
        open_sealed(key, sealed[:-cut], b"ctx")
    with pytest.raises(DecryptionError):
        open_sealed(key, sealed + b"\x00" * cut, b"ctx")


def test_too_short_and_unknown_header_have_precise_messages() -> None:
    key = _key()
    with pytest.raises(DecryptionError, match="too short"):
        open_sealed(key, b"PC\x01" + b"\x00" * 10, b"")
    sealed = seal(key, 1, b"hello", b"")
    with pytest.raises(DecryptionError, match="unknown header"):
        open_sealed(key, b"XX" + sealed[2:], b"")
    with pytest.raises(DecryptionError, match="unknown header"):
        open_sealed(key, sealed[:2] + b"\x02" + sealed[3:], b"")
    with pytest.raises(DecryptionError, match="too short"):
        key_id_of(b"")


# --- row binding and keys ---------------------------------------------------------------------------
@given(ctx=contexts, other=contexts, plaintext=st.binary(max_size=64))
def test_another_rows_context_does_not_open(ctx: tuple, other: tuple, plaintext: bytes) -> None:
    key = _key()
    sealed = seal(key, 1, plaintext, context(*ctx))
    if other == ctx:
        assert open_sealed(key, sealed, context(*other)) == plaintext
    else:
        with pytest.raises(DecryptionError, match="did not authenticate"):
            open_sealed(key, sealed, context(*other))


@pytest.mark.parametrize(
    "other",
    [
        ("audit", "rec-1", "ver-1"),  # another table
        ("versions", "rec-2", "ver-1"),  # another record
        ("versions", "rec-1", "ver-2"),  # another version
        ("versions", "rec-1", "ver-1 "),  # one character more
    ],
)
def test_each_part_of_the_context_binds(other: tuple[str, str, str]) -> None:
    key = _key()
    sealed = seal(key, 1, b"safety plan", context("versions", "rec-1", "ver-1"))
    assert open_sealed(key, sealed, context("versions", "rec-1", "ver-1")) == b"safety plan"
    with pytest.raises(DecryptionError):
        open_sealed(key, sealed, context(*other))


def test_context_format_is_unambiguous() -> None:
    assert context("versions", "r", "v") == b'["versions","r","v"]'
    assert context("versions", "r", "v", True, None, ["p"]) == b'["versions","r","v",true,null,["p"]]'
    # A separator inside a part can no longer make two different rows look the same.
    assert context("a|b", "c", "d") != context("a", "b|c", "d")
    assert json.loads(context("audit", "Łódź", "x")) == ["audit", "Łódź", "x"]


@given(plaintext=plaintexts, key=keys, other_key=keys)
def test_another_key_does_not_open(plaintext: bytes, key: bytes, other_key: bytes) -> None:
    sealed = seal(key, 1, plaintext, b"ctx")
    if other_key == key:
        assert open_sealed(other_key, sealed, b"ctx") == plaintext
    else:
        with pytest.raises(DecryptionError):
            open_sealed(other_key, sealed, b"ctx")


# --- key id --------------------------------------------------------------------------------------
@given(key_id=key_ids, plaintext=st.binary(max_size=64))
def test_key_id_is_readable_from_the_header(key_id: int, plaintext: bytes) -> None:
    sealed = seal(_key(), key_id, plaintext, b"ctx")
    assert key_id_of(sealed) == key_id
    assert struct.unpack(">I", sealed[3:7])[0] == key_id


@given(key_id=key_ids, new_id=key_ids)
def test_changing_the_key_id_in_the_header_breaks_authentication(key_id: int, new_id: int) -> None:
    key = _key()
    sealed = seal(key, key_id, b"content", b"ctx")
    relabelled = sealed[:3] + struct.pack(">I", new_id) + sealed[7:]
    assert key_id_of(relabelled) == new_id
    if new_id == key_id:
        assert open_sealed(key, relabelled, b"ctx") == b"content"
    else:
        with pytest.raises(DecryptionError):
            open_sealed(key, relabelled, b"ctx")


def test_key_id_out_of_range_is_refused() -> None:
    with pytest.raises(struct.error):
        seal(_key(), 2**32, b"x", b"")
    with pytest.raises(struct.error):
        seal(_key(), -1, b"x", b"")


# --- DataKey payload sealing (what the store uses) --------------------------------------------------
@given(plaintext=plaintexts, ctx=contexts)
def test_data_key_seal_open_round_trip_and_row_binding(plaintext: bytes, ctx: tuple) -> None:
    dek = DataKey(3, b"k" * 32)
    sealed = dek.seal(plaintext, *ctx)
    assert key_id_of(sealed) == 3
    assert dek.open(sealed, *ctx) == plaintext
    # The payload key is a subkey: the raw data key itself does not open the value.
    with pytest.raises(DecryptionError):
        open_sealed(b"k" * 32, sealed, context(*ctx))


def test_data_key_refuses_a_value_sealed_under_another_key_id() -> None:
    old = DataKey(1, b"a" * 32)
    new = DataKey(2, b"a" * 32)  # same bytes, different id: still refused by id
    sealed = old.seal(b"x", "versions", "r", "v")
    with pytest.raises(DecryptionError, match="another data key"):
        new.open(sealed, "versions", "r", "v")


def test_data_key_with_other_bytes_same_id_fails() -> None:
    sealed = DataKey(1, b"a" * 32).seal(b"x", "versions", "r", "v")
    with pytest.raises(DecryptionError, match="did not authenticate"):
        DataKey(1, b"b" * 32).open(sealed, "versions", "r", "v")


def test_data_key_open_of_garbage_is_a_decryption_error() -> None:
    dek = DataKey(1, b"a" * 32)
    with pytest.raises(DecryptionError):
        dek.open(b"", "versions", "r", "v")
    with pytest.raises(DecryptionError):
        dek.open(b"PC\x01\x00\x00\x00\x01" + b"\x00" * 40, "versions", "r", "v")
