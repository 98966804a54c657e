"""Encoding of record payloads: NFC-normalised JSON, size-limited before it reaches the store."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from ..errors import InvalidInput

# A plan-sized payload is a few KiB; 1 MiB is far beyond any real record and keeps a pasted
# document or a runaway loop from bloating every sync and backup.
MAX_PAYLOAD_BYTES = 1024 * 1024


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return value


def encode(payload: dict[str, Any]) -> bytes:
    data = json.dumps(_normalise(payload), ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    if len(data) > MAX_PAYLOAD_BYTES:
        raise InvalidInput(
            f"This record is too large to save ({-(-len(data) // 1024):,} KiB; the limit is "
            f"{MAX_PAYLOAD_BYTES // 1024:,} KiB). Shorten the longest text. Nothing was saved."
        )
    return data


def decode(data: bytes) -> dict[str, Any]:
    return json.loads(data.decode("utf-8"))
