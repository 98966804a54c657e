"""Encoding of record payloads: NFC-normalised JSON, size-limited before it reaches the store."""

from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
from typing import Any, TypeVar

from ...errors import InvalidInput

# A plan-sized payload is a few KiB; 1 MiB is far beyond any real record and keeps a pasted
# document or a runaway loop from bloating every sync and backup.
MAX_PAYLOAD_BYTES = 1024 * 1024

# Half of a UTF-16 pair on its own (a broken clipboard, another program's "\ud800" JSON escape): no
# UTF-8 file, PDF text or database page can hold it. A whole pair is one code point in Python, so any
# code point in this range is a lone half.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"

T = TypeVar("T")


def _clean_text(text: str) -> str:
    return _LONE_SURROGATE.sub(REPLACEMENT, text)


def without_lone_surrogates(value: T) -> tuple[T, bool]:
    """`value` with every lone surrogate in its text replaced by U+FFFD, and whether there was one.
    Walks dicts (keys too), lists, tuples and frozen dataclasses (what a PDF is laid out from); what
    holds none is returned as it is."""
    if isinstance(value, str):
        clean = _clean_text(value)
        return clean, clean != value  # type: ignore[return-value]
    if isinstance(value, dict):
        items = [(without_lone_surrogates(k), without_lone_surrogates(v)) for k, v in value.items()]
        if not any(kc or vc for (_, kc), (_, vc) in items):
            return value, False
        return {k: v for (k, _), (v, _) in items}, True  # type: ignore[return-value]
    if isinstance(value, list | tuple):
        parts = [without_lone_surrogates(v) for v in value]
        if not any(changed for _, changed in parts):
            return value, False
        return type(value)(v for v, _ in parts), True
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            if f.init:
                clean, changed = without_lone_surrogates(getattr(value, f.name))
                if changed:
                    changes[f.name] = clean
        return (dataclasses.replace(value, **changes), True) if changes else (value, False)
    return value, False


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return _clean_text(unicodedata.normalize("NFC", value))
    if isinstance(value, dict):
        return {_clean_text(str(k)): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return value


def encode(payload: dict[str, Any]) -> bytes:
    """A lone surrogate is saved as U+FFFD, as export writes it: the save goes through, and the
    character that could not be kept shows where it was."""
    data = json.dumps(_normalise(payload), ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    if len(data) > MAX_PAYLOAD_BYTES:
        raise InvalidInput(
            f"This record is too large to save ({-(-len(data) // 1024):,} KiB; the limit is "
            f"{MAX_PAYLOAD_BYTES // 1024:,} KiB). Shorten the longest text. Nothing was saved."
        )
    return data


def decode(data: bytes) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(data.decode("utf-8"))  # what encode() wrote: a JSON object
    return payload
