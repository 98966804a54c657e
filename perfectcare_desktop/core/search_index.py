"""In-memory patient search, built after unlock from decrypted details; never written to disk."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Letters that do not decompose under NFKD but that people type without the accent.
_FOLD = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i"})


def fold(text: str) -> str:
    """Case- and accent-insensitive form: 'Łukasz Wójcik' and 'lukasz wojcik' match."""
    if text.isascii():
        return text.lower()  # most names: skip the Unicode decomposition (10,000 of them at unlock)
    text = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@dataclass
class _Entry:
    record_id: str
    name_key: str
    nhs_digits: str


class PatientIndex:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def put(self, record_id: str, names: list[str], nhs_digits: str) -> None:
        key = " " + fold(" ".join(names)) + " "
        self._entries[record_id] = _Entry(record_id, key, nhs_digits)

    def remove(self, record_id: str) -> None:
        self._entries.pop(record_id, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, query: str, limit: int | None = None) -> list[str]:
        """Record ids matching a name fragment (every word must match) or NHS digits (spaces ignored)."""
        q = query.strip()
        if not q:
            return []
        digits = "".join(ch for ch in q if not ch.isspace() and ch != "-")
        if digits.isdigit():
            hits = [e.record_id for e in self._entries.values() if digits in e.nhs_digits]
        else:
            words = fold(q).split()
            # Word starts rank first, so "ann" finds "Ann Smith" before "Joanna".
            starts, inside = [], []
            for e in self._entries.values():
                if all(w in e.name_key for w in words):
                    (starts if all(" " + w in e.name_key for w in words) else inside).append(e.record_id)
            hits = starts + inside
        return hits[:limit] if limit else hits
