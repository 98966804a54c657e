"""The data key's wraps (password, recovery key), the recovery key text, and KDF parameters."""

from __future__ import annotations

import base64
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfectcare_desktop.crypto import kdf, vault
from perfectcare_desktop.crypto.aead import DecryptionError, key_id_of
from perfectcare_desktop.crypto.kdf import DEFAULT_PARAMS, FAST_TEST_PARAMS, KdfParams, derive_key
from perfectcare_desktop.crypto.vault import (
    DataKey,
    MalformedRecoveryKey,
    WrongSecret,
    format_recovery_key,
    parse_recovery_key,
    unwrap_with_password,
    unwrap_with_recovery,
)

secrets_ = st.binary(min_size=32, max_size=32)
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
KEY_SHAPE = re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){13}$")
slow = settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])


# --- recovery key text ------------------------------------------------------------------------------
@given(secret=secrets_)
def test_recovery_key_round_trip_and_shape(secret: bytes) -> None:
    text = format_recovery_key(secret)
    assert KEY_SHAPE.match(text), text
    assert parse_recovery_key(text) == secret


@given(secret=secrets_, data=st.data())
def test_one_changed_character_is_a_typo(secret: bytes, data: st.DataObject) -> None:
    text = format_recovery_key(secret)
    positions = [i for i, ch in enumerate(text) if ch != "-"]
    pos = data.draw(st.sampled_from(positions), label="position")
    replacement = data.draw(st.sampled_from([c for c in B32 if c != text[pos]]), label="replacement")
    typo = text[:pos] + replacement + text[pos + 1 :]
    with pytest.raises(MalformedRecoveryKey, match="has a typo: check each group against the printed copy"):
        parse_recovery_key(typo)


@given(secret=secrets_, data=st.data())
def test_swapping_two_adjacent_different_characters_is_detected(secret: bytes, data: st.DataObject) -> None:
    compact = format_recovery_key(secret).replace("-", "")
    swaps = [i for i in range(len(compact) - 1) if compact[i] != compact[i + 1]]
    i = data.draw(st.sampled_from(swaps), label="swap at")
    swapped = compact[:i] + compact[i + 1] + compact[i] + compact[i + 2 :]
    with pytest.raises(MalformedRecoveryKey, match="typo"):
        parse_recovery_key(swapped)


@given(secret=secrets_, group=st.integers(min_value=0, max_value=13))
def test_missing_group_reports_the_count(secret: bytes, group: int) -> None:
    groups = format_recovery_key(secret).split("-")
    del groups[group]
    with pytest.raises(MalformedRecoveryKey, match=r"has 56 letters and digits in 14 groups of 4; this one has 52\."):
        parse_recovery_key("-".join(groups))


def test_extra_character_and_empty_text_report_the_count() -> None:
    text = format_recovery_key(bytes(32))
    with pytest.raises(MalformedRecoveryKey, match="this one has 57"):
        parse_recovery_key(text + "A")
    with pytest.raises(MalformedRecoveryKey, match="this one has 0"):
        parse_recovery_key("")
    with pytest.raises(MalformedRecoveryKey, match="this one has 0"):
        parse_recovery_key(" - - ")


@pytest.mark.parametrize("bad", ["9", "É", "٣"])
def test_characters_outside_the_alphabet_are_named_as_such(bad: str) -> None:
    text = format_recovery_key(bytes(range(32)))
    broken = bad + text[1:]
    with pytest.raises(MalformedRecoveryKey, match="characters a recovery key never has"):
        parse_recovery_key(broken)


@given(secret=secrets_)
def test_lower_case_and_other_separators_are_accepted(secret: bytes) -> None:
    text = format_recovery_key(secret)
    assert parse_recovery_key(text.lower()) == secret
    assert parse_recovery_key(text.replace("-", " ")) == secret
    assert parse_recovery_key(text.replace("-", "")) == secret
    assert parse_recovery_key("  " + text.replace("-", "  ").lower() + "\n") == secret


@given(secret=secrets_)
def test_look_alike_digits_are_accepted(secret: bytes) -> None:
    text = format_recovery_key(secret)
    look_alike = text.replace("O", "0").replace("I", "1").replace("B", "8")
    assert parse_recovery_key(look_alike) == secret
    assert parse_recovery_key(look_alike.lower()) == secret


def test_look_alikes_on_a_key_that_certainly_contains_o_and_i() -> None:
    # Find a secret whose text holds both O and I, so the substitution is exercised for certain.
    for n in range(1000):
        secret = n.to_bytes(2, "big") * 16
        text = format_recovery_key(secret)
        if "O" in text and "I" in text:
            break
    else:  # pragma: no cover
        pytest.fail("no suitable secret found")
    typed = text.replace("O", "0").replace("I", "1")
    assert typed != text
    assert parse_recovery_key(typed) == secret


