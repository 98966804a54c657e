"""Argon2id key derivation for per-user key-encryption keys.

The parameters are stored beside each salt so they can be raised later without locking anyone out.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

KEY_BYTES = 32
SALT_BYTES = 16


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost parameters (memory in KiB)."""

    memory_kib: int
    iterations: int
    lanes: int
    algorithm: str = "argon2id"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> KdfParams:
        """Parameters read from a file someone else may have written (a key wrap, a backup, an enrolment
        file): refused in words when out of bounds, before any memory is asked for."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser (a crafted header)
            raise KdfParamsRejected("the key-derivation parameters are not readable JSON") from None
        if not isinstance(data, dict):
            raise KdfParamsRejected("the key-derivation parameters are not a JSON object")
        if data.get("algorithm") != "argon2id":
            raise KdfParamsRejected(f"unsupported key derivation {data.get('algorithm')!r}")
        values = [data.get(name) for name in ("memory_kib", "iterations", "lanes")]
        numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        if len(numbers) != len(values):
            raise KdfParamsRejected("the key-derivation parameters are not whole numbers")
        memory_kib, iterations, lanes = numbers
        params = cls(memory_kib, iterations, lanes)
        params.check()
        return params

    def check(self) -> None:
        for name, value, low, high in (
            ("memory_kib", self.memory_kib, 8 * max(self.lanes, 1), MAX_MEMORY_KIB),
            ("iterations", self.iterations, 1, MAX_ITERATIONS),
            ("lanes", self.lanes, 1, MAX_LANES),
        ):
            if not low <= value <= high:
                raise KdfParamsRejected(
                    f"the key-derivation parameter {name}={value} is outside what PerfectCare accepts ({low} to {high})"
                )


class KdfParamsRejected(ValueError):
    """Parameters no PerfectCare would write: far too costly (a crafted file asking for gigabytes or
    hours) or not valid Argon2id. str() is a phrase for a sentence."""


# Upper bounds with room for future raises (4x the default memory, 5x its passes): beyond them a key
# derivation would exhaust a ward PC's memory or hang it, so a file asking for more is refused.
MAX_MEMORY_KIB = 1024 * 1024
MAX_ITERATIONS = 16
MAX_LANES = 16


# Measured on the 2-core reference PC, idle (bench/bench_store.py prints the figure): 0.46 s, inside the
# 0.3-1 s the design asks for; 128 MiB took 0.22 s there, too cheap for an attacker. 256 MiB makes GPU
# guessing of a stolen store costly. Wraps keep the parameters they were made with.
DEFAULT_PARAMS = KdfParams(memory_kib=256 * 1024, iterations=3, lanes=4)

# Only for the test suite, which derives hundreds of keys; never the default for a real store.
FAST_TEST_PARAMS = KdfParams(memory_kib=1024, iterations=1, lanes=1)
FAST_KDF_ENV = "PERFECTCARE_INSECURE_FAST_KDF"


def default_params() -> KdfParams:
    """Parameters for new key wraps: the secure default unless the test-only switch is set."""
    return FAST_TEST_PARAMS if os.environ.get(FAST_KDF_ENV) == "1" else DEFAULT_PARAMS


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


def derive_key(secret: str, salt: bytes, params: KdfParams) -> bytes:
    """Derive a 256-bit key from a password; NFC-normalised so the same typed password always matches."""
    import unicodedata

    params.check()  # whatever the parameters came from, never an unbounded allocation
    data = unicodedata.normalize("NFC", secret).encode("utf-8")
    kdf = Argon2id(
        salt=salt,
        length=KEY_BYTES,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return kdf.derive(data)
