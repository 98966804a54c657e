"""In-memory patient search, built after unlock from decrypted details; never written to disk."""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable
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
    """Thread-safe: the app fills it on its background worker while the search box reads it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        # The last query and every entry it matched: typing one more letter can only narrow that set,
        # so the next keystroke searches the previous matches instead of the whole caseload.
        self._last: tuple[str, list[_Entry]] | None = None

    def put(self, record_id: str, names: list[str], nhs_digits: str) -> None:
        key = " " + fold(" ".join(names)) + " "
        with self._lock:
            self._entries[record_id] = _Entry(record_id, key, nhs_digits)
            self._last = None

    def remove(self, record_id: str) -> None:
        with self._lock:
            self._entries.pop(record_id, None)
            self._last = None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._last = None

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, query: str, limit: int | None = None) -> list[str]:
        """Record ids matching a name fragment (every word must match) or NHS digits (spaces ignored)."""
        with self._lock:
            return self._search(query, limit)

    def _search(self, query: str, limit: int | None) -> list[str]:
        q = query.strip()
        if not q:
            return []
        digits = "".join(ch for ch in q if not ch.isspace() and ch != "-")
        if digits.isdigit():
            key = "#" + digits
            pool = self._narrowed(key)
            matched = [e for e in pool if digits in e.nhs_digits]
            hits = [e.record_id for e in matched]
        else:
            words = fold(q).split()
            key = " ".join(words)
            pool = self._narrowed(key)
            if len(words) == 1:  # the usual case, kept free of per-entry generator overhead
                w, sw = words[0], " " + words[0]
                matched = [e for e in pool if w in e.name_key]
                starts = [e.record_id for e in matched if sw in e.name_key]
                inside = [e.record_id for e in matched if sw not in e.name_key]
            else:
                matched = [e for e in pool if all(w in e.name_key for w in words)]
                starts, inside = [], []
                for e in matched:
                    (starts if all(" " + w in e.name_key for w in words) else inside).append(e.record_id)
            # Word starts rank first, so "ann" finds "Ann Smith" before "Joanna".
            hits = starts + inside
        self._last = (key, matched)
        return hits[:limit] if limit else hits

    def _narrowed(self, key: str) -> list[_Entry] | Iterable[_Entry]:
        """Entries worth checking: the last query's matches when this query extends it."""
        if self._last is not None and key.startswith(self._last[0]) and key[:1] == self._last[0][:1]:
            return self._last[1]
        return self._entries.values()