def test_recovery_key_checksum_is_the_last_three_bytes() -> None:
    secret = bytes(range(32))
    raw = base64.b32decode(format_recovery_key(secret).replace("-", ""))
    assert raw[:32] == secret
    assert len(raw) == 35


# --- wrapping the data key --------------------------------------------------------------------------
def _roundtrip_check(original: DataKey, unwrapped: DataKey) -> None:
    assert unwrapped.key_id == original.key_id
    sealed = original.seal(b"payload", "versions", "r", "v")
    assert unwrapped.open(sealed, "versions", "r", "v") == b"payload"
    assert unwrapped.blind_index("nhs", "9434765919") == original.blind_index("nhs", "9434765919")
    assert unwrapped.audit_key == original.audit_key


@slow
@given(password=st.text(min_size=1, max_size=40), key_id=st.integers(min_value=1, max_value=2**32 - 1))
def test_password_wrap_round_trip(password: str, key_id: int) -> None:
    dek = DataKey.generate(key_id)
    wrap = dek.wrap_with_password(password, "user-1", FAST_TEST_PARAMS)
    assert wrap.key_id == key_id
    assert key_id_of(wrap.wrapped) == key_id
    assert wrap.kdf == "argon2id:" + FAST_TEST_PARAMS.to_json()
    assert len(wrap.salt) == kdf.SALT_BYTES
    _roundtrip_check(dek, unwrap_with_password(wrap, password, "user-1"))


@slow
@given(password=st.text(min_size=1, max_size=30), other=st.text(min_size=1, max_size=30))
def test_wrong_password_is_wrong_secret(password: str, other: str) -> None:
    dek = DataKey.generate()
    wrap = dek.wrap_with_password(password, "user-1", FAST_TEST_PARAMS)
    if unicodedata.normalize("NFC", other) == unicodedata.normalize("NFC", password):
        _roundtrip_check(dek, unwrap_with_password(wrap, other, "user-1"))
    else:
        with pytest.raises(WrongSecret, match="password does not unwrap"):
            unwrap_with_password(wrap, other, "user-1")


def test_password_wrap_is_bound_to_its_user_label() -> None:
    dek = DataKey.generate()
    wrap = dek.wrap_with_password("correct horse battery", "user-1", FAST_TEST_PARAMS)
    with pytest.raises(WrongSecret):
        unwrap_with_password(wrap, "correct horse battery", "user-2")
    _roundtrip_check(dek, unwrap_with_password(wrap, "correct horse battery", "user-1"))


def test_wraps_of_the_same_key_and_password_differ_by_salt() -> None:
    dek = DataKey.generate()
    a = dek.wrap_with_password("correct horse battery", "u", FAST_TEST_PARAMS)
    b = dek.wrap_with_password("correct horse battery", "u", FAST_TEST_PARAMS)
    assert a.salt != b.salt
    assert a.wrapped != b.wrapped
    assert dek._key not in a.wrapped


def test_tampered_wrap_is_wrong_secret() -> None:
    dek = DataKey.generate()
    wrap = dek.wrap_with_password("correct horse battery", "u", FAST_TEST_PARAMS)
    bad = vault.WrappedKey(wrap.key_id, wrap.kdf, wrap.salt, wrap.wrapped[:-1] + bytes([wrap.wrapped[-1] ^ 1]))
    with pytest.raises(WrongSecret):
        unwrap_with_password(bad, "correct horse battery", "u")
    other_salt = vault.WrappedKey(wrap.key_id, wrap.kdf, bytes(16), wrap.wrapped)
    with pytest.raises(WrongSecret):
        unwrap_with_password(other_salt, "correct horse battery", "u")


@pytest.mark.parametrize(
    "password",
    ["café au lait 2026", "Siân ap Dafydd ŵŷ", "Żaneta Łęcka ñ", "ḍoṣā-ẹ̀kọ́-pass"],
)
def test_nfc_and_nfd_passwords_are_the_same_password(password: str) -> None:
    nfc = unicodedata.normalize("NFC", password)
    nfd = unicodedata.normalize("NFD", password)
    assert nfc != nfd  # the test means something only if the forms differ
    dek = DataKey.generate()
    wrap = dek.wrap_with_password(nfd, "u", FAST_TEST_PARAMS)
    _roundtrip_check(dek, unwrap_with_password(wrap, nfc, "u"))
    wrap = dek.wrap_with_password(nfc, "u", FAST_TEST_PARAMS)
    _roundtrip_check(dek, unwrap_with_password(wrap, nfd, "u"))
    salt = bytes(16)
    assert derive_key(nfc, salt, FAST_TEST_PARAMS) == derive_key(nfd, salt, FAST_TEST_PARAMS)


@settings(max_examples=30)
@given(secret=secrets_)
def test_recovery_wrap_round_trip(secret: bytes) -> None:
    dek = DataKey.generate(key_id=4)
    wrap = dek.wrap_with_recovery(secret)
    assert wrap.kdf == "recovery-hkdf"
    assert wrap.key_id == 4
    _roundtrip_check(dek, unwrap_with_recovery(wrap, secret))
    # The printed text of the secret unlocks it too.
    _roundtrip_check(dek, unwrap_with_recovery(wrap, parse_recovery_key(format_recovery_key(secret).lower())))


@settings(max_examples=30)
@given(secret=secrets_, other=secrets_)
def test_wrong_recovery_secret_is_wrong_secret(secret: bytes, other: bytes) -> None:
    wrap = DataKey.generate().wrap_with_recovery(secret)
    if other == secret:
        unwrap_with_recovery(wrap, other)
    else:
        with pytest.raises(WrongSecret, match="recovery key does not unwrap"):
            unwrap_with_recovery(wrap, other)


def test_wraps_of_one_kind_do_not_open_as_the_other() -> None:
    dek = DataKey.generate()
    secret = vault.new_recovery_secret()
    rec = dek.wrap_with_recovery(secret)
    with pytest.raises(WrongSecret, match="not a password wrap"):
        unwrap_with_password(rec, "anything at all", "recovery")
    pwd = dek.wrap_with_password("correct horse battery", "recovery", FAST_TEST_PARAMS)
    with pytest.raises(WrongSecret):
        unwrap_with_recovery(pwd, secret)


def test_new_recovery_secrets_are_random_and_32_bytes() -> None:
    a, b = vault.new_recovery_secret(), vault.new_recovery_secret()
    assert len(a) == 32 and a != b


# --- the data key itself ----------------------------------------------------------------------------
def test_data_key_length_is_enforced() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        DataKey(1, b"short")
    with pytest.raises(ValueError):
        DataKey(1, b"x" * 33)


def test_subkeys_are_distinct_and_deterministic() -> None:
    a = DataKey(1, b"z" * 32)
    b = DataKey(1, b"z" * 32)
    assert len({a.blind_index_key, a.audit_key, a.backup_key, b"z" * 32}) == 4
    assert a.audit_key == b.audit_key and a.backup_key == b.backup_key
    assert a.blind_index("nhs", "9434765919") == b.blind_index("nhs", "9434765919")
    assert a.blind_index("nhs", "9434765919") != a.blind_index("nhs", "9434765918")
    assert a.blind_index("nhs", "9434765919") != a.blind_index("local", "9434765919")
    assert DataKey(1, b"y" * 32).blind_index("nhs", "9434765919") != a.blind_index("nhs", "9434765919")


def test_generated_keys_differ() -> None:
    a, b = DataKey.generate(), DataKey.generate()
    sealed = a.seal(b"x", "versions", "r", "v")
    with pytest.raises(DecryptionError):
        b.open(sealed, "versions", "r", "v")


# --- KDF parameters ---------------------------------------------------------------------------------
@given(
    memory=st.integers(min_value=8 * 16, max_value=2**20),
    iterations=st.integers(min_value=1, max_value=16),
    lanes=st.integers(min_value=1, max_value=16),
)
def test_kdf_params_json_round_trip(memory: int, iterations: int, lanes: int) -> None:
    """Within the bounds (issue 17: a file asking for more is refused, see tests/test_hostile_files.py)."""
    params = KdfParams(memory, iterations, lanes)
    assert KdfParams.from_json(params.to_json()) == params


def test_kdf_params_refuse_other_algorithms_and_defaults_are_strong(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="unsupported key derivation 'scrypt'"):
        KdfParams.from_json('{"algorithm": "scrypt", "memory_kib": 1, "iterations": 1, "lanes": 1}')
    with pytest.raises(ValueError, match="unsupported"):
        KdfParams.from_json('{"memory_kib": 1, "iterations": 1, "lanes": 1}')
    assert DEFAULT_PARAMS.memory_kib >= 64 * 1024
    assert DEFAULT_PARAMS.iterations >= 2
    assert DEFAULT_PARAMS.algorithm == "argon2id"
    monkeypatch.setenv(kdf.FAST_KDF_ENV, "1")
    assert kdf.default_params() == FAST_TEST_PARAMS
    monkeypatch.setenv(kdf.FAST_KDF_ENV, "0")
    assert kdf.default_params() == DEFAULT_PARAMS
    monkeypatch.delenv(kdf.FAST_KDF_ENV)
    assert kdf.default_params() == DEFAULT_PARAMS


def test_derive_key_depends_on_salt_and_params() -> None:
    salt = bytes(16)
    base = derive_key("correct horse battery", salt, FAST_TEST_PARAMS)
    assert len(base) == 32
    assert base == derive_key("correct horse battery", salt, FAST_TEST_PARAMS)
    assert base != derive_key("correct horse battery", b"\x01" * 16, FAST_TEST_PARAMS)
    assert base != derive_key("correct horse battery", salt, KdfParams(2048, 1, 1))
    assert base != derive_key("correct horse batterY", salt, FAST_TEST_PARAMS)
